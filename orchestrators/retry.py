"""Retry policies for activity calls, in one place.

Graph faults are retried inside the Graph client (honouring Retry-After); these policies cover
what is left: a storage hiccup or a worker crash while an activity ran.
"""

import azure.durable_functions as df

# Bookkeeping on Azure Tables: quick retries.
BOOKKEEPING = df.RetryOptions(first_retry_interval_in_milliseconds=1_000, max_number_of_attempts=5)
# A batch of Graph reads or writes: fewer, slower retries (the client already retried inside).
GRAPH_BATCH = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
