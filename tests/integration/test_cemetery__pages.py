"""公墓年检 pages: register, checklist entry with inline over-limit flags and Chinese errors, status, progress."""

from __future__ import annotations

from typing import Any

from engine.models import User
from tests.cemetery_helpers import checklist, install_cemetery, make_cemetery, open_task, review
from tests.conftest import browser_login
from workflows.cemetery import inspection as insp
from workflows.cemetery.checklist import CHECK_ITEMS
from workflows.cemetery.models import Cemetery, CemeteryInspection, Rectification


async def _setup(engine: Any, password_hash: str) -> CemeteryInspection:
    await install_cemetery(engine)
    await User.create(username="dp_inspector", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=password_hash)
    c = await make_cemetery()
    await make_cemetery("RS1", county="511421", township="511421001", name="仁寿演示公墓")
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    inspection = await insp.start_inspection(engine, c, campaign, actor="city_mgr")
    task = await open_task(inspection, "Task_self_report")
    await insp.complete(engine, task.id, {"submitted_on": "2026-03-05", "burials_this_year": 1,
                                          "plots_sold_this_year": 1, "report_summary": "自查未发现问题,材料齐全。"},
                        actor="th_clerk")
    return inspection


def _form(csrf: str, action: str, rows: list[tuple[str, str, str]], **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf_token": csrf, "action": action, "plot_label": [r[0] for r in rows],
                            "plot_kind": [r[1] for r in rows], "plot_area": [r[2] for r in rows],
                            "eco_plots": "120", "total_plots": "800", "notes": "", "opinion": ""}
    data.update(extra)
    return data


async def test_register_list_and_detail_are_scoped_and_chinese(client: Any, engine: Any, password_hash: str) -> None:
    await _setup(engine, password_hash)
    await browser_login(client, "dp_county")
    page = await client.get("/cemetery")
    assert page.status_code == 200
    assert "公墓登记与年检" in page.text and "演示公墓GM001" in page.text and "仁寿演示公墓" not in page.text
    other = await Cemetery.get(code="RS1")
    assert (await client.get(f"/cemetery/{other.id}")).status_code == 404
    own = await Cemetery.get(code="GM001")
    detail = await client.get(f"/cemetery/{own.id}")
    assert detail.status_code == 200 and "年检记录" in detail.text and "县级实地检查" in detail.text
    fragment = await client.get("/cemetery?type=commercial", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "没有符合条件的公墓" in fragment.text


async def test_checklist_page_flags_oversized_plots_and_validates(client: Any, engine: Any,
                                                                  password_hash: str) -> None:
    inspection = await _setup(engine, password_hash)
    task = await open_task(inspection, "Task_onsite")
    csrf = await browser_login(client, "dp_inspector")
    listing = await client.get("/cemetery")
    assert f"/cemetery/tasks/{task.id}/checklist" in listing.text  # 待我检查
    url = f"/cemetery/tasks/{task.id}/checklist"
    page = await client.get(url)
    assert page.status_code == 200 and "单穴(骨灰) ≤ 0.5 ㎡" in page.text
    assert 'name="csrf_token"' in page.text
    rows = [("A-1", "single", "0.62"), ("A-2", "double", "0.75"), ("A-3", "single", "abc")]
    check = await client.post(url, data=_form(csrf, "check", rows))
    assert check.status_code == 422
    assert "超标:0.62 ㎡ > 限值 0.5 ㎡" in check.text and "第 3 行:实测面积须为大于 0 的数字" in check.text
    fragment = await client.post(url, data=_form(csrf, "check", rows[:2]), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "共 1 个墓位超过占地面积限值" in fragment.text
    incomplete = await client.post(url, data=_form(csrf, "submit", rows[:2]))
    assert incomplete.status_code == 422
    for message in ("请选择“符合”或“不符合”", "请至少录入 3 个实测墓位", "请填写检查意见"):
        assert message in incomplete.text
    assert await Rectification.all().count() == 0
    answers = {f"check_{code}": "ok" for code in CHECK_ITEMS}
    answers["check_prices_posted"] = "fail"
    answers["note_prices_posted"] = "未公示收费标准"
    ok = await client.post(url, data=_form(csrf, "submit", [*rows[:2], ("A-3", "single", "0.4")],
                                           opinion="墓位超标,收费未公示。", **answers))
    assert ok.status_code == 303, ok.text
    fresh = await CemeteryInspection.get(id=inspection.id)
    assert fresh.stage == "city_review" and fresh.checklist_record_id is not None
    assert {r.item for r in await Rectification.filter(inspection_id=inspection.id)} == {"plot_area_pw_single",
                                                                                        "prices_posted"}
    record = await client.get(f"/cemetery/records/{fresh.checklist_record_id}")
    assert record.status_code == 200 and "超过限值" in record.text and "第十九条" in record.text


async def test_checklist_page_refuses_other_roles(client: Any, engine: Any, password_hash: str) -> None:
    inspection = await _setup(engine, password_hash)
    task = await open_task(inspection, "Task_onsite")
    csrf = await browser_login(client, "dp_county")  # sees the task, is not an inspector
    page = await client.get(f"/cemetery/tasks/{task.id}/checklist")
    assert page.status_code == 200 and "不能办理" in page.text and "提交检查表" not in page.text
    r = await client.post(f"/cemetery/tasks/{task.id}/checklist", data=_form(csrf, "submit", []))
    assert r.status_code == 403
    await browser_login(client, "rs_county")
    assert (await client.get(f"/cemetery/tasks/{task.id}/checklist")).status_code == 404


async def test_status_form_refuses_reopening_a_frozen_cemetery(client: Any, engine: Any,
                                                               password_hash: str) -> None:
    inspection = await _setup(engine, password_hash)
    await to_checklist_and_freeze(engine, inspection)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)
    assert cemetery.status == "sales_frozen"
    csrf = await browser_login(client, "dp_county")
    r = await client.post(f"/cemetery/{cemetery.id}/status", data={"csrf_token": csrf, "status": "open",
                                                                   "reason": "经营单位申请"})
    assert r.status_code == 422 and "须整改验收合格后方可恢复销售" in r.text
    r = await client.post(f"/cemetery/{cemetery.id}/status", data={"csrf_token": csrf, "status": "open",
                                                                   "reason": ""})
    assert r.status_code == 422 and "请填写变更原因" in r.text
    assert (await Cemetery.get(id=cemetery.id)).status == "sales_frozen"
    csrf = await browser_login(client, "th_clerk")
    r = await client.post(f"/cemetery/{cemetery.id}/status", data={"csrf_token": csrf, "status": "open",
                                                                   "reason": "x"})
    assert r.status_code == 403


async def to_checklist_and_freeze(engine: Any, inspection: CemeteryInspection) -> None:
    await checklist(engine, inspection, "Task_onsite", areas=[("single", "0.7")] * 3)
    await review(engine, inspection, "rectify", rectification_days=10)


async def test_progress_page_and_campaign_start(client: Any, engine: Any, password_hash: str) -> None:
    inspection = await _setup(engine, password_hash)
    await to_checklist_and_freeze(engine, inspection)
    csrf = await browser_login(client, "city_mgr")
    page = await client.get("/cemetery/progress?year=2026")
    assert page.status_code == 200
    for text in ("2026 年度公墓年检进度", "东坡区", "仁寿县", "合格率", "生态安葬墓位占比", "逾期未整改事项"):
        assert text in page.text
    r = await client.post("/cemetery/campaigns", data={"csrf_token": csrf, "year": "2026"})
    assert r.status_code == 303
    assert await CemeteryInspection.filter(year=2026).count() == 2  # RS1 started, GM001 not twice
    csrf = await browser_login(client, "dp_county")
    r = await client.post("/cemetery/campaigns", data={"csrf_token": csrf, "year": "2026"})
    assert r.status_code == 403

