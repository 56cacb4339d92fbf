"""Graph collection semantics over HTTPS with httpx: paging, query options, writes, errors."""

from __future__ import annotations

import base64

import pytest

from local.graphsim.catalog import POLICY_TYPE_KEYS, TYPES

SC = "/beta/deviceManagement/configurationPolicies"
G = "#microsoft.graph."


def all_pages(client, url: str) -> tuple[list[dict], int]:
    items, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["value"])
        pages += 1
        url = body.get("@odata.nextLink")
    return items, pages


def new_policy(name: str = "Created SC", settings: int = 2) -> dict:
    return {
        "name": name, "description": "x", "platforms": "windows10", "technologies": "mdm",
        "roleScopeTagIds": ["0"], "templateReference": {"templateId": ""},
        "settings": [{
            "id": "ignored",
            "@odata.type": G + "deviceManagementConfigurationSetting",
            "settingInstance": {
                "@odata.type": G + "deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": f"device_vendor_msft_test_{i}",
                "simpleSettingValue": {
                    "@odata.type": G + "deviceManagementConfigurationIntegerSettingValue",
                    "value": i}}} for i in range(settings)],
    }


def test_every_policy_type_key_is_served_and_seeded(graph, graphsim):
    client = graph(0)
    paths = {t.key: t for t in TYPES}
    for key in POLICY_TYPE_KEYS:
        spec = paths[key]
        response = client.get(f"/{spec.versions[-1]}/{spec.path}")
        assert response.status_code == 200, (key, response.text)
        body = response.json()
        if spec.singleton:  # one object, not a collection
            assert "value" not in body and body["@odata.type"] in spec.odata_types, key
            assert f"$metadata#{spec.path}" in body["@odata.context"]
            continue
        assert body["@odata.context"].endswith(f"$metadata#{spec.path}")
        assert body["value"], key


def test_paging_through_1000_items_follows_absolute_next_links(graphsim, graph):
    graphsim.reset(counts={"configurationPolicies": 1000})
    client = graph(0)
    items, pages = all_pages(client, SC)  # settings catalog lists page at 25, as Graph's
    assert len(items) == 1000 and pages == 40
    assert len({i["id"] for i in items}) == 1000
    first = client.get(SC).json()
    assert first["@odata.nextLink"].startswith(graphsim.base_url + SC)
    assert "settings" not in first["value"][0]
    items, pages = all_pages(client, SC + "?$top=300")
    assert len(items) == 1000 and pages == 4


def test_settings_page_at_25_and_expand_returns_them_whole(graph):
    client = graph(0)
    big = next(p for p in client.get(SC).json()["value"] if p["settingCount"] == 60)
    settings, pages = all_pages(client, f"{SC}/{big['id']}/settings")
    assert len(settings) == 60 and pages == 3
    assert [s["id"] for s in settings] == [str(i) for i in range(60)]
    expanded = client.get(f"{SC}/{big['id']}?$expand=settings,assignments").json()
    assert len(expanded["settings"]) == 60
    assert "assignments" in expanded
    instance = expanded["settings"][0]["settingInstance"]
    assert instance["@odata.type"] == G + "deviceManagementConfigurationChoiceSettingInstance"
    assert instance["choiceSettingValue"]["children"]


def test_select_and_filter_on_display_name(graph):
    client = graph(0)
    body = client.get("/beta/deviceManagement/deviceConfigurations?$select=displayName").json()
    assert set(body["value"][0]) <= {"id", "@odata.type", "displayName"}
    name = body["value"][1]["displayName"]
    found = client.get("/beta/deviceManagement/deviceConfigurations",
                       params={"$filter": f"displayName eq '{name}'"}).json()["value"]
    assert [v["displayName"] for v in found] == [name]
    by_name = client.get(SC, params={"$filter": "name eq 'SC Policy 0002'"}).json()["value"]
    assert len(by_name) == 1


@pytest.mark.parametrize("query", ["$filter=displayName eq", "$filter=foo(bar)",
                                   "$top=abc", "$expand=nope", "$skiptoken=%%%", "$bogus=1",
                                   "$expand=settings(("])
def test_bad_query_options_are_graph_400(graph, query):
    response = graph(0).get(f"{SC}?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["innerError"]["request-id"] == response.headers["request-id"]


def test_unknown_segment_version_and_id_errors(graph):
    client = graph(0)
    unknown = client.get("/beta/deviceManagement/notAThing")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == \
        "Resource not found for the segment 'notAThing'."
    assert client.get("/v1.0/deviceManagement/configurationPolicies").status_code == 400
    bad_version = client.get("/deviceManagement/deviceConfigurations")
    assert bad_version.status_code == 404
    assert bad_version.json()["error"]["message"] == "Invalid version: devicemanagement"
    missing = client.get(f"{SC}/00000000-0000-0000-0000-000000000001")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"
    assert '"_version": 3' in missing.json()["error"]["message"]
    group = client.get("/v1.0/groups/00000000-0000-0000-0000-000000000001")
    assert group.json()["error"]["code"] == "Request_ResourceNotFound"


def test_responses_carry_request_and_client_request_ids(graph):
    response = graph(0).get("/v1.0/groups", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]


def test_create_put_patch_delete_settings_catalog(graph, graphsim):
    client = graph(0)
    created = client.post(SC, json=new_policy())
    assert created.status_code == 201, created.text
    body = created.json()
    pid = body["id"]
    assert body["createdDateTime"] and body["lastModifiedDateTime"]
    assert body["settingCount"] == 2 and pid != "ignored"
    assert body["@odata.context"].endswith("configurationPolicies/$entity")
    settings = client.get(f"{SC}/{pid}/settings").json()["value"]
    assert [s["id"] for s in settings] == ["0", "1"]
    replaced = client.put(f"{SC}/{pid}", json=new_policy("Replaced", settings=5))
    assert replaced.status_code == 204, replaced.text
    after = client.get(f"{SC}/{pid}?$expand=settings").json()
    assert after["name"] == "Replaced" and len(after["settings"]) == 5
    assert after["createdDateTime"] == body["createdDateTime"]
    assert client.patch(f"{SC}/{pid}", json={"description": "patched"}).status_code == 204
    assert client.get(f"{SC}/{pid}").json()["description"] == "patched"
    assert client.delete(f"{SC}/{pid}").status_code == 204
    assert client.get(f"{SC}/{pid}").status_code == 404
    writes = graphsim.writes()
    assert [w["method"] for w in writes] == ["POST", "PUT", "PATCH", "DELETE"]


def test_version_increments_on_patch(graph):
    client = graph(0)
    url = "/beta/deviceManagement/deviceConfigurations"
    created = client.post(url, json={"@odata.type": G + "windows10GeneralConfiguration",
                                     "displayName": "W10", "passwordRequired": True}).json()
    assert created["version"] == 1 and created["roleScopeTagIds"] == ["0"]
    client.patch(f"{url}/{created['id']}", json={"description": "d"})
    assert client.get(f"{url}/{created['id']}").json()["version"] == 2


@pytest.mark.parametrize("field", ["createdDateTime", "lastModifiedDateTime", "settingCount",
                                   "isAssigned", "creationSource", "priorityMetaData"])
def test_read_only_property_write_rejected(graph, field):
    client = graph(0)
    body = new_policy()
    body[field] = None if field in ("creationSource", "priorityMetaData") else "2024-01-01"
    response = client.post(SC, json=body)
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]
    pid = client.get(SC).json()["value"][0]["id"]
    assert client.patch(f"{SC}/{pid}", json={field: body[field]}).status_code == 400


@pytest.mark.parametrize("field", ["templateFamily", "templateDisplayName",
                                   "templateDisplayVersion"])
def test_read_only_template_reference_fields_rejected(graph, field):
    body = new_policy()
    body["templateReference"] = {"templateId": "", field: "x"}
    response = graph(0).post(SC, json=body)
    assert response.status_code == 400
    assert f"templateReference.{field}" in response.json()["error"]["message"]


def test_bad_bodies_are_graph_400_not_500(graph):
    client = graph(0)
    malformed = client.post(SC, content=b"{not json", headers={"Content-Type":
                                                                 "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "BadRequest"
    assert client.post(SC, json=[1, 2]).status_code == 400
    assert client.post(SC, content=b"").status_code == 400
    dc = "/beta/deviceManagement/deviceConfigurations"
    assert client.post(dc, json={"displayName": "no type"}).status_code == 400
    assert client.post(dc, json={"@odata.type": G + "madeUpConfiguration",
                                 "displayName": "x"}).status_code == 400
    bad_setting = new_policy()
    bad_setting["settings"][0]["settingInstance"]["@odata.type"] = G + "nope"
    assert client.post(SC, json=bad_setting).status_code == 400
    bad_tags = new_policy()
    bad_tags["roleScopeTagIds"] = ["999"]
    assert client.post(SC, json=bad_tags).status_code == 400
    inline_assign = new_policy()
    inline_assign["assignments"] = []
    assert client.post(SC, json=inline_assign).status_code == 400
    assert client.put(f"{dc}/{client.get(dc).json()['value'][0]['id']}",
                      json={"displayName": "x"}).status_code == 405


def test_assign_replaces_assignments_and_checks_filters(graph, graphsim, tenant_ids):
    client = graph(0)
    pid = client.get(SC).json()["value"][1]["id"]
    group = graphsim.objects(tenant_ids[0], "groups")[0]["id"]
    flt = graphsim.objects(tenant_ids[0], "assignmentFilters")[0]["id"]
    target = {"@odata.type": G + "groupAssignmentTarget", "groupId": group,
              "deviceAndAppManagementAssignmentFilterId": flt,
              "deviceAndAppManagementAssignmentFilterType": "include"}
    response = client.post(f"{SC}/{pid}/assign", json={"assignments": [{"target": target}]})
    assert response.status_code == 200, response.text
    stored = client.get(f"{SC}/{pid}/assignments").json()["value"]
    assert [a["target"]["groupId"] for a in stored] == [group]
    assert client.get(f"{SC}/{pid}").json()["isAssigned"] is True
    bad = dict(target, deviceAndAppManagementAssignmentFilterId="ffffffff-0000-0000-0000-0000")
    assert client.post(f"{SC}/{pid}/assign",
                       json={"assignments": [{"target": bad}]}).status_code == 400
    assert client.post(f"{SC}/{pid}/assign", json={"assignments": []}).status_code == 200
    assert client.get(f"{SC}/{pid}/assignments").json()["value"] == []


def test_compliance_requires_scheduled_actions_and_replaces_them_by_action(graph, graphsim,
                                                                           tenant_ids):
    client = graph(0)
    url = "/beta/deviceManagement/deviceCompliancePolicies"
    body = {"@odata.type": G + "windows10CompliancePolicy", "displayName": "C",
            "passwordRequired": True}
    missing = client.post(url, json=body)
    assert missing.status_code == 400
    assert "scheduledActionsForRule" in missing.json()["error"]["message"]
    template = graphsim.objects(tenant_ids[0], "notificationMessageTemplates")[0]["id"]
    body["scheduledActionsForRule"] = [{"ruleName": "PasswordRequired",
                                        "scheduledActionConfigurations": [
                                            {"actionType": "block", "gracePeriodHours": 0},
                                            {"actionType": "notification", "gracePeriodHours": 4,
                                             "notificationTemplateId": template}]}]
    created = client.post(url, json=body)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    expanded = client.get(f"{url}/{cid}?$expand=scheduledActionsForRule("
                          "$expand=scheduledActionConfigurations)").json()
    actions = expanded["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
    assert [a["actionType"] for a in actions] == ["block", "notification"]
    assert client.patch(f"{url}/{cid}", json={"scheduledActionsForRule": []}).status_code == 400
    action = {"deviceComplianceScheduledActionForRules": [{
        "ruleName": "PasswordRequired",
        "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 12}]}]}
    assert client.post(f"{url}/{cid}/scheduleActionsForRules", json=action).status_code == 204
    rule = client.get(f"{url}/{cid}/scheduledActionsForRule").json()["value"][0]
    configs = client.get(f"{url}/{cid}/scheduledActionsForRule/{rule['id']}/"
                         "scheduledActionConfigurations").json()["value"]
    assert [c["gracePeriodHours"] for c in configs] == [12]


def test_admin_template_update_definition_values(graph, graphsim, tenant_ids):
    client = graph(0)
    url = "/beta/deviceManagement/groupPolicyConfigurations"
    created = client.post(url, json={"displayName": "ADMX"}).json()
    gid = created["id"]
    definition = graphsim.objects(tenant_ids[0], "groupPolicyDefinitions")[0]["id"]
    added = {"added": [{"enabled": True, "definition@odata.bind":
                        f"https://graph.microsoft.com/beta/deviceManagement/"
                        f"groupPolicyDefinitions('{definition}')",
                        "presentationValues": [{
                            "@odata.type": G + "groupPolicyPresentationValueText",
                            "value": "v", "presentation@odata.bind": "x"}]}]}
    assert client.post(f"{url}/{gid}/updateDefinitionValues", json=added).status_code == 204
    values = client.get(f"{url}/{gid}/definitionValues?$expand=definition,"
                        "presentationValues").json()["value"]
    assert values[0]["definition"]["id"] == definition
    assert values[0]["presentationValues"][0]["value"] == "v"
    single = client.get(f"{url}/{gid}/definitionValues/{values[0]['id']}/definition")
    assert single.json()["id"] == definition
    update = {"updated": [{"id": values[0]["id"], "enabled": False}],
              "deletedIds": []}
    assert client.post(f"{url}/{gid}/updateDefinitionValues", json=update).status_code == 204
    delete = {"deletedIds": [values[0]["id"]]}
    assert client.post(f"{url}/{gid}/updateDefinitionValues", json=delete).status_code == 204
    assert client.get(f"{url}/{gid}/definitionValues").json()["value"] == []
    bad = {"added": [{"enabled": True, "definition@odata.bind": "groupPolicyDefinitions('x')"}]}
    assert client.post(f"{url}/{gid}/updateDefinitionValues", json=bad).status_code == 400


def test_managed_app_policies_polymorphic_read_platform_write(graph):
    client = graph(0)
    policies = client.get("/v1.0/deviceAppManagement/managedAppPolicies").json()["value"]
    assert {p["@odata.type"] for p in policies} == {G + "iosManagedAppProtection",
                                                    G + "androidManagedAppProtection"}
    assert client.post("/v1.0/deviceAppManagement/managedAppPolicies",
                       json={"displayName": "x"}).status_code == 400
    created = client.post("/v1.0/deviceAppManagement/iosManagedAppProtections",
                          json={"displayName": "New iOS", "pinRequired": True})
    assert created.status_code == 201
    ios_only = client.get("/v1.0/deviceAppManagement/managedAppPolicies",
                          params={"$filter": "isof('microsoft.graph.iosManagedAppProtection')"})
    assert "New iOS" in [p["displayName"] for p in ios_only.json()["value"]]
    ident = client.get(f"/v1.0/deviceAppManagement/managedAppPolicies/{created.json()['id']}")
    assert ident.status_code == 200


def test_windows_app_protections_are_served_in_beta_and_listed_by_managed_app_policies(graph):
    client = graph(0)
    url = "/beta/deviceAppManagement/windowsManagedAppProtections"
    created = client.post(url, json={"displayName": "New Windows", "printBlocked": True})
    assert created.status_code == 201
    item = f"{url}/{created.json()['id']}"
    assert client.post(f"{item}/apps", json={"mobileAppIdentifier": {
        "@odata.type": G + "windowsAppIdentifier", "windowsAppId": "com.microsoft.edge"}}
        ).status_code == 201
    assert client.post(f"{item}/assign", json={"assignments": []}).status_code == 200
    assert client.patch(item, json={"description": "d"}).status_code == 204
    beta = client.get("/beta/deviceAppManagement/managedAppPolicies").json()["value"]
    assert G + "windowsManagedAppProtection" in {p["@odata.type"] for p in beta}
    assert client.get(f"/beta/deviceAppManagement/managedAppPolicies/{created.json()['id']}"
                      ).status_code == 200
    v1 = client.get("/v1.0/deviceAppManagement/managedAppPolicies").json()["value"]
    assert G + "windowsManagedAppProtection" not in {p["@odata.type"] for p in v1}
    assert client.get(url.replace("/beta/", "/v1.0/")).status_code == 400


def test_scripts_are_base64_and_ca_references_named_locations(graph, graphsim, tenant_ids):
    client = graph(0)
    script = client.get("/beta/deviceManagement/deviceManagementScripts").json()["value"][0]
    assert script["scriptContent"] is None or base64.b64decode(script["scriptContent"])
    locations = {n["id"] for n in graphsim.objects(tenant_ids[0], "namedLocations")}
    policies = client.get("/v1.0/identity/conditionalAccess/policies").json()["value"]
    referenced = {loc for p in policies
                  for loc in p["conditions"]["locations"]["excludeLocations"]}
    assert referenced and referenced <= locations
    bad = dict(policies[0])
    for key in ("id", "createdDateTime", "modifiedDateTime", "@odata.type"):
        bad.pop(key, None)
    bad["conditions"]["locations"]["includeLocations"] = ["not-a-location"]
    response = client.post("/v1.0/identity/conditionalAccess/policies", json=bad)
    assert response.status_code == 400
    bad["conditions"]["locations"]["includeLocations"] = ["All"]
    bad["state"] = "enabledForReportingButNotEnforced"
    assert client.post("/v1.0/identity/conditionalAccess/policies", json=bad).status_code == 201


def test_role_scope_tags_get_integer_ids_and_policies_reference_them(graph, graphsim,
                                                                     tenant_ids):
    client = graph(0)
    created = client.post("/beta/deviceManagement/roleScopeTags",
                          json={"displayName": "New tag"}).json()
    assert created["id"].isdigit()
    tags = {t["id"] for t in graphsim.objects(tenant_ids[0], "roleScopeTags")}
    for policy in graphsim.objects(tenant_ids[0], "configurationPolicies"):
        assert set(policy["roleScopeTagIds"]) <= tags
    for policy in graphsim.objects(tenant_ids[0], "deviceConfigurations"):
        for assignment in policy["assignments"]:
            flt = assignment["target"].get("deviceAndAppManagementAssignmentFilterId")
            if flt:
                assert flt in {f["id"] for f in graphsim.objects(tenant_ids[0],
                                                                   "assignmentFilters")}


def test_tenants_are_isolated(graph, graphsim):
    created = graph(0).post(SC, json=new_policy("Only in tenant 0")).json()
    assert graph(1).get(f"{SC}/{created['id']}").status_code == 404


JUNK_BODIES = [{}, [], "text", None, 5, {"displayName": 1, "name": 1},
               {"@odata.type": 5}, {"settings": "x"}, {"settings": [1]},
               {"scheduledActionsForRule": [1]}, {"scheduledActionsForRule": "x"},
               {"roleScopeTagIds": "0"}, {"roleScopeTags": [1]}, {"templateReference": "x"},
               {"conditions": [], "displayName": "x"},
               {"conditions": {"locations": "x"}, "displayName": "x"},
               {"assignments": "x"}, {"added": 5}, {"deletedIds": "x"},
               {"deviceComplianceScheduledActionForRules": "x"}]


def _singleton_targets(client, spec, url: str) -> list[tuple[str, str]]:
    """Every write a singleton answers: itself, its parts, its navigations and actions."""
    targets = [("POST", url), ("PATCH", url), ("PUT", url)]
    targets += [("PATCH", f"{url}/{part.name}") for part in spec.parts]
    for sub in spec.subs:
        first = client.get(f"{url}/{sub.name}").json()["value"][0][sub.key_prop]
        targets += [("POST", f"{url}/{sub.name}"), ("PATCH", f"{url}/{sub.name}/{first}")]
    return targets + [("POST", f"{url}/{action}") for action in dict(spec.handlers)]


def test_junk_bodies_never_answer_5xx(graph, graphsim):
    graphsim.reset(counts={"windowsManagedAppProtections": 1})  # one item in every collection
    client = graph(0)
    for spec in TYPES:
        version = spec.versions[-1]
        url = f"/{version}/{spec.path}"
        if spec.singleton:
            targets = _singleton_targets(client, spec, url)
        else:
            first = client.get(url).json()["value"][0]["id"]
            targets = [("POST", url), ("PATCH", f"{url}/{first}"), ("PUT", f"{url}/{first}")]
            targets += [("POST", f"{url}/{first}/{action}")
                        for action in ("assign", *dict(spec.handlers))]
        for method, target in targets:
            response = client.request(method, target, content=b"{broken")
            assert response.status_code == 400, (method, target)
            relative = target.split("/", 2)[2]
            batch = [{"id": str(i), "method": method, "url": f"/{relative}", "body": body,
                      "headers": {"Content-Type": "application/json"}}
                     for i, body in enumerate(JUNK_BODIES)]
            answer = client.post(f"/{version}/$batch", json={"requests": batch})
            assert answer.status_code == 200, answer.text
            for result in answer.json()["responses"]:
                body = JUNK_BODIES[int(result["id"])]
                assert result["status"] < 500, (method, target, body, result)
                if result["status"] >= 400:
                    assert result["body"]["error"]["code"]
