"""档案查阅记录 (/dibao/views): views of household files across the cases in the user's scope, filtered by viewer
and by local date range, exported as XLSX; a township reviewer sees only their township's cases. SQLite and
PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from tests.conftest import browser_login
from tests.integration.test_dibao__api_scenarios import Api, api_fixture  # noqa: F401 - the `api` fixture
from workflows.dibao.models import CaseFileView, DibaoCase

CASES = [("V-TH", "DB-V-TH", "通惠户", "/511400/511402/511402001/", "511402001", "511402"),
         ("V-DSQ", "DB-V-DSQ", "大石桥户", "/511400/511402/511402002/", "511402002", "511402"),
         ("V-WL", "DB-V-WL", "文林户", "/511400/511421/511421001/", "511421001", "511421")]


async def seed() -> None:
    for instance_id, key, name, path, township, county in CASES:
        await DibaoCase.create(instance_id=instance_id, business_key=key, applicant_name=name, org_unit=township,
                               org_path=path, township_code=township, county_code=county)
    views = [("V-TH", "th_clerk", "511402001", "actor", "web", datetime(2026, 3, 2, 2, tzinfo=UTC)),
             # 23:30 on 10 March in Shanghai (15:30 UTC): counts as 10 March
             ("V-TH", "dp_county", "511402", "supervisor", "api", datetime(2026, 3, 10, 15, 30, tzinfo=UTC)),
             ("V-DSQ", "dp_county", "511402", "supervisor", "web", datetime(2026, 3, 11, 1, tzinfo=UTC)),
             ("V-WL", "rs_county", "511421", "supervisor", "web", datetime(2026, 3, 5, 1, tzinfo=UTC))]
    for case_id, viewer, org, basis, channel, when in views:
        await CaseFileView.create(case_id=case_id, viewer=viewer, viewer_org=org, basis=basis, channel=channel,
                                  viewed_at=when)


def keys(html: str) -> set[str]:
    return {key for _, key, *_ in CASES if f">{key}</a>" in html}


async def test_scope_filters_and_export(api: Api) -> None:
    await seed()
    await browser_login(api.client, "th_clerk")
    assert (await api.client.get("/dibao/views")).status_code == 403  # a clerk is no supervisor

    await browser_login(api.client, "th_reviewer")  # township reviewer: 通惠街道 only
    r = await api.client.get("/dibao/views")
    assert r.status_code == 200 and keys(r.text) == {"DB-V-TH"} and "共 2 条" in r.text
    assert "大石桥户" not in r.text and "文林户" not in r.text and "rs_county" not in r.text
    book = load_workbook(io.BytesIO((await api.client.get("/dibao/views?format=xlsx")).content))
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("查阅时间", "查阅人", "所属单位", "业务编号")
    assert sorted((row[1], row[3]) for row in rows[1:]) == [("dp_county", "DB-V-TH"), ("th_clerk", "DB-V-TH")]
    assert ("2026-03-10 23:30:00", "上级审核", "接口") in [(row[0], row[6], row[7]) for row in rows[1:]]

    await browser_login(api.client, "dp_county")  # county: both 东坡区 townships, not 仁寿县
    r = await api.client.get("/dibao/views")
    assert keys(r.text) == {"DB-V-TH", "DB-V-DSQ"} and "共 3 条" in r.text
    r = await api.client.get("/dibao/views?viewer=th_clerk")
    assert "共 1 条" in r.text and "本案经办" in r.text and "上级审核" not in r.text.split("<tbody>")[1]
    r = await api.client.get("/dibao/views?from=2026-03-10&to=2026-03-10")  # the Shanghai day, not the UTC one
    assert "共 1 条" in r.text and keys(r.text) == {"DB-V-TH"} and "23:30:00" in r.text
    book = load_workbook(io.BytesIO((await api.client.get(
        "/dibao/views?from=2026-03-11&format=xlsx")).content))
    assert book.active is not None and [row[3] for row in book.active.iter_rows(min_row=2, values_only=True)] == [
        "DB-V-DSQ"]
    bad = await api.client.get("/dibao/views?from=2026-02-30&to=2026-03-01")
    assert bad.status_code == 400 and "起始日期无效" in bad.text
    bad = await api.client.get("/dibao/views?from=2026-03-10&to=2026-03-01")
    assert bad.status_code == 400 and "截止日期不能早于起始日期" in bad.text
    assert (await api.client.get("/dibao/views?to=x&format=xlsx")).status_code == 400

    # Opening a file through the page is logged and appears in the list at once.
    assert (await api.client.get("/dibao/cases/V-DSQ")).status_code == 200
    r = await api.client.get("/dibao/views?viewer=dp_county")
    assert "共 3 条" in r.text
