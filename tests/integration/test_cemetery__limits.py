"""The checklist limits page: the city publishes a new `cemetery_annual` version; new inspections use it, inspections
started earlier keep theirs (through the pages: limits, campaign start, checklist entry)."""

from __future__ import annotations

from typing import Any

from engine.models import AuditEvent, User
from tests.cemetery_helpers import (
    SELF_REPORT,
    checklist,
    install_cemetery,
    make_cemetery,
    open_task,
    review,
    to_city_review,
)
from tests.conftest import api_token, browser_login, csrf_from
from workflows.cemetery import checklist as cl
from workflows.cemetery import inspection as insp
from workflows.cemetery.checklist import CHECK_ITEMS
from workflows.cemetery.models import CemeteryInspection, Rectification
from workflows.common.models import ChecklistRecord, ChecklistTemplate

V1_FORM = {"pw_single_max_m2": "0.5", "pw_double_max_m2": "0.8", "com_ashes_max_m2": "1", "body_max_m2": "4",
           "eco_share_min": "10", "measured_sample_min": "3", "rectification_days": "30"}


def _limits(csrf: str, base_version: int, **changes: str) -> dict[str, str]:
    return {"csrf_token": csrf, "base_version": str(base_version), "document_number": "眉市民发〔2026〕12号",
            "note": "按省厅通知调整", **V1_FORM, **changes}


def _checklist(csrf: str, area: str) -> dict[str, Any]:
    return {"csrf_token": csrf, "action": "submit", "plot_label": ["A-1", "A-2", "A-3"],
            "plot_kind": ["single"] * 3, "plot_area": [area] * 3, "eco_plots": "120", "total_plots": "800",
            "notes": "", "opinion": "现场检查完毕。", **{f"check_{code}": "ok" for code in CHECK_ITEMS}}


async def _self_report(engine: Any, inspection: CemeteryInspection) -> str:
    task = await open_task(inspection, "Task_self_report")
    await insp.complete(engine, task.id, SELF_REPORT, actor="th_clerk")
    return str((await open_task(inspection, "Task_onsite")).id)


async def test_publishing_limits_changes_new_inspections_only(client: Any, engine: Any, password_hash: str) -> None:
    await install_cemetery(engine)
    await User.create(username="dp_inspector", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=password_hash)
    old_cemetery = await make_cemetery("GM001")
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    old = await insp.start_inspection(engine, old_cemetery, campaign, actor="city_mgr")
    await make_cemetery("GM002")  # registered, its inspection starts after the new version

    csrf = await browser_login(client, "city_mgr")
    page = await client.get("/cemetery/limits")
    assert page.status_code == 200 and "第 1 版" in page.text and "发布第 2 版" in page.text
    assert 'value="0.5"' in page.text and 'value="10"' in page.text  # eco share shown as a percentage

    bad = await client.post("/cemetery/limits", data=_limits(
        csrf, 1, pw_single_max_m2="abc", pw_double_max_m2="1.2", measured_sample_min="2.5", document_number=""))
    assert bad.status_code == 422
    for message in ("公益性公墓单穴(骨灰)墓位占地上限须为数字", "双穴合葬(骨灰)墓位占地上限须在 0.1–1.0 ㎡ 之间",
                    "每次检查最少实测墓位数须为整数", "请填写调整依据的文号"):
        assert message in bad.text
    assert 'value="abc"' in bad.text  # the input is kept
    smaller = await client.post("/cemetery/limits", data=_limits(csrf, 1, pw_single_max_m2="0.9"))
    assert smaller.status_code == 422 and "双穴合葬墓位上限不得小于单穴墓位上限" in smaller.text
    same = await client.post("/cemetery/limits", data=_limits(csrf, 1))
    assert same.status_code == 422 and "限值未作任何修改" in same.text
    assert await ChecklistTemplate.filter(code=cl.TEMPLATE_CODE).count() == 1

    ok = await client.post("/cemetery/limits", data=_limits(csrf, 1, pw_single_max_m2="0.6", eco_share_min="15"))
    assert ok.status_code == 303, ok.text
    v2 = await ChecklistTemplate.get(code=cl.TEMPLATE_CODE, version=2)
    assert v2.body["parameters"]["pw_single_max_m2"] == 0.6 and v2.body["parameters"]["eco_share_min"] == 0.15
    assert v2.body["parameters"]["pw_double_max_m2"] == 0.8 and v2.created_by == "city_mgr"
    event = await AuditEvent.get(action="cemetery.checklist_published")
    assert event.actor == "city_mgr" and event.payload["document_number"] == "眉市民发〔2026〕12号"
    assert event.payload["changed"] == {"pw_single_max_m2": [0.5, 0.6], "eco_share_min": [0.1, 0.15]}
    shown = await client.get("/cemetery/limits")
    assert "第 2 版" in shown.text and "眉市民发〔2026〕12号" in shown.text and "市级管理" in shown.text
    assert "10 % → 15 %" in shown.text
    stale = await client.post("/cemetery/limits", data=_limits(csrf, 1, pw_single_max_m2="0.7"))
    assert stale.status_code == 422 and "已由他人发布第 2 版" in stale.text
    assert await ChecklistTemplate.filter(code=cl.TEMPLATE_CODE).count() == 2

    started = await client.post("/cemetery/campaigns", data={"csrf_token": csrf, "year": "2026"})
    assert started.status_code == 303
    new = await CemeteryInspection.get(cemetery__code="GM002")
    assert new.template_id == v2.id and (await CemeteryInspection.get(id=old.id)).template_id != v2.id

    # The same measured plots (0.55 ㎡ single): over the limit under v1, within it under v2.
    old_task, new_task = await _self_report(engine, old), await _self_report(engine, new)
    csrf = await browser_login(client, "dp_inspector")
    assert "单穴(骨灰) ≤ 0.5 ㎡" in (await client.get(f"/cemetery/tasks/{old_task}/checklist")).text
    assert "单穴(骨灰) ≤ 0.6 ㎡" in (await client.get(f"/cemetery/tasks/{new_task}/checklist")).text
    api = await api_token(client, "dp_inspector")
    for task_id, version, limit in ((old_task, 1, "0.5"), (new_task, 2, "0.6")):
        shown_by_api = (await client.get(f"/api/v1/cemetery/tasks/{task_id}/checklist", headers=api)).json()
        assert (shown_by_api["template"]["version"], shown_by_api["plot_limits_m2"]["single"]) == (version, limit)
    for task_id in (old_task, new_task):
        r = await client.post(f"/cemetery/tasks/{task_id}/checklist", data=_checklist(csrf, "0.55"))
        assert r.status_code == 303, r.text
    old_record = await ChecklistRecord.get(id=(await CemeteryInspection.get(id=old.id)).checklist_record_id)
    new_record = await ChecklistRecord.get(id=(await CemeteryInspection.get(id=new.id)).checklist_record_id)
    assert (await old_record.template).version == 1 and not old_record.passed
    assert [f["item"] for f in old_record.findings] == ["plot_area_pw_single"] * 3
    assert (await new_record.template).version == 2 and new_record.passed
    assert await Rectification.filter(inspection_id=old.id).count() == 3  # one per over-limit plot
    assert await Rectification.filter(inspection_id=new.id).count() == 0


async def test_only_the_city_publishes_and_the_form_needs_csrf(client: Any, engine: Any) -> None:
    await install_cemetery(engine)
    csrf = await browser_login(client, "dp_county")
    page = await client.get("/cemetery/limits")
    assert page.status_code == 200 and "0.5 ㎡" in page.text and "发布第 2 版" not in page.text
    refused = await client.post("/cemetery/limits", data=_limits(csrf, 1, pw_single_max_m2="0.6"))
    assert refused.status_code == 403
    await browser_login(client, "admin")
    no_token = await client.post("/cemetery/limits", data={**_limits("", 1, pw_single_max_m2="0.6"),
                                                           "csrf_token": "wrong"})
    assert no_token.status_code in (400, 403)
    assert await ChecklistTemplate.filter(code=cl.TEMPLATE_CODE).count() == 1
    csrf = csrf_from((await client.get("/cemetery/limits")).text)
    ok = await client.post("/cemetery/limits", data=_limits(csrf, 1, rectification_days="20"))
    assert ok.status_code == 303
    assert (await cl.current_template()).body["parameters"]["rectification_days"] == 20  # type: ignore[union-attr]


async def test_the_acceptance_of_an_earlier_inspection_keeps_its_version(engine: Any) -> None:
    """限期整改 under v1 (0.5 ㎡); v2 raises the limit to 0.7 ㎡; the acceptance of the same plots still fails."""
    await install_cemetery(engine)
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    inspection = await insp.start_inspection(engine, await make_cemetery(), campaign, actor="city_mgr")
    over = [("single", "0.62"), ("single", "0.45"), ("double", "0.75")]
    await to_city_review(engine, inspection, areas=over)
    await review(engine, inspection, "rectify", rectification_days=30)
    await cl.publish_version({"pw_single_max_m2": 0.7}, base_version=1, document_number="眉市民发〔2026〕13号",
                             note="", actor="city_mgr", now=engine.clock.now())
    rectify = await open_task(inspection, "Task_rectify")
    await insp.complete(engine, rectify.id, {"actions_taken": "部分墓位尚未拆除。", "completed_on": "2026-03-20"},
                        actor="th_clerk")
    record = await checklist(engine, inspection, "Task_acceptance", areas=over)
    assert (await record.template).version == 1 and not record.passed
    assert [f["item"] for f in record.findings] == ["plot_area_pw_single"]
    other = await insp.start_inspection(engine, await make_cemetery("GM002"), campaign, actor="city_mgr")
    assert (await to_city_review(engine, other, areas=over)).passed  # a new inspection: 0.62 ≤ 0.7
