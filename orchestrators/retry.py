"""Retry policies for activity calls, in one place.

Graph faults are retried inside the Graph client (honouring Retry-After); these policies cover
what is left: a storage hiccup or a worker crash while an activity ran.
"""

import azure.durable_functions as df

# Bookkeeping on Azure Tables: retries every 2 s for about a minute (the SDK has no backoff),
# so a storage blip does not leave a run unsettled. (A run whose orchestration died anyway
# is marked failed by the next start of its key: shared.runs.starter.)
BOOKKEEPING = df.RetryOptions(first_retry_interval_in_milliseconds=2_000,
                              max_number_of_attempts=30)
# A batch of Graph reads or writes: fewer, slower retries (the client already retried inside).
GRAPH_BATCH = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
