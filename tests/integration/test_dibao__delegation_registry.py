from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from engine.models import OrgUnit
from tests.conftest import browser_login
from workflows.dibao.models import AssistanceStandard, Delegation
from workflows.dibao.registry import is_delegated, seed_plan_standards, standard_for


async def test_delegation_applies_from_its_effective_date_only(engine: Any) -> None:
    await Delegation.create(county_code="511402", township_code=None, benefit_type="dibao",
                            effective_from=date(2026, 6, 1), effective_to=date(2027, 1, 1),
                            document_no="眉东民〔2026〕1号", created_by="admin")
    # 2026-05-31 23:30 in Shanghai is still May 31: not delegated yet.
    assert not await is_delegated("511402001", datetime(2026, 5, 31, 15, 30, tzinfo=UTC))
    assert await is_delegated("511402001", datetime(2026, 5, 31, 16, 30, tzinfo=UTC))  # June 1 local
    await OrgUnit.create(code="511402001001", name="幸福社区", level="village", parent_id="511402001",
                         path="/511400/511402/511402001/511402001001/")
    assert await is_delegated("511402001001", date(2026, 12, 31))  # a village resolves to its township
    assert not await is_delegated("511402001", date(2027, 1, 1))  # end date is exclusive
    assert not await is_delegated("511421001", date(2026, 7, 1))  # another county
    assert not await is_delegated("511402001", date(2026, 7, 1), benefit="tekun")


async def test_township_specific_delegation(engine: Any) -> None:
    await Delegation.create(county_code="511402", township_code="511402002", benefit_type="dibao",
                            effective_from=date(2026, 1, 1), document_no="x", created_by="admin")
    assert await is_delegated("511402002", date(2026, 2, 1))
    assert not await is_delegated("511402001", date(2026, 2, 1))


async def test_standard_lookup_prefers_county_then_city_by_date(engine: Any) -> None:
    assert await seed_plan_standards() == 4
    assert await seed_plan_standards() == 0  # idempotent
    s = await standard_for("511402001", "rural", date(2019, 12, 31))
    assert s is not None and s.monthly_amount == Decimal("260")
    s = await standard_for("511402001", "rural", date(2020, 1, 1))
    assert s is not None and s.monthly_amount == Decimal("450")
    await AssistanceStandard.create(county_code="511402", area_type="rural", monthly_amount=Decimal("520"),
                                    effective_from=date(2024, 1, 1), document_no="东坡区")
    s = await standard_for("511402001", "rural", date(2024, 3, 1))
    assert s is not None and s.monthly_amount == Decimal("520")
    s = await standard_for("511421001", "rural", date(2024, 3, 1))
    assert s is not None and s.monthly_amount == Decimal("450")


async def test_admin_registers_delegation_with_validation(client: Any) -> None:
    csrf = await browser_login(client, "admin")
    bad = await client.post("/dibao/delegations", data={
        "csrf_token": csrf, "county_code": "511402", "township_code": "511421001", "benefit_type": "dibao",
        "effective_from": "2026-06-01", "effective_to": "2026-05-01", "document_no": ""})
    assert bad.status_code == 422
    for message in ("不属于所选县(区)", "截止日期必须晚于生效日期", "请填写批准文号"):
        assert message in bad.text
    assert await Delegation.all().count() == 0
    ok = await client.post("/dibao/delegations", data={
        "csrf_token": csrf, "county_code": "511402", "township_code": "511402001", "benefit_type": "dibao",
        "effective_from": "2026-06-01", "effective_to": "", "document_no": "眉东民〔2026〕8号"})
    assert ok.status_code == 303
    row = await Delegation.get()
    assert (row.township_code, row.effective_from, row.effective_to) == ("511402001", date(2026, 6, 1), None)
    listing = await client.get("/dibao/delegations")
    assert "眉东民〔2026〕8号" in listing.text


async def test_standard_form_rejects_bad_amount(client: Any) -> None:
    csrf = await browser_login(client, "admin")
    r = await client.post("/dibao/standards", data={"csrf_token": csrf, "county_code": "", "area_type": "urban",
                                                    "monthly_amount": "abc", "effective_from": "2026-01-01"})
    assert r.status_code == 422 and "请填写大于 0 的金额" in r.text
    r = await client.post("/dibao/standards", data={"csrf_token": csrf, "county_code": "", "area_type": "urban",
                                                    "monthly_amount": "700", "effective_from": "2026-01-01",
                                                    "document_no": "2026 年标准"})
    assert r.status_code == 303
    assert (await AssistanceStandard.get()).monthly_amount == Decimal("700")


async def test_delegation_api_creates_lists_and_validates(client: Any) -> None:
    from tests.conftest import api_token

    admin = await api_token(client, "admin")
    r = await client.post("/api/v1/dibao/delegations", headers=admin, json={
        "county_code": "511402", "township_code": "511402001", "benefit_type": "dibao",
        "effective_from": "2026-06-01", "document_no": "眉东民〔2026〕9号"})
    assert r.status_code == 201 and r.json()["effective_to"] is None
    bad = await client.post("/api/v1/dibao/delegations", headers=admin, json={
        "county_code": "511402", "township_code": "511421001", "benefit_type": "x", "effective_from": "June",
        "document_no": ""})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} == {"township_code", "benefit_type",
                                                                    "effective_from", "document_no"}
    clerk = await api_token(client, "th_clerk")
    assert (await client.post("/api/v1/dibao/delegations", headers=clerk, json={})).status_code == 403
    rs = await api_token(client, "rs_county")  # another county sees none of 东坡区's entries
    assert (await client.get("/api/v1/dibao/delegations", headers=rs)).json() == {"items": []}
    listed = (await client.get("/api/v1/dibao/delegations", headers=clerk)).json()["items"]
    assert [d["document_no"] for d in listed] == []  # a township user does not see its county's registry
    county = await api_token(client, "dp_county")
    listed = (await client.get("/api/v1/dibao/delegations", headers=county)).json()["items"]
    assert [d["document_no"] for d in listed] == ["眉东民〔2026〕9号"]
    assert await is_delegated("511402001", date(2026, 6, 2))
