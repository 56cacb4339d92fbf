"""Tenant administration: enrollment, Autopilot, filters, scope tags, roles, notification
templates, connectors and tenant-wide Intune objects.
"""

from __future__ import annotations

from shared.graph import evidence as ev
from shared.graph import hooks
from shared.graph.resource import (
    ASSIGNMENT_GROUPS,
    LISTED_ASSIGNMENTS,
    SCOPE_TAGS,
    VERSIONED,
    Reference,
    ResourceType,
    SubCollection,
)

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key="deviceEnrollmentConfigurations",
        path="deviceManagement/deviceEnrollmentConfigurations", version="beta",
        volatile=VERSIONED, assign_key="enrollmentConfigurationAssignments",
        read_only=frozenset({"deviceEnrollmentConfigurationType"}),
        can_create=hooks.not_default_enrollment, subcollections=(LISTED_ASSIGNMENTS,),
        evidence=(ev.ZERO_TRUST_ASSESSMENT,),
    ),
    ResourceType(
        key="windowsAutopilotDeploymentProfiles",
        path="deviceManagement/windowsAutopilotDeploymentProfiles", version="beta",
        subcollections=(LISTED_ASSIGNMENTS,), evidence=(ev.CIPP,),
    ),
    ResourceType(
        key="assignmentFilters", path="deviceManagement/assignmentFilters", version="beta",
        subcollections=(), assign_key=None, read_only=frozenset({"payloads"}),
        references=(Reference("roleScopeTags", "roleScopeTags[]"),),
    ),
    ResourceType(
        key="roleScopeTags", path="deviceManagement/roleScopeTags", version="beta",
        read_only=frozenset({"isBuiltIn"}), references=(ASSIGNMENT_GROUPS,),
        can_create=hooks.not_built_in, evidence=(ev.INTUNE_MANAGEMENT,),  # list expand: []
    ),
    ResourceType(
        key="notificationMessageTemplates",
        path="deviceManagement/notificationMessageTemplates", version="beta",
        subcollections=(SubCollection("localizedNotificationMessages", via_list_expand=True),),
        assign_key=None, references=(SCOPE_TAGS,), after_write=hooks.sync_localized_messages,
        evidence=(ev.NOTIFICATION_TEMPLATES,),
    ),
)
