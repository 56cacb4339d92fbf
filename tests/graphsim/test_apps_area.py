"""The apps area as Graph serves it: category links through OData $ref, apps Intune syncs
itself refused, create-only app properties, the policy set update action."""

from __future__ import annotations

APPS = "/beta/deviceAppManagement/mobileApps"
CATEGORIES = "/beta/deviceAppManagement/mobileAppCategories"
SETS = "/beta/deviceAppManagement/policySets"
G = "#microsoft.graph."


def _app(client, odata_type: str) -> dict:
    return next(a for a in client.get(APPS).json()["value"] if a["@odata.type"] == odata_type)


def test_app_categories_are_links_read_as_the_categories_now(graph, graphsim):
    client = graph(0)
    app = _app(client, G + "webApp")
    new = client.post(CATEGORIES, json={"displayName": "Linked"}).json()
    ref = {"@odata.id": f"{graphsim.base_url}{CATEGORIES}/{new['id']}"}
    assert client.post(f"{APPS}/{app['id']}/categories/$ref", json=ref).status_code == 204
    assert client.patch(f"{CATEGORIES}/{new['id']}",
                        json={"displayName": "Renamed"}).status_code == 204
    expanded = client.get(f"{APPS}/{app['id']}?$expand=categories").json()["categories"]
    assert {"id": new["id"], "displayName": "Renamed"}.items() <= next(
        c for c in expanded if c["id"] == new["id"]).items()
    listed = client.get(f"{APPS}/{app['id']}/categories").json()["value"]
    assert [c["id"] for c in listed] == [c["id"] for c in expanded]

    missing = {"@odata.id": f"{graphsim.base_url}{CATEGORIES}/00000000-0000-0000-0000-000000000001"}
    assert client.post(f"{APPS}/{app['id']}/categories/$ref", json=missing).status_code == 400
    assert client.post(f"{APPS}/{app['id']}/categories", json=ref).status_code == 400
    assert client.delete(f"{APPS}/{app['id']}/categories/{new['id']}/$ref").status_code == 204
    assert new["id"] not in {c["id"] for c in
                             client.get(f"{APPS}/{app['id']}/categories").json()["value"]}
    for other in expanded:
        assert client.delete(f"{CATEGORIES}/{other['id']}").status_code == 204
    assert client.get(f"{APPS}/{app['id']}/categories").json()["value"] == []


def test_apps_intune_syncs_are_refused_and_create_only_properties_stay(graph):
    client = graph(0)
    vpp = {"@odata.type": G + "iosVppApp", "displayName": "VPP", "bundleId": "com.x"}
    assert client.post(APPS, json=vpp).status_code == 400
    play = {"@odata.type": G + "androidManagedStoreApp", "displayName": "Play",
            "appIdentifier": "com.x"}
    assert client.post(APPS, json=play).status_code == 400
    assert client.post(APPS, json={**play, "isSystemApp": True}).status_code == 201
    win32 = client.post(APPS, json={"@odata.type": G + "win32LobApp", "displayName": "W",
                                    "fileName": "a.intunewin"}).json()
    assert (win32["publishingState"], win32["uploadState"]) == ("notPublished", 0)
    web = _app(client, G + "webApp")
    assert client.patch(f"{APPS}/{web['id']}", json={"appUrl": "https://x"}).status_code == 400
    assert client.patch(f"{APPS}/{web['id']}", json={"notes": "n"}).status_code == 204


def test_policy_set_items_change_only_through_the_update_action(graph):
    client = graph(0)
    policy_set = client.get(SETS).json()["value"][0]
    url = f"{SETS}/{policy_set['id']}"
    items = client.get(f"{url}?$expand=items,assignments").json()["items"]
    assert items and all(i["status"] == "success" and i["displayName"] for i in items)
    assert client.post(f"{url}/assign", json={"assignments": []}).status_code == 400
    assert client.patch(url, json={"items": []}).status_code == 400
    unknown = {"@odata.type": G + "deviceConfigurationPolicySetItem",
               "payloadId": "00000000-0000-0000-0000-000000000001"}
    update = {"addedPolicySetItems": [unknown], "deletedPolicySetItems": [items[0]["id"]],
              "updatedPolicySetItems": [], "assignments": []}
    assert client.post(f"{url}/update", json=update).status_code == 204
    after = client.get(f"{url}?$expand=items,assignments").json()
    assert items[0]["id"] not in {i["id"] for i in after["items"]}
    added = next(i for i in after["items"] if i["payloadId"] == unknown["payloadId"])
    assert (added["status"], added["errorCode"]) == ("error", "notFound")
    assert after["assignments"] == []
    bad = {"deletedPolicySetItems": ["no-such-item"], "addedPolicySetItems": [unknown]}
    assert client.post(f"{url}/update", json=bad).status_code == 400
    assert len(client.get(f"{url}/items").json()["value"]) == len(after["items"])
