"""The demo's reports section (DESIGN §14): the tenant documented for its customer, and a
change report between the baseline and a later backup after someone changed a setting in
the portal — both written to a local folder, whose paths the demo prints."""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from local.demo.scenario import Demo

ALICE = {"upn": "alice@contoso.example", "type": "user"}  # the customer's own admin
FORMATS = (("html", "html"), ("markdown", "md"))
POLL_S = 0.2


def show_reports(demo: Demo, folder: Path) -> list[Path]:
    from local.demo.scenario import DemoFailed, expect

    out, sim, api = demo.out, demo.sim, demo.engineer
    out.section(7, "Reports: the tenant documented, and what changed")
    tenant_id = demo.first_tenant
    baseline = demo.backups[tenant_id]["backup_set_id"]
    policy = min((p for p in sim.objects(tenant_id, "deviceManagement/configurationPolicies")
                  if _flip_first_choice(p) != p.get("settings")),
                 key=lambda p: len(p.get("settings") or []))
    setting = _flip_first_choice(policy)
    sim.drift(tenant_id, "deviceManagement/configurationPolicies", policy["id"],
              patch={"settings": setting}, actor=ALICE)
    out.note(f"{ALICE['upn']} flips one setting of '{policy['name']}' in the portal; a drift "
             "check records who, and a new backup captures it.")
    [check] = demo.follow(api, "engineer", [expect(api.request(
        "POST", f"/api/tenants/{tenant_id}/drift-checks", json={}), 202)])
    demo.require_status(check, "succeeded")
    [later] = demo.follow(api, "engineer", [expect(api.request(
        "POST", f"/api/tenants/{tenant_id}/backups", json={"label": "after the change"}), 202)])
    demo.require_status(later, "succeeded")

    out.line()
    out.note("The engineer asks for the tenant's documentation and for the change report "
             "(each a report run; Location is the document):")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, compare_to in (("tenant", None), ("changes", baseline)):
        for report_format, extension in FORMATS:
            body: dict[str, Any] = {"backup_set_id": later["backup_set_id"],
                                    "format": report_format}
            if compare_to:
                body["compare_to"] = compare_to
            started = api.request("POST", f"/api/tenants/{tenant_id}/reports", json=body)
            expect(started, 202)
            document = _document(demo, started)
            path = folder / f"{kind}.{extension}"
            path.write_bytes(document.content)
            written.append(path.resolve())
    changes = (folder / "changes.md").read_text(encoding="utf-8")
    if ALICE["upn"] not in changes or policy["name"] not in changes:
        raise DemoFailed("the change report does not show the changed policy and who "
                         "changed it")
    rows = re.findall(r"^\| (?!Setting|---)(.*?) \| (.*?) \| (.*?) \|$", changes, re.M)
    out.table(["changed setting", "before", "after"], rows)
    out.line()
    out.note("Reports written (open the HTML in a browser, or print it):")
    for path in written:
        out.note(f"  {path}")
    return written


def _document(demo: Demo, started: httpx.Response) -> httpx.Response:
    """Follow the report's ``Location`` until it answers 200 with the document."""
    from local.demo.scenario import DemoFailed, expect

    deadline = time.monotonic() + demo.run_timeout
    location = started.headers["Location"]
    while True:
        with demo.out.muted():
            answer = demo.engineer.request("GET", location)
        if answer.status_code == 200:
            demo.out.call_line("engineer", answer, answer.headers.get("content-type", ""))
            return answer
        expect(answer, 202)
        if time.monotonic() > deadline:
            raise DemoFailed(f"the report {location} was not written in time")
        time.sleep(POLL_S)


def _flip_first_choice(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's settings with its first top-level choice turned the other way."""
    settings = copy.deepcopy(policy.get("settings") or [])
    for setting in settings:
        value = setting["settingInstance"].get("choiceSettingValue")
        if value and isinstance(value.get("value"), str):
            old = value["value"]
            value["value"] = old[:-1] + ("1" if old.endswith("0") else "0")
            return settings
    return settings
