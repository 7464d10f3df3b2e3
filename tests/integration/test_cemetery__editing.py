"""Editing the cemetery register from the pages: registration data and documents with expiry, in scope only,
Chinese errors that lose nothing, every change audited. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from engine.models import AuditEvent
from tests.cemetery_helpers import make_cemetery
from tests.conftest import browser_login
from workflows.cemetery.models import Cemetery, CemeteryDocument

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
