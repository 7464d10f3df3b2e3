"""Per-county amount method (差额法 / 分档法, admin-set, effective-dated, who/when recorded) used by the allowance
service; and 纠正 in the post-audit recording a payment change shown on the case. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.bpmn.test_dibao__paths import APPROVE
from tests.conftest import browser_login
from tests.integration.test_dibao__api_scenarios import TH, WL, Api, api_fixture  # noqa: F401 - the `api` fixture
from workflows.dibao.casefile import record_correction
from workflows.dibao.models import CountyMethod, DibaoCase, PaymentChange, PostAudit


async def approve(api: Api, office: Any, key: str, confirmer: str) -> dict[str, Any]:
    case = await api.start(office, key)
    await api.to_publicity(office, case)
    await api.end_publicity()
    done: dict[str, Any] = await api.complete(confirmer, case, "Task_confirm", APPROVE)
    return done


async def test_admin_sets_the_method_with_validation_and_a_record_of_who(api: Api) -> None:
    csrf = await browser_login(api.client, "dp_county")
    assert (await api.client.get("/dibao/methods")).status_code == 403  # admins only
    csrf = await browser_login(api.client, "admin")
    r = await api.client.post("/dibao/methods", data={"county_code": "511402", "method": "banded",
                                                      "effective_from": "2026-03-01"})
    assert r.status_code == 403  # no CSRF token
    r = await api.client.post("/dibao/methods", data={"csrf_token": csrf, "county_code": "511402001",
                                                      "method": "ratio", "effective_from": "2026-02-30"})
    assert r.status_code == 422
    for message in ("请选择您管理范围内的县(区)", "请选择差额法或分档法", "请填写有效的生效日期"):
        assert message in r.text
    assert await CountyMethod.all().count() == 0
    r = await api.client.post("/dibao/methods", data={"csrf_token": csrf, "county_code": "511402",
                                                      "method": "banded", "effective_from": "2026-03-01",
                                                      "document_no": "眉东民发〔2026〕5号"})
    assert r.status_code == 303
    row = await CountyMethod.get(county_code="511402")
    assert (row.method, row.effective_from, row.created_by) == ("banded", date(2026, 3, 1), "admin")
    assert row.created_at is not None
    page = await api.client.get("/dibao/methods")
    assert "分档法" in page.text and "眉东民发〔2026〕5号" in page.text and "admin" in page.text


async def test_allowance_uses_the_county_method_in_force_on_the_decision_day(api: Api) -> None:
    csrf = await browser_login(api.client, "admin")
    for county, start in (("511402", "2026-03-01"), ("511421", "2026-04-01")):  # 仁寿县 only later
        r = await api.client.post("/dibao/methods", data={"csrf_token": csrf, "county_code": county,
                                                          "method": "banded", "effective_from": start})
        assert r.status_code == 303
    banded = await approve(api, TH, "DB-M-1", "th_reviewer")
    # urban S 630, per capita 300 < 0.50 × 630 → band share 0.65: 0.65 × 630 × 3 = 1228.50
    assert banded["data"]["monthly_amount"] == 1228.5 and "分档法" in banded["data"]["amount_explanation"]
    gap = await approve(api, WL, "DB-M-2", "rs_county")  # decided 2026-03-09: 仁寿县 still on the gap method
    assert gap["data"]["monthly_amount"] == 990.0 and "差额法" in gap["data"]["amount_explanation"]
    case = await DibaoCase.get(business_key="DB-M-1")
    assert case.monthly_amount == Decimal("1228.50") and "分档法" in (case.amount_explanation or "")


async def test_correction_records_a_payment_change_shown_on_the_case(api: Api) -> None:
    done = await approve(api, TH, "DB-C-1", "th_reviewer")
    case_id = done["id"]
    csrf = await browser_login(api.client, "dp_county")
    r = await api.client.post("/dibao/post-audit", data={"csrf_token": csrf, "action": "draw",
                                                         "county_code": "511402", "period": "2026-03"})
    assert r.status_code == 303
    audit = await PostAudit.get(case_id=case_id)
    bad = await api.client.post("/dibao/post-audit", data={
        "csrf_token": csrf, "audit_id": str(audit.id), "outcome": "corrected", "opinion": "收入核算有误",
        "change_kind": "adjust", "new_amount": "-5", "effective_from": "2026-04-01"})
    assert bad.status_code == 422 and "调整后的月保障金额" in bad.text
    assert await PaymentChange.all().count() == 0 and (await PostAudit.get(id=audit.id)).outcome is None
    ok = await api.client.post("/dibao/post-audit", data={
        "csrf_token": csrf, "audit_id": str(audit.id), "outcome": "corrected", "opinion": "经营收入漏报,调减金额",
        "change_kind": "adjust", "new_amount": "500", "effective_from": "2026-04-01"})
    assert ok.status_code == 303
    change = await PaymentChange.get(case_id=case_id)
    assert (change.kind, change.previous_amount, change.new_amount, change.effective_from, change.created_by) == (
        "adjust", Decimal("990.00"), Decimal("500.00"), date(2026, 4, 1), "dp_county")
    assert change.audit_id == audit.id and (await PostAudit.get(id=audit.id)).outcome == "corrected"
    page = await api.client.get(f"/dibao/cases/{case_id}")
    assert "调整金额" in page.text and "500.00" in page.text and "经营收入漏报" in page.text
    assert "2026-04-01" in page.text
    file = await api.get("dp_county", f"/dibao/cases/{case_id}")
    assert file["current_monthly_amount"] == "500.00" and file["monthly_amount"] == "990.00"
    assert [(c["kind"], c["new_amount"], c["created_by"]) for c in file["payment_changes"]] == [
        ("adjust", "500.00", "dp_county")]


async def test_stop_payment_and_refusals(api: Api) -> None:
    case = await DibaoCase.create(instance_id="C-STOP", org_unit="511402001", org_path="/511400/511402/511402001/",
                                  township_code="511402001", county_code="511402", delegated=True,
                                  decision="approve", monthly_amount=Decimal("450"),
                                  decided_at=datetime(2026, 3, 10, 2, tzinfo=UTC))
    audit = await PostAudit.create(case=case, county_code="511402", township_code="511402001", period="2026-03",
                                   reason="sampled")
    now = datetime(2026, 4, 2, 2, tzinfo=UTC)
    for kind, amount, start, reason, message in [
        ("", "", "2026-04-01", "家庭收入已超标准", "停发或调整"),
        ("stop", "", "2026-13-01", "家庭收入已超标准", "生效日期"),
        ("stop", "", "2026-04-01", "超", "理由"),
    ]:
        with pytest.raises(ValueError, match=message):
            await record_correction(audit, kind, amount, start, reason, "dp_county", now)
    change = await record_correction(audit, "stop", "", "2026-05-01", "家庭收入已超过当地标准", "dp_county", now)
    assert (change.kind, change.new_amount, change.previous_amount) == ("stop", None, Decimal("450.00"))
    with pytest.raises(ValueError, match="已有审计结论"):
        await record_correction(audit, "stop", "", "2026-05-01", "再次纠正一次", "dp_county", now)
    assert await PaymentChange.filter(case_id="C-STOP").count() == 1
