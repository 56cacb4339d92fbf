"""Microsoft Graph for PolicyVault: tokens, the one HTTP client, the resource catalog and the
backup/restore primitives every activity uses (DESIGN §7).

    client = get_graph_client()                # the running loop's client (close_graph_client)
    refs = await list_items(tenant, "configurationPolicies")
    results = await fetch_snapshots(tenant, "configurationPolicies", [r.id for r in refs])
    new = await create_item(tenant, "configurationPolicies", snapshot)
    await assign_item(tenant, "configurationPolicies", new.id, snapshot["assignments"])
"""

from shared.graph.batch import BatchRequest, BatchResult, batch
from shared.graph.catalog import (
    CATALOG,
    SUPPORTED_KEYS,
    Reference,
    ResourceType,
    SubCollection,
    restore_levels,
    restore_order,
    supported_type,
)
from shared.graph.client import (
    GraphClient,
    GraphResponse,
    build_graph_client,
    close_graph_client,
    get_graph_client,
)
from shared.graph.documents import canonical_json, comparable, diff, sha256_of
from shared.graph.error_map import map_http_error, map_transport_error
from shared.graph.operations import (
    FetchResult,
    ItemRef,
    assign_item,
    create_item,
    fetch_snapshot,
    fetch_snapshots,
    find_by_display_name,
    list_items,
    update_item,
)
from shared.graph.payloads import (
    references_in,
    rewrite_references,
    to_create_payload,
    to_update_payload,
)
from shared.graph.retry import RetryPolicy
from shared.graph.tokens import MsalTokenProvider, TokenSource, get_token_provider

__all__ = [
    "CATALOG", "SUPPORTED_KEYS", "BatchRequest", "BatchResult", "FetchResult", "GraphClient",
    "GraphResponse", "ItemRef", "MsalTokenProvider", "Reference", "ResourceType",
    "RetryPolicy", "SubCollection", "TokenSource", "assign_item", "batch",
    "build_graph_client", "canonical_json", "close_graph_client", "comparable", "create_item",
    "diff", "fetch_snapshot", "fetch_snapshots", "find_by_display_name", "get_graph_client",
    "get_token_provider", "list_items", "map_http_error", "map_transport_error",
    "references_in", "restore_levels", "restore_order", "rewrite_references", "sha256_of",
    "supported_type", "to_create_payload", "to_update_payload", "update_item",
]
