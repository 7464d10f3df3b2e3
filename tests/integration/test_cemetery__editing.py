"""Editing the cemetery register from the pages (registration data, documents with expiry) and reporting progress on
rectification items (note, evidence, 已整改): in scope only, Chinese errors that lose nothing, audited.
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from engine.models import Attachment, AuditEvent, User
from tests.cemetery_helpers import checklist, install_cemetery, make_cemetery, open_task, png, review, to_city_review
from tests.conftest import browser_login
from workflows.cemetery import inspection as insp
from workflows.cemetery.models import Cemetery, CemeteryDocument, Rectification

NEW = {"code": "GY900", "name": "大石桥公益性公墓", "cemetery_type": "public_welfare", "area_kind": "rural",
       "township_code": "511402002", "operator": "大石桥街道办事处", "area_m2": "4200.5", "plots_single": "300",
       "plots_double": "80", "plots_ashes": "380", "plots_body": "", "plots_eco": "60",
       "prices": "骨灰单穴(本村村民),1200,元/穴\n生态葬,0,元/位"}


async def test_county_registers_a_cemetery_in_its_scope_with_chinese_errors(client: Any, engine: Any) -> None:
    csrf = await browser_login(client, "dp_county")
    assert "登记公墓" in (await client.get("/cemetery")).text
    bad = {**NEW, "csrf_token": csrf, "township_code": "511421001", "area_m2": "-1", "name": " ",
           "prices": "骨灰单穴 1200"}
    r = await client.post("/cemetery/new", data=bad)
    assert r.status_code == 422
    for message in ("请选择您管辖范围内的乡镇", "占地面积须为大于 0 的数字", "请填写公墓名称", "收费标准第 1 行应为"):
        assert message in r.text
    assert "大石桥街道办事处" in r.text  # what was typed is kept
    assert await Cemetery.all().count() == 0
    r = await client.post("/cemetery/new", data={**NEW, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    c = await Cemetery.get(code="GY900")
    assert (c.county_code, c.org_path, c.plots_body, c.status) == ("511402", "/511400/511402/511402002/", 0, "open")
    assert c.prices == [{"item": "骨灰单穴(本村村民)", "price": "1200", "unit": "元/穴"},
                        {"item": "生态葬", "price": "0", "unit": "元/位"}]
    again = await client.post("/cemetery/new", data={**NEW, "csrf_token": csrf})
    assert again.status_code == 422 and "该编号已登记" in again.text
    assert await AuditEvent.filter(action="cemetery.registered", actor="dp_county").count() == 1


async def test_edit_and_documents_with_expiry(client: Any, engine: Any) -> None:
    c = await make_cemetery()
    csrf = await browser_login(client, "dp_county")
    page = await client.get(f"/cemetery/{c.id}/edit")
    assert page.status_code == 200 and "演示公墓GM001" in page.text
    r = await client.post(f"/cemetery/{c.id}/edit", data={**NEW, "csrf_token": csrf, "operator": "通惠街道办事处",
                                                          "code": "HACK", "township_code": "511402002"})
    assert r.status_code == 303, r.text
    c = await Cemetery.get(id=c.id)
    assert (c.code, c.township_code, c.operator, c.name) == ("GM001", "511402001", "通惠街道办事处", "大石桥公益性公墓")
    event = await AuditEvent.get(action="cemetery.updated")
    assert event.payload["changed"]["operator"] == ["村委会", "通惠街道办事处"]
    url = f"/cemetery/{c.id}/documents"
    r = await client.post(url, data={"csrf_token": csrf, "kind": "operating_licence", "number": "川民殡许〔2016〕9号",
                                     "issued_on": "2026-01-01", "expires_on": "2025-12-31"})
    assert r.status_code == 422 and "有效期至须晚于发证日期" in r.text and "川民殡许〔2016〕9号" in r.text
    assert await CemeteryDocument.all().count() == 0
    # The fake clock is 2026-03-02: one licence expired, one expiring within 90 days, one without expiry.
    for kind, number, expires in (("operating_licence", "川民殡许〔2016〕9号", "2026-02-28"),
                                  ("price_approval", "眉发改价〔2024〕3号", "2026-05-01"),
                                  ("land", "眉自然资用〔2019〕7号", "")):
        r = await client.post(url, data={"csrf_token": csrf, "kind": kind, "number": number, "issued_by": "省民政厅",
                                         "issued_on": "2016-03-01", "expires_on": expires})
        assert r.status_code == 303, r.text
    detail = (await client.get(f"/cemetery/{c.id}")).text
    assert "已过期" in detail and "即将到期" in detail and "长期" in detail
    doc = await CemeteryDocument.get(kind="operating_licence")
    r = await client.post(f"/cemetery/{c.id}/documents/{doc.id}/delete", data={"csrf_token": csrf})
    assert r.status_code == 303 and await CemeteryDocument.all().count() == 2
    assert await AuditEvent.filter(action__in=["cemetery.document_added", "cemetery.document_removed"]).count() == 4


async def test_editing_is_for_bureau_staff_in_scope(client: Any, engine: Any) -> None:
    c = await make_cemetery()
    csrf = await browser_login(client, "th_clerk")
    assert (await client.get(f"/cemetery/{c.id}/edit")).status_code == 403
    assert (await client.post("/cemetery/new", data={**NEW, "csrf_token": csrf})).status_code == 403
    csrf = await browser_login(client, "rs_county")
    assert (await client.get(f"/cemetery/{c.id}/edit")).status_code == 404
    r = await client.post(f"/cemetery/{c.id}/documents", data={"csrf_token": csrf, "kind": "land", "number": "x"})
    assert r.status_code == 404
    assert await CemeteryDocument.all().count() == 0 and await Cemetery.all().count() == 1


async def test_township_reports_rectification_progress_with_evidence(client: Any, engine: Any) -> None:
    await install_cemetery(engine)
    c = await make_cemetery()
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    inspection = await insp.start_inspection(engine, c, campaign, actor="city_mgr")
    await to_city_review(engine, inspection, areas=[("single", "0.7"), ("single", "0.4"), ("double", "0.7")])
    await review(engine, inspection, "rectify", rectification_days=30)
    rect = await Rectification.get(inspection_id=inspection.id)
    url = f"/cemetery/rectifications/{rect.id}"
    csrf = await browser_login(client, "th_clerk")
    detail = await client.get(f"/cemetery/{c.id}")
    assert "更新整改进展" in detail.text
    empty = await client.post(url, data={"csrf_token": csrf, "progress": " "})
    assert empty.status_code == 422 and "请填写整改进展" in empty.text
    bad = await client.post(url, data={"csrf_token": csrf, "progress": "已拆除超标墓基。", "done": "1"},
                            files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert bad.status_code == 422 and "不支持该文件类型" in bad.text and "已拆除超标墓基。" in bad.text
    fresh = await Rectification.get(id=rect.id)
    assert (fresh.progress, fresh.reported_done_at, fresh.evidence) == (None, None, None)
    ok = await client.post(url, data={"csrf_token": csrf, "progress": "已拆除超标墓基。", "done": "1"},
                           files={"file": ("整改后.png", png(), "image/png")})
    assert ok.status_code == 303, ok.text
    fresh = await Rectification.get(id=rect.id)
    assert fresh.progress == "已拆除超标墓基。" and fresh.progress_by == "th_clerk" and fresh.reported_done_at
    evidence = await Attachment.get(id=fresh.evidence[0])
    assert str(evidence.task_id) == str((await open_task(inspection, "Task_rectify")).id)
    page = (await client.get(f"/cemetery/{c.id}")).text
    assert "已整改,待验收" in page and "整改后.png" in page
    await browser_login(client, "rs_county")
    assert (await client.post(url, data={"csrf_token": csrf, "progress": "x"})).status_code in (403, 404)
    # Acceptance passes: the item is verified and takes no more updates.
    task = await open_task(inspection, "Task_rectify")
    await insp.complete(engine, task.id, {"actions_taken": "拆除超标墓基。", "completed_on": "2026-03-10"},
                        actor="th_clerk")
    await User.create(username="dp_inspector", display_name="检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash="x")
    await checklist(engine, inspection, "Task_acceptance")
    csrf = await browser_login(client, "th_clerk")
    late = await client.post(url, data={"csrf_token": csrf, "progress": "补充说明。"})
    assert late.status_code == 422 and "已验收或关闭" in late.text
    assert (await Rectification.get(id=rect.id)).status == "verified"


async def test_ids_beyond_the_integer_column_are_404_not_a_database_error(client: Any, engine: Any) -> None:
    c = await make_cemetery()
    csrf = await browser_login(client, "dp_county")
    huge = 2**40
    for url in (f"/cemetery/{huge}", f"/cemetery/{huge}/edit", f"/cemetery/inspections/{huge}/report",
                f"/cemetery/records/{huge}"):
        assert (await client.get(url)).status_code == 404, url
    for url in (f"/cemetery/rectifications/{huge}", f"/cemetery/{c.id}/documents/{huge}/delete"):
        assert (await client.post(url, data={"csrf_token": csrf, "progress": "x"})).status_code == 404, url
