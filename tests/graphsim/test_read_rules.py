"""Where Graph's reads are not uniform, the simulator answers as Graph does (ReadRules), so a
client's request savings measured here exist against Graph too (DESIGN §9)."""

from __future__ import annotations

from tests.graphsim.test_collections import SC, all_pages

DM = "/beta/deviceManagement"


def _assigned_policy(client) -> dict:
    listed = client.get(f"{SC}?$expand=assignments").json()["value"]
    return next(p for p in listed if p["assignments"])


def test_settings_catalog_list_expanding_settings_answers_two_policies_a_page(graphsim, graph):
    graphsim.reset(counts={"configurationPolicies": 9})
    items, pages = all_pages(graph(0), f"{SC}?$expand=settings&$top=100")
    assert len(items) == 9 and pages == 5
    assert all("settings" in p for p in items)


def test_settings_catalog_list_expands_assignments_but_a_single_get_answers_none(graph):
    client = graph(0)
    policy = _assigned_policy(client)
    single = client.get(f"{SC}/{policy['id']}?$expand=settings,assignments").json()
    assert single["assignments"] == [] and len(single["settings"]) == policy["settingCount"]
    own = client.get(f"{SC}/{policy['id']}/assignments").json()["value"]
    assert len(own) == len(policy["assignments"])


def test_scope_tag_list_expands_assignments_as_empty(graph):
    client = graph(0)
    tag = next(t for t in client.get(f"{DM}/roleScopeTags").json()["value"]
               if not t["isBuiltIn"])
    group = client.get("/v1.0/groups").json()["value"][0]["id"]
    assigned = client.post(f"{DM}/roleScopeTags/{tag['id']}/assign", json={"assignments": [{
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}}]})
    assert assigned.status_code == 200, assigned.text
    listed = client.get(f"{DM}/roleScopeTags?$expand=assignments").json()["value"]
    assert all(t["assignments"] == [] for t in listed)
    own = client.get(f"{DM}/roleScopeTags/{tag['id']}/assignments").json()["value"]
    assert [a["target"]["groupId"] for a in own] == [group]


def test_shell_script_assignments_have_no_route_but_expand(graph):
    client = graph(0)
    script = client.get(f"{DM}/deviceShellScripts").json()["value"][0]
    refused = client.get(f"{DM}/deviceShellScripts/{script['id']}/assignments")
    assert refused.status_code == 400 and "No OData route" in refused.json()["error"]["message"]
    single = client.get(f"{DM}/deviceShellScripts/{script['id']}?$expand=assignments")
    assert single.status_code == 200 and "assignments" in single.json()


def test_script_lists_leave_the_script_body_to_a_single_get(graph):
    client = graph(0)
    for path, field in (("deviceManagementScripts", "scriptContent"),
                        ("deviceShellScripts", "scriptContent"),
                        ("deviceHealthScripts", "detectionScriptContent")):
        listed = client.get(f"{DM}/{path}").json()["value"][0]
        assert listed[field] is None, path
        assert client.get(f"{DM}/{path}/{listed['id']}").json()[field], path


def test_app_policy_lists_refuse_expand(graph):
    client = graph(0)
    for path in ("/beta/deviceAppManagement/managedAppPolicies",
                 "/beta/deviceAppManagement/targetedManagedAppConfigurations"):
        answer = client.get(f"{path}?$expand=assignments")
        assert answer.status_code == 400, path
        assert client.get(path).status_code == 200


def test_expand_limit_cuts_expanded_navigations_silently(graphsim, graph):
    graphsim.reset(expand_limit=5)
    client = graph(0)
    big = next(p for p in client.get(SC).json()["value"] if p["settingCount"] == 60)
    single = client.get(f"{SC}/{big['id']}?$expand=settings").json()
    assert len(single["settings"]) == 5 and "settings@odata.nextLink" not in single
    assert len(all_pages(client, f"{SC}/{big['id']}/settings")[0]) == 60
