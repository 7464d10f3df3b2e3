"""社会组织 API (web/social_org_api.py): the inspector lists the targets drawn for them and submits a spot-check
checklist (the page's rules: refused input names each field and stores nothing; evidence are files uploaded to the
checklist task); findings are listed by scope and owner unit with open/overdue/closed filters; the authority edits
and closes, the owner unit uploads evidence and reports progress; everyone else gets a precise error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.clock import FakeClock
from engine.models import OrgUnit
from engine.runtime import Engine
from tests.conftest import api_token
from tests.integration.test_api__endpoints import assert_error
from tests.social_org_helpers import JPEG, complete, deploy_social_org, make_inspectors, make_org, seed_so_users
from workflows.common.models import ChecklistRecord, FindingProgress, FindingRecord
from workflows.social_org.models import Inspector, SpotCheckTarget
from workflows.social_org.spot_check import create_plan

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Meishan
API = "/api/v1/social-org"
CHECKS = ("annual_report", "disclosure", "governance", "finance", "activities")


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.clock = FakeClock(NOW)
    return engine


async def _target(engine: Engine, password_hash: str) -> SpotCheckTarget:
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    await make_org("511402", org_type="foundation", name="眉山市测试慈善基金会", supervisor="眉山市东坡区教育局")
    first, _ = await make_inspectors("511402", 2)
    await Inspector.filter(id=first.id).update(username="insp_dp")
    plan = await create_plan(engine, year=2026, authority=await OrgUnit.get(code="511402"), plan_type="random",
                             ratio=1.0, actor="so_dp")
    target = plan.targets[0]
    await complete(engine, target.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕3号",
                                                               "notice_date": "2026-03-09"})
    return target


async def _submitted(client: Any, engine: Engine, password_hash: str) -> list[dict[str, Any]]:
    """The inspector submits the checklist through the API: finance fails, the admin cost ratio is over 10%."""
    target = await _target(engine, password_hash)
    insp = await api_token(client, "insp_dp")
    mine = (await client.get(f"{API}/spot-checks/targets", headers=insp)).json()["items"]
    task_id = mine[0]["checklist_task_id"]
    photo = await client.post(f"/api/v1/tasks/{task_id}/attachments", headers=insp,
                              files={"file": ("现场照片.jpg", JPEG, "image/jpeg")})
    assert photo.status_code == 201, photo.text
    body = {"checks": {c: {"ok": c != "finance", "note": "票据不全" if c == "finance" else ""} for c in CHECKS},
            "values": {"admin_cost_ratio": 12.5, "remarks": "现场检查"}, "evidence": {"evidence": [photo.json()["id"]]}}
    r = await client.post(f"{API}/spot-checks/targets/{target.id}/checklist", headers=insp, json=body)
    assert r.status_code == 201, r.text
    return list(r.json()["findings"])


async def test_the_inspector_sees_drawn_targets_and_a_refused_checklist_names_each_field(
        client: Any, engine: Engine, password_hash: str) -> None:
    target = await _target(engine, password_hash)
    insp = await api_token(client, "insp_dp")
    mine = (await client.get(f"{API}/spot-checks/targets", headers=insp)).json()["items"]
    assert [(t["id"], t["organization"]["name"], t["actionable"]) for t in mine] == \
        [(target.id, "眉山市测试慈善基金会", True)]
    assert mine[0]["checklist_task_id"] is not None
    registrar = await api_token(client, "so_dp")  # no inspector record: nothing assigned
    assert (await client.get(f"{API}/spot-checks/targets", headers=registrar)).json()["items"] == []
    checklist = (await client.get(f"{API}/spot-checks/targets/{target.id}/checklist", headers=insp)).json()
    assert checklist["template"]["version"] == 2 and checklist["record"] is None
    assert {i["code"] for i in checklist["template"]["items"]} >= {*CHECKS, "evidence", "admin_cost_ratio"}

    url = f"{API}/spot-checks/targets/{target.id}/checklist"
    r = await client.post(url, headers=insp, json={
        "checks": {"annual_report": {"ok": False}, "governance": {"ok": True}},
        "values": {"admin_cost_ratio": 120}, "evidence": {"evidence": [999]}})
    fields = {f["field"]: f["code"] for f in assert_error(r, 422, "validation_failed")["fields"]}
    assert fields == {"checks.annual_report": "blank", "checks.disclosure": "incomplete",
                      "checks.finance": "incomplete", "checks.activities": "incomplete",
                      "values.admin_cost_ratio": "range", "evidence.evidence": "unknown"}
    r = await client.post(url, headers=insp, json={"checks": {"bogus": {"ok": True}}, "values": {"remarks": 3}})
    fields = {f["field"]: f["code"] for f in assert_error(r, 422, "validation_failed")["fields"]}
    assert fields == {"checks.bogus": "undeclared", "values.remarks": "type"}
    assert_error(await client.post(url, headers=insp, content=b"[1]"), 400, "invalid_body")
    assert_error(await client.post(url, headers=registrar, json={}), 403, "forbidden")  # not an inspector
    assert_error(await client.post(f"{API}/spot-checks/targets/99999/checklist", headers=insp, json={}), 404)
    other = await api_token(client, "so_rs")  # another county: the target does not exist for them
    assert_error(await client.get(url, headers=other), 404, "not_found")
    assert not await ChecklistRecord.exists()


async def test_checklist_then_findings_edit_progress_and_close_through_the_api(
        client: Any, engine: Engine, password_hash: str) -> None:
    findings = await _submitted(client, engine, password_hash)
    assert sorted(f["item"] for f in findings) == ["admin_cost_ratio", "finance"]
    assert all(f["status"] == "open" and f["due_date"] == "2026-04-09" for f in findings)
    insp = await api_token(client, "insp_dp")
    target_id = int(findings[0]["subject_id"])
    again = await client.post(f"{API}/spot-checks/targets/{target_id}/checklist", headers=insp, json={})
    assert_error(again, 409, "not_ready")  # submitted: no open checklist task any more
    listed = (await client.get(f"{API}/findings", headers=insp)).json()["items"]
    assert sorted(f["id"] for f in listed) == sorted(f["id"] for f in findings)
    assert (await client.get(f"{API}/findings?status=overdue", headers=insp)).json()["items"] == []
    assert_error(await client.get(f"{API}/findings?status=late", headers=insp), 400, "invalid_parameter")

    registrar = await api_token(client, "so_dp")
    finance = next(f for f in findings if f["item"] == "finance")
    edit = f"{API}/findings/{finance['id']}/edit"
    bad = await client.post(edit, headers=registrar, json={"owner": "unit:511421001", "corrective_action": "整改",
                                                           "due_date": "2026-05-01"})
    assert [f["code"] for f in assert_error(bad, 422)["fields"]] == ["unknown"]  # another county's township
    past = await client.post(edit, headers=registrar, json={"owner": "unit:511402001", "corrective_action": "整改",
                                                            "due_date": "2026-03-01"})
    assert [f["code"] for f in assert_error(past, 422)["fields"]] == ["order"]
    r = await client.post(edit, headers=registrar, json={
        "owner": "unit:511402001", "corrective_action": "通惠街道督促补全票据", "due_date": "2026-05-01"})
    assert r.status_code == 200, r.text
    assert (r.json()["owner"], r.json()["owner_unit_code"], r.json()["due_date"]) == \
        ("通惠街道", "511402001", "2026-05-01")
    assert_error(await client.post(edit, headers=insp, json={"owner": "organization", "corrective_action": "改改",
                                                             "due_date": "2026-05-01"}), 403, "forbidden")

    # the owner township sees only what it owns, uploads evidence and reports progress; it cannot close or edit
    township = await api_token(client, "th_reviewer")
    owned = (await client.get(f"{API}/findings", headers=township)).json()["items"]
    assert [f["id"] for f in owned] == [finance["id"]]
    detail = (await client.get(f"{API}/findings/{finance['id']}", headers=township)).json()
    assert detail["may"] == {"edit": False, "close": False, "report_progress": True}
    other = next(f for f in findings if f["item"] != "finance")
    assert_error(await client.get(f"{API}/findings/{other['id']}", headers=township), 404, "not_found")
    upload = await client.post(f"{API}/findings/{finance['id']}/evidence", headers=township,
                               files={"file": ("补全票据.jpg", JPEG, "image/jpeg")})
    assert upload.status_code == 201, upload.text
    progress = f"{API}/findings/{finance['id']}/progress"
    wrong = await client.post(progress, headers=township, json={"note": "已补全票据", "evidence_attachment_id": 99999})
    assert [f["code"] for f in assert_error(wrong, 422)["fields"]] == ["unknown"]
    blank = await client.post(progress, headers=township, json={"note": "   "})
    assert [f["code"] for f in assert_error(blank, 422)["fields"]] == ["blank"]
    r = await client.post(progress, headers=township, json={"note": "已补全 2025 年度票据",
                                                            "evidence_attachment_id": upload.json()["id"]})
    assert r.status_code == 201, r.text
    assert [(p["note"], p["reported_unit"], p["evidence_attachment_id"]) for p in r.json()["progress"]] == \
        [("已补全 2025 年度票据", "511402001", upload.json()["id"])]
    assert r.json()["status"] == "open"
    assert_error(await client.post(f"{API}/findings/{finance['id']}/close", headers=township,
                                   json={"note": "完成了"}), 403, "forbidden")
    assert_error(await client.post(progress, headers=insp, json={"note": "检查员代报"}), 403, "forbidden")
    neighbour = await api_token(client, "dsq_clerk")  # another township of the county
    assert (await client.get(f"{API}/findings", headers=neighbour)).json()["items"] == []
    assert_error(await client.post(progress, headers=neighbour, json={"note": "我们也报"}), 404, "not_found")
    assert await FindingProgress.filter(finding_id=finance["id"]).count() == 1

    # the authority closes after review; closed is final
    close = f"{API}/findings/{finance['id']}/close"
    r = await client.post(close, headers=registrar, json={"note": "复查属实,予以关闭"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_by"] == "so_dp"
    assert_error(await client.post(close, headers=registrar, json={"note": "再关一次"}), 409, "not_open")
    assert_error(await client.post(progress, headers=township, json={"note": "补充"}), 409, "not_open")
    closed = (await client.get(f"{API}/findings?status=closed", headers=registrar)).json()["items"]
    assert [f["id"] for f in closed] == [finance["id"]]

    # the other finding passes its due date: listed as overdue
    engine.clock.set(NOW + timedelta(days=40))  # type: ignore[attr-defined]
    overdue = (await client.get(f"{API}/findings?status=overdue", headers=registrar)).json()["items"]
    assert [(f["id"], f["overdue"]) for f in overdue] == [(other["id"], True)]
    assert (await FindingRecord.get(id=other["id"])).status == "open"
