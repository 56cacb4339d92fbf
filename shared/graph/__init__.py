"""Microsoft Graph for PolicyVault: tokens, the one HTTP client, the resource catalog and the
backup/restore primitives every activity uses (DESIGN §7).

    client = get_graph_client()                # the running loop's client (close_graph_client)
    refs = await list_items(tenant, "configurationPolicies")
    results = await fetch_snapshots(tenant, "configurationPolicies", [r.id for r in refs])
    new = await create_item(tenant, "configurationPolicies", snapshot)
    await assign_item(tenant, "configurationPolicies", new.id, snapshot["assignments"])
"""

from shared.graph.catalog import (
    CATALOG,
    SUPPORTED_KEYS,
    ResourceType,
    Restore,
    restore_levels,
    supported_type,
)
from shared.graph.client import (
    GraphClient,
    GraphResponse,
    build_graph_client,
    close_graph_client,
    get_graph_client,
)
from shared.graph.documents import comparable, diff, sha256_of
from shared.graph.operations import assign_item, create_item, update_item
from shared.graph.payloads import rewrite_references, to_create_payload, to_update_payload
from shared.graph.reading import (
    FetchResult,
    ItemRef,
    fetch_snapshot,
    fetch_snapshots,
    find_by_display_name,
    list_items,
    read_collection,
)
from shared.graph.retry import RetryPolicy
from shared.graph.tokens import TokenSource

# What callers use, plus the types in those functions' signatures (GraphResponse, ItemRef,
# TokenSource). Everything else is reached through its module.
__all__ = [
    "CATALOG", "SUPPORTED_KEYS", "FetchResult", "GraphClient", "GraphResponse", "ItemRef",
    "ResourceType", "Restore", "RetryPolicy", "TokenSource", "assign_item", "build_graph_client",
    "close_graph_client", "comparable", "create_item", "diff", "fetch_snapshot",
    "fetch_snapshots", "find_by_display_name", "get_graph_client", "list_items", "read_collection",
    "restore_levels", "rewrite_references", "sha256_of", "supported_type", "to_create_payload",
    "to_update_payload", "update_item",
]
