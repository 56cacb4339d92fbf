"""Reports (DESIGN §14) through HTTP, the local runtime, Azurite and the Graph simulator: a
tenant's documentation lists every object with its settings (definition display names) and
assignments (group names), a change report lists exactly the settings that changed with
their old and new values and who changed them, and no secret reaches any report."""

from __future__ import annotations

import copy
import html
import re
import time
from collections import Counter
from typing import Any

from azure.storage.blob import BlobServiceClient

from shared.graph.catalog import CATALOG
from shared.platform.storage import expand_connection_string
from tests.e2e.restore_support import backup, live, name_reused_by_another_kind

G = "#microsoft.graph."
DEFINITIONS = "deviceManagement/configurationSettings"
ALICE = {"upn": "alice@contoso.example", "type": "user"}
TECHNICIAN = {"upn": "tech@msp.example", "type": "partner"}
CHANGE_TYPES = ["groups", "assignmentFilters", "roleScopeTags", "notificationMessageTemplates",
                "configurationPolicies", "deviceConfigurations", "deviceCompliancePolicies"]


def _anchor(policy_type: str, policy_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", f"{policy_type}-{policy_id}")


def _report(admin, tenant_id: str, backup_set_id: str, fmt: str,
            compare_to: str | None = None) -> str:
    started = admin.report(tenant_id, backup_set_id, fmt, compare_to)
    assert started.status_code == 202, started.text
    assert started.json()["run_type"] == "report"
    answer = admin.report_document(started)
    assert answer.status_code == 200, answer.text
    media = {"html": "text/html", "markdown": "text/markdown"}[fmt]
    assert answer.headers["content-type"].startswith(media)
    return answer.text


def _html_segment(document: str, anchor: str) -> str:
    """The text of the article with ``anchor``: tags dropped, entities decoded."""
    start = document.index(f'<article id="{anchor}">')
    raw = document[start:document.index("</article>", start)]
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def _md_segment(document: str, anchor: str) -> str:
    start = document.index(f'<a id="{anchor}"></a>')
    end = document.find("<a id=", start + 1)
    return re.sub(r"\\(.)", r"\1", document[start:end if end > 0 else None])


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _definition_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        own = {value["settingDefinitionId"]} if "settingDefinitionId" in value else set()
        return own.union(*(_definition_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_definition_ids(v) for v in value))
    return set()


def _secret_values(sim, tenant_id: str) -> list[str]:
    """Every non-empty secret the simulated tenant holds, by the catalog's ``secrets``."""
    found: list[str] = []

    def walk(value: Any, names: frozenset[str]) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in names and isinstance(inner, str) and len(inner) >= 8:
                    found.append(inner)
                walk(inner, names)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, names)

    for rtype in CATALOG:
        if rtype.secrets:
            walk(sim.objects(tenant_id, rtype.path), rtype.secrets)
    return found


def test_report_documents_every_object_with_settings_and_assignments_by_name(
        admin, sim, tenant_id, stack):
    set_id = backup(admin, tenant_id)["backup_set_id"]  # every type, as the demo backs up
    items = admin.backup_set(tenant_id, set_id)["items"]
    cursor = sim.request_cursor()

    page = _report(admin, tenant_id, set_id, "html")
    text = _report(admin, tenant_id, set_id, "markdown")

    groups = {g["id"]: g["displayName"] for g in live(sim, tenant_id, "groups")}
    definitions = {d["id"]: d["displayName"] for d in sim.objects(tenant_id, DEFINITIONS)}
    for item in items:
        anchor = _anchor(item["policy_type"], item["policy_id"])
        assert item["display_name"] in _html_segment(page, anchor), item
        assert item["display_name"] in _md_segment(text, anchor), item
    catalog = [o for t in ("configurationPolicies", "compliancePolicies",
                           "reusablePolicySettings") for o in live(sim, tenant_id, t)]
    used = set().union(*(_definition_ids([o.get("settings"), o.get("settingInstance")])
                         for o in catalog))
    assert used and "device_vendor_msft_policy" not in page + text  # every id resolved
    assigned = 0
    for policy_type in ("configurationPolicies", "compliancePolicies", "reusablePolicySettings",
                        "deviceConfigurations", "deviceCompliancePolicies"):
        for obj in live(sim, tenant_id, policy_type):
            anchor = _anchor(policy_type, obj["id"])
            segments = [_words(_html_segment(page, anchor)), _words(_md_segment(text, anchor))]
            for def_id in _definition_ids([obj.get("settings"), obj.get("settingInstance")]):
                assert all(definitions[def_id] in s for s in segments), def_id
            for assignment in obj.get("assignments") or []:
                target = assignment["target"]
                if "groupId" not in target:
                    continue
                mode = "exclude" if target["@odata.type"].startswith(G + "exclusion") \
                    else "include"
                assert all(f"{mode} {groups[target['groupId']]}" in s for s in segments)
                assigned += 1
    assert assigned  # the seeded tenant assigns policies to groups
    # Settings definitions: read from Graph once per definition in each report run.
    reads = Counter(r["path"] for r in sim.requests(cursor)
                    if r["path"].startswith(f"/beta/{DEFINITIONS}/"))
    assert {p.rsplit("/", 1)[-1] for p in reads} == used
    assert set(reads.values()) == {2}  # two runs (HTML, Markdown), one read each
    # The glance and the contents come first, and every contents link has its target.
    assert page.index("Tenant at a glance") < page.index('<nav class="toc"') < page.index(
        "<main>")
    assert "<script" not in page and "<link" not in page and "<svg" in page
    for target in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{target}"' in page, target
    # Secrets: the catalog's secret properties never appear; the report says <secret>.
    secrets = _secret_values(sim, tenant_id)
    assert secrets
    assert not [s for s in secrets if s in page or s in text]
    assert "&lt;secret&gt;" in page and "`<secret>`" in text
    # The stored report is sealed, not the document in clear.
    service = BlobServiceClient.from_connection_string(
        expand_connection_string(stack.storage_connection))
    with service:
        box = service.get_container_client(stack.storage_prefix + "reports")
        blobs = [b.name for b in box.list_blobs(name_starts_with=f"{tenant_id}/")]
        assert blobs
        sealed = box.download_blob(blobs[0]).readall()
    assert b"PVSE" in sealed[:16] and b"<html" not in sealed and b"SC Policy" not in sealed


def _flip_first_choice(policy: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str, str]:
    """The policy's settings with its first top-level choice value flipped: (settings, the
    definition id, old value, new value)."""
    settings = copy.deepcopy(policy["settings"])
    for setting in settings:
        value = setting["settingInstance"].get("choiceSettingValue")
        if value:
            old = value["value"]
            value["value"] = old[:-1] + ("1" if old.endswith("0") else "0")
            return settings, setting["settingInstance"]["settingDefinitionId"], old, \
                value["value"]
    raise AssertionError("the seeded policy has no choice setting")


def _change_rows_html(page: str, anchor: str) -> list[tuple[str, str, str]]:
    start = page.index(f'<article id="change-{anchor}">')
    raw = page[start:page.index("</article>", start)]
    return [tuple(html.unescape(c) for c in row) for row in re.findall(
        r'<tr><td>(.*?)</td><td class="old">(.*?)</td><td class="new">(.*?)</td></tr>', raw)]


def _change_rows_md(text: str, anchor: str) -> list[tuple[str, str, str]]:
    segment = _md_segment(text, f"change-{anchor}")
    rows = re.findall(r"^\| (.*?) \| (.*?) \| (.*?) \|$", segment, re.M)
    return [tuple(c.strip("`") for c in row) for row in rows[1:]
            if not row[0].startswith("---")]


def test_change_report_lists_exactly_the_changed_settings_with_old_new_and_who(
        admin, sim, tenant_id):
    before = backup(admin, tenant_id, CHANGE_TYPES)["backup_set_id"]
    policy = next(p for p in live(sim, tenant_id, "configurationPolicies")
                  if len(p["settings"]) < 20)
    settings, def_id, old, new = _flip_first_choice(policy)
    sim.drift(tenant_id, "configurationPolicies", policy["id"], patch={"settings": settings},
              actor=ALICE)
    config = next(c for c in live(sim, tenant_id, "deviceConfigurations")
                  if c.get("passwordRequired") is True)
    sim.drift(tenant_id, "deviceConfigurations", config["id"],
              patch={"passwordRequired": False}, actor=TECHNICIAN)
    deleted = live(sim, tenant_id, "deviceCompliancePolicies")[0]
    sim.drift(tenant_id, "deviceCompliancePolicies", deleted["id"], op="delete", actor=ALICE)
    check = admin.wait(admin.drift_check(tenant_id, before, CHANGE_TYPES))
    assert check["drift"]["drifted"] == 2 and check["drift"]["removed"] == 1
    after = backup(admin, tenant_id, CHANGE_TYPES)["backup_set_id"]

    page = _report(admin, tenant_id, after, "html", compare_to=before)
    text = _report(admin, tenant_id, after, "markdown", compare_to=before)

    definition = {d["id"]: d for d in sim.objects(tenant_id, DEFINITIONS)}[def_id]
    labels = {o["itemId"]: o["displayName"] for o in definition["options"]}
    expected_policy = [(definition["displayName"], labels[old], labels[new])]
    expected_config = [("Password required", "Yes", "No")]
    policy_anchor = _anchor("configurationPolicies", policy["id"])
    config_anchor = _anchor("deviceConfigurations", config["id"])
    assert _change_rows_html(page, policy_anchor) == expected_policy
    assert _change_rows_md(text, policy_anchor) == expected_policy
    assert _change_rows_html(page, config_anchor) == expected_config
    assert _change_rows_md(text, config_anchor) == expected_config
    for document, segment in ((page, _html_segment), (text, _md_segment)):
        found = (segment(document, f"change-{policy_anchor}"),
                 segment(document, f"change-{config_anchor}"),
                 segment(document, f"change-{_anchor('deviceCompliancePolicies', deleted['id'])}"))
        assert ALICE["upn"] in found[0] and TECHNICIAN["upn"] in found[1]
        assert "Removed" in found[2] and deleted["displayName"] in found[2]
    # Exactly these three objects: the unchanged ones are counted, not listed.
    assert page.count('<article id="change-') == 3
    assert text.count('<a id="change-') == 3
    assert re.search(r"\d+ unchanged objects are counted, not listed", page)


def test_change_report_never_names_the_author_of_a_change_made_after_the_newer_set(
        admin, sim, tenant_id):
    policy_type = "deviceConfigurations"
    before = backup(admin, tenant_id, [policy_type])["backup_set_id"]
    config = live(sim, tenant_id, policy_type)[0]
    sim.drift(tenant_id, policy_type, config["id"], patch={"description": "alice's edit"},
              actor=ALICE)
    time.sleep(1.1)  # the sets' and events' times are to the second: keep them apart
    after = backup(admin, tenant_id, [policy_type])["backup_set_id"]
    time.sleep(1.1)
    sim.drift(tenant_id, policy_type, config["id"],
              patch={"displayName": config["displayName"] + " (renamed)"}, actor=TECHNICIAN)
    # A drift check against the older set names the newest event since it: the technician's
    # rename, which the newer set does not hold.
    check = admin.wait(admin.drift_check(tenant_id, before, [policy_type]))
    [drifted] = [i for i in admin.items(tenant_id, check["run_id"])
                 if i["policy_id"] == config["id"]]
    assert drifted["changed_by"]["actor"] == TECHNICIAN["upn"]

    text = _report(admin, tenant_id, after, "markdown", compare_to=before)

    found = _md_segment(text, f"change-{_anchor(policy_type, config['id'])}")
    assert "alice's edit" in found
    assert TECHNICIAN["upn"] not in found


def test_change_report_shows_a_name_reused_by_another_kind_as_removed_and_added(
        admin, sim, tenant_id):
    policy_type = "deviceConfigurations"
    before = backup(admin, tenant_id, [policy_type])["backup_set_id"]
    gone, made = name_reused_by_another_kind(sim, tenant_id, policy_type)
    after = backup(admin, tenant_id, [policy_type])["backup_set_id"]

    text = _report(admin, tenant_id, after, "markdown", compare_to=before)

    assert "Removed" in _md_segment(text, f"change-{_anchor(policy_type, gone['id'])}")
    assert "Added" in _md_segment(text, f"change-{_anchor(policy_type, made['id'])}")
    assert text.count('<a id="change-') == 2


def test_report_refuses_sets_of_other_tenants_and_runs_that_are_not_reports(
        admin, sim, tenant_id):
    other = sim.tenant_ids[1]
    own = backup(admin, tenant_id, ["roleScopeTags"])
    foreign = backup(admin, other, ["roleScopeTags"])["backup_set_id"]

    assert admin.report(tenant_id, foreign, "html").status_code == 404
    assert admin.report(tenant_id, own["backup_set_id"], "html",
                        compare_to=foreign).status_code == 404
    assert admin.report(tenant_id, own["backup_set_id"], "pdf").status_code == 400
    not_a_report = admin.request("GET", f"/api/tenants/{tenant_id}/reports/{own['run_id']}")
    assert not_a_report.status_code == 404
    started = admin.report(tenant_id, own["backup_set_id"], "markdown")
    again = admin.report(tenant_id, own["backup_set_id"], "markdown")
    assert again.json()["idempotency_key"] == (
        f"{tenant_id}|report|{own['backup_set_id']}|-|markdown")
    assert admin.report_document(started).status_code == 200
    assert admin.request("GET", f"/api/tenants/{other}/reports/{started.json()['run_id']}"
                         ).status_code == 403

