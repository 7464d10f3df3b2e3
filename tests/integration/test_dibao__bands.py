"""Per-county band tables of the banded method: edited by admins on /dibao/methods (validated, Chinese errors,
nothing stored on error), and the allowance uses the table in force on the decision day (both sides of an
effective date). Real diagram, real services, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.bpmn.test_dibao__paths import APPROVE
from tests.conftest import browser_login
from tests.integration.test_dibao__api_scenarios import TH, Api, api_fixture  # noqa: F401 - the `api` fixture
from workflows.dibao.models import CountyBands, DibaoCase
from workflows.dibao.registry import local_date


def band_form(csrf: str, county: str, start: str, rows: list[tuple[str, str, str]], doc: str = "") -> dict[str, str]:
    data = {"csrf_token": csrf, "county_code": county, "effective_from": start, "document_no": doc}
    for i, (lower, upper, pay) in enumerate(rows):
        data |= {f"from_{i}": lower, f"to_{i}": upper, f"pay_{i}": pay}
    return data


async def test_admin_edits_the_band_table_with_validation(api: Api) -> None:
    csrf = await browser_login(api.client, "dp_county")
    r = await api.client.post("/dibao/methods/bands", data=band_form(csrf, "511402", "2026-01-01",
                                                                     [("0", "1", "0.5")]))
    assert r.status_code == 403  # admins only
    csrf = await browser_login(api.client, "admin")
    r = await api.client.post("/dibao/methods/bands", data={k: v for k, v in band_form(
        csrf, "511402", "2026-01-01", [("0", "1", "0.5")]).items() if k != "csrf_token"})
    assert r.status_code == 403  # no CSRF token
    r = await api.client.post("/dibao/methods/bands", data=band_form(
        csrf, "511402001", "2026-02-30", [("0", "0.3", "0.9"), ("0.4", "1", "-1")]))
    assert r.status_code == 422
    for message in ("请选择您管理范围内的县(区)", "请填写有效的生效日期", "第 2 档的下限 0.4 应等于上一档的上限 0.3",
                    "第 2 档的发放比例应在 0 到 1 之间"):
        assert message in r.text
    assert 'value="0.4"' in r.text  # what was typed is kept
    assert await CountyBands.all().count() == 0
    r = await api.client.post("/dibao/methods/bands", data=band_form(
        csrf, "511402", "2026-01-01", [("0", "0.5", "0.8"), ("0.5", "1", "0.3")], "眉东民发〔2026〕7号"))
    assert r.status_code == 303
    row = await CountyBands.get(county_code="511402")
    assert row.bands == [{"from": "0", "to": "0.5", "pay": "0.8"}, {"from": "0.5", "to": "1", "pay": "0.3"}]
    assert (str(row.effective_from), row.created_by, row.document_no) == ("2026-01-01", "admin", "眉东民发〔2026〕7号")
    page = await api.client.get("/dibao/methods")
    assert "[0.5S, 1S) 发 0.3S" in page.text and "眉东民发〔2026〕7号" in page.text


async def test_allowance_uses_the_band_table_in_force_on_the_decision_day(api: Api) -> None:
    csrf = await browser_login(api.client, "admin")
    r = await api.client.post("/dibao/methods", data={"csrf_token": csrf, "county_code": "511402",
                                                      "method": "banded", "effective_from": "2026-01-01"})
    assert r.status_code == 303
    first = await api.start(TH, "DB-B-1")
    await api.to_publicity(TH, first)
    await api.end_publicity()
    decision_day = local_date(api.clock.now())
    change_day = decision_day + timedelta(days=1)
    for start, rows in (("2026-01-01", [("0", "0.5", "0.8"), ("0.5", "1", "0.3")]),
                        (change_day.isoformat(), [("0", "0.4", "0.9"), ("0.4", "1", "0.5")])):
        r = await api.client.post("/dibao/methods/bands", data=band_form(csrf, "511402", start, rows))
        assert r.status_code == 303, r.text
    # The day before the new table: per capita 300 (900 / 3) < 0.5 × 630 → 0.8 × 630 × 3
    done: dict[str, Any] = await api.complete("th_reviewer", first, "Task_confirm", APPROVE)
    assert done["data"]["monthly_amount"] == 1512.0
    assert "分档表:东坡区 2026-01-01 起" in done["data"]["amount_explanation"]
    second = await api.start(TH, "DB-B-2")
    await api.to_publicity(TH, second)
    await api.end_publicity()
    assert local_date(api.clock.now()) >= change_day
    # From the new table's date: 300 ≥ 0.4 × 630 → second band, 0.5 × 630 × 3
    done = await api.complete("th_reviewer", second, "Task_confirm", APPROVE)
    assert done["data"]["monthly_amount"] == 945.0
    assert f"分档表:东坡区 {change_day.isoformat()} 起" in done["data"]["amount_explanation"]
    case = await DibaoCase.get(business_key="DB-B-2")
    assert f"东坡区 {change_day.isoformat()} 起" in (case.amount_explanation or "")
