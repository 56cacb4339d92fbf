"""Response bodies of cross-tenant deployment (DESIGN §11): the mapping plan and the registry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.models.responses import ResponseBody, Timestamp

MappingStatus = Literal["mapped", "will_create", "ambiguous", "missing", "dropped"]
MappingVia = Literal["name", "registry", "override", "id", "tenant"]


class MappingRowBody(ResponseBody):
    """One reference of a deployment and what it becomes in the target."""

    kind: str = Field(description="the referenced object's catalog key (groups, "
                                  "assignmentFilters, …), users, applications, or tenant_value")
    source_id: str
    source_name: str | None = Field(description="its display name in the source set, if the "
                                                "set holds it")
    target_id: str | None = Field(description="the target object it maps to (mapped)")
    status: MappingStatus
    via: MappingVia = Field(description="how it was resolved: by name, the saved registry, "
                                        "the request's override, an id the same in every "
                                        "tenant, or the target tenant's own value")
    referenced_by: list[str] = Field(description="item ids of the set that use it")
    exclusion: bool = Field(description="an exclusion: it can never be dropped")
    path: str | None = Field(None, description="tenant values: the property path in the item")
    candidates: list[str] = Field(description="ambiguous: the target ids carrying the name")


class SavedMappingBody(ResponseBody):
    """One saved mapping of a tenant pair."""

    source_id: str
    target_id: str
    kind: str | None = Field(description="the kind it was saved for, when a run saved it")
    updated_at: Timestamp
    updated_by: str
