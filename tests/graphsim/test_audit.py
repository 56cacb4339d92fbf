"""Audit logs: each write leaves one event in Graph's log for its type, naming its caller;
both lists page, filter by time and order as Graph does."""

from __future__ import annotations

import datetime as dt

from local.graphsim import audit, catalog
from local.graphsim.store import Tenant

INTUNE = "/beta/deviceManagement/auditEvents"
DIRECTORY = "/v1.0/auditLogs/directoryAudits"
TAGS = "/beta/deviceManagement/roleScopeTags"
CA = "/v1.0/identity/conditionalAccess/policies"


def _events(client, path, **params):
    """Every event of the list, following nextLinks; (events, pages)."""
    events, pages, url = [], 0, path
    while url:
        body = client.get(url, params=params if url == path else None).json()
        events += body["value"]
        pages += 1
        url = body.get("@odata.nextLink")
    return events, pages


def _first_id(client, path):
    return client.get(path).json()["value"][0]["id"]


def test_audit_app_writes_leave_intune_events_naming_the_app(graph, graphsim):
    client = graph(0)
    tag = client.post(TAGS, json={"displayName": "Audit tag"}).json()
    assert client.patch(f"{TAGS}/{tag['id']}", json={"description": "d"}).status_code == 204
    policy = _first_id(client, "/beta/deviceManagement/configurationPolicies")
    assert client.post(f"/beta/deviceManagement/configurationPolicies/{policy}/assign",
                       json={"assignments": []}).status_code == 200
    assert client.delete(f"{TAGS}/{tag['id']}").status_code == 204

    events, _ = _events(client, INTUNE)
    assert [(e["activityOperationType"], e["resources"][0]["resourceId"]) for e in events] == [
        ("Delete", tag["id"]), ("Action", policy), ("Patch", tag["id"]), ("Create", tag["id"])]
    assert events[1]["activityType"] == "assign DeviceManagementConfigurationPolicy"
    assert events[2]["resources"][0]["modifiedProperties"] == [
        {"displayName": "description", "oldValue": None, "newValue": "d"}]
    for event in events:
        assert event["activityResult"] == "Success"
        assert event["actor"]["auditActorType"] == event["actor"]["type"] == "Application"
        assert event["actor"]["applicationId"] == graphsim.client_id
        assert event["actor"]["applicationDisplayName"] == audit.APP_NAME
        assert event["actor"]["userPrincipalName"] is None
    assert _events(client, DIRECTORY)[0] == []
    assert _events(graph(1), INTUNE)[0] == []  # another tenant's log


def test_audit_entra_app_write_leaves_a_directory_audit(graph, graphsim, tenant_ids):
    client = graph(0)
    policy = _first_id(client, CA)
    assert client.patch(f"{CA}/{policy}", json={"state": "disabled"}).status_code == 204
    assert client.patch("/v1.0/policies/authorizationPolicy",
                        json={"blockMsolPowerShell": True}).status_code == 204
    events, _ = _events(client, DIRECTORY)
    assert [(e["activityDisplayName"], e["targetResources"][0]["id"]) for e in events] == [
        ("Update authorization policy", "authorizationPolicy"),
        ("Update conditional access policy", policy)]
    initiated = events[1]["initiatedBy"]
    assert initiated["user"] is None
    assert initiated["app"]["appId"] == graphsim.client_id
    assert initiated["app"]["displayName"] == audit.APP_NAME
    assert events[1]["result"] == "success" and events[1]["operationType"] == "Update"
    assert _events(client, INTUNE)[0] == []


def test_audit_failed_write_leaves_no_event(graph):
    client = graph(0)
    assert client.post(TAGS, json={"displayName": "x", "createdDateTime": "2020-01-01T00:00:00Z"}
                       ).status_code == 400
    assert client.get(INTUNE).json()["value"] == []


def test_audit_batch_entries_each_leave_an_event(graph):
    client = graph(0)
    answer = client.post("/beta/$batch", json={"requests": [
        {"id": str(i), "method": "POST", "url": "/deviceManagement/roleScopeTags",
         "headers": {"Content-Type": "application/json"}, "body": {"displayName": f"b{i}"}}
        for i in range(3)]}).json()
    created = {r["body"]["id"] for r in answer["responses"]}
    assert {e["resources"][0]["resourceId"] for e in _events(client, INTUNE)[0]} == created


def test_audit_drift_names_the_portal_admin_by_default(graph, graphsim, tenant_ids):
    client = graph(0)
    policy = _first_id(client, "/beta/deviceManagement/configurationPolicies")
    graphsim.drift(tenant_ids[0], "configurationPolicies", policy)
    [event] = _events(client, INTUNE)[0]
    assert event["actor"]["auditActorType"] == "ItPro"
    assert event["actor"]["userPrincipalName"] == "admin@contoso1.onmicrosoft.com"
    assert event["actor"]["applicationDisplayName"] == audit.PORTAL_APP[1]
    assert event["resources"][0]["resourceId"] == policy
    assert event["resources"][0]["modifiedProperties"][0]["displayName"] == "name"


def test_audit_drift_names_the_given_user_in_both_logs(graph, graphsim, tenant_ids):
    client = graph(0)
    policy, ca = _first_id(client, "/beta/deviceManagement/deviceConfigurations"), \
        _first_id(client, CA)
    user = {"upn": "alice@contoso1.onmicrosoft.com", "type": "user"}
    graphsim.drift(tenant_ids[0], "deviceConfigurations", policy, op="reassign", actor=user)
    graphsim.drift(tenant_ids[0], "conditionalAccessPolicies", ca, op="delete", actor=user)
    [intune] = _events(client, INTUNE)[0]
    assert (intune["actor"]["userPrincipalName"], intune["activityOperationType"]) == \
        ("alice@contoso1.onmicrosoft.com", "Action")
    [directory] = _events(client, DIRECTORY)[0]
    assert directory["operationType"] == "Delete"
    assert directory["initiatedBy"]["app"] is None
    assert directory["initiatedBy"]["user"]["userPrincipalName"] == user["upn"]
    assert directory["initiatedBy"]["user"]["homeTenantId"] == tenant_ids[0]


def test_audit_partner_drift_is_marked_as_graph_marks_partners(graph, graphsim, tenant_ids):
    client = graph(0)
    policy, ca = _first_id(client, "/beta/deviceManagement/deviceCompliancePolicies"), \
        _first_id(client, CA)
    partner = {"upn": "tech@fabrikam-msp.com", "type": "partner"}
    graphsim.drift(tenant_ids[0], "deviceCompliancePolicies", policy, actor=partner)
    graphsim.drift(tenant_ids[0], "conditionalAccessPolicies", ca, actor=partner)
    actor = _events(client, INTUNE)[0][0]["actor"]
    assert actor["auditActorType"] == "Partner"
    assert actor["remoteTenantId"] and actor["remoteTenantId"] != tenant_ids[0]
    assert actor["userPrincipalName"] == partner["upn"]
    user = _events(client, DIRECTORY)[0][0]["initiatedBy"]["user"]
    assert user["homeTenantId"] == actor["remoteTenantId"]
    assert user["displayName"] == "fabrikam-msp.com Technician"
    assert user["userPrincipalName"] == f"user_{actor['remoteUserId'].replace('-', '')}"


def test_audit_control_api_drift_takes_an_actor(http, graph, tenant_ids):
    client = graph(0)
    policy = _first_id(client, "/beta/deviceManagement/configurationPolicies")
    body = {"tenant_id": tenant_ids[0], "collection": "configurationPolicies", "id": policy,
            "actor": {"upn": "bob@contoso1.onmicrosoft.com", "type": "user"}}
    assert http.post("/_sim/drift", json=body).status_code == 200
    assert client.get(INTUNE).json()["value"][0]["actor"]["userPrincipalName"] == \
        "bob@contoso1.onmicrosoft.com"
    bad = http.post("/_sim/drift", json={**body, "actor": {"upn": "x@y.z", "type": "robot"}})
    assert bad.status_code == 400
    assert len(client.get(INTUNE).json()["value"]) == 1


def test_audit_lists_page_with_nextlinks_newest_first(graph, graphsim):
    graphsim.reset(page_size=2)
    client = graph(0)
    made = [client.post(TAGS, json={"displayName": f"t{i}"}).json()["id"] for i in range(5)]
    events, pages = _events(client, INTUNE)
    assert pages == 3
    assert [e["resources"][0]["resourceId"] for e in events] == made[::-1]
    oldest_first, _ = _events(client, INTUNE, **{"$orderby": "activityDateTime asc"})
    assert [e["resources"][0]["resourceId"] for e in oldest_first] == made


def test_audit_time_filter_keeps_what_it_names(graph):
    client = graph(0)
    for i in range(3):
        client.post(TAGS, json={"displayName": f"t{i}"})
    events, _ = _events(client, INTUNE)
    middle = events[1]["activityDateTime"]
    later, _ = _events(client, INTUNE, **{"$filter": f"activityDateTime gt {middle}"})
    assert [e["id"] for e in later] == [events[0]["id"]]
    since, _ = _events(client, INTUNE, **{"$filter": f"activityDateTime ge {middle} and "
                                                      "activityOperationType ne 'Get'"})
    assert [e["id"] for e in since] == [e["id"] for e in events[:2]]
    named, _ = _events(client, INTUNE, **{
        "$filter": f"resources/any(r:r/resourceId eq '{events[2]['resources'][0]['resourceId']}')"})
    assert [e["id"] for e in named] == [events[2]["id"]]
    quoted = client.get(INTUNE, params={"$filter": f"activityDateTime ge '{middle}'"})
    assert quoted.status_code == 400
    assert "Edm.DateTimeOffset" in quoted.json()["error"]["message"]


def test_audit_directory_filter_on_initiator(graph, graphsim, tenant_ids):
    client = graph(0)
    ca = _first_id(client, CA)
    graphsim.drift(tenant_ids[0], "conditionalAccessPolicies", ca,
                   actor={"upn": "carol@contoso1.onmicrosoft.com"})
    client.patch(f"{CA}/{ca}", json={"state": "enabled"})
    events, _ = _events(client, DIRECTORY, **{
        "$filter": "initiatedBy/user/userPrincipalName eq 'carol@contoso1.onmicrosoft.com'"})
    assert len(events) == 1 and events[0]["initiatedBy"]["user"]["displayName"] == "Carol"
    one = client.get(f"{DIRECTORY}/{events[0]['id']}").json()
    assert one["id"] == events[0]["id"]


def test_audit_trail_keeps_graph_retention_and_a_bound():
    tenant = Tenant(id="t", display_name="T", domain="t.onmicrosoft.com")
    trail = audit.AuditTrail(max_events=3)
    now = dt.datetime.now(dt.UTC)
    actor = audit.Actor.app("app")
    for spec in (catalog.BY_KEY["configurationPolicies"], catalog.BY_KEY["groups"]):
        trail.record(tenant, actor, audit.Change(spec, "Patch", "old", None, None),
                     at=now - dt.timedelta(days=40))
        trail.record(tenant, actor, audit.Change(spec, "Patch", "new", None, None), at=now)
    assert [e["resources"][0]["resourceId"] for e in trail.events(audit.INTUNE)] == \
        ["new", "old"]  # Intune keeps a year
    assert [e["targetResources"][0]["id"] for e in trail.events(audit.DIRECTORY)] == \
        ["new"]  # the directory keeps 30 days
    for i in range(5):
        trail.record(tenant, actor, audit.Change(catalog.BY_KEY["groups"], "Patch", str(i),
                                                 None, None))
    assert len(trail.events(audit.DIRECTORY)) == 3


def test_audit_reset_knobs_bound_the_logs_for_that_reset(graph, graphsim):
    graphsim.reset(audit_max_events=2)
    client = graph(0)
    for i in range(3):
        client.post(TAGS, json={"displayName": f"t{i}"})
    assert len(_events(client, INTUNE)[0]) == 2
    graphsim.reset(audit_retention_days={"intune": -1})  # everything is already too old
    client.post(TAGS, json={"displayName": "gone"})
    assert _events(client, INTUNE)[0] == []
