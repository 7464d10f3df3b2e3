from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from openpyxl import load_workbook

from engine.models import HumanTask
from engine.runtime import Engine
from tests.conftest import browser_login
from workflows.dibao.models import DibaoCase


async def _case(n: int, township: str, delegated: bool, days: int) -> None:
    accepted = datetime(2026, 11, 2, 2, tzinfo=UTC)  # Monday 10:00 Shanghai
    await DibaoCase.create(instance_id=f"c-{n}", org_unit=township, org_path=f"/511400/511402/{township}/",
                           township_code=township, county_code="511402", delegated=delegated, accepted_at=accepted,
                           decided_at=accepted + timedelta(days=days), decision="approve")


async def test_dashboard_shows_kpis_against_targets_and_exports(engine: Engine, client: Any) -> None:
    await _case(1, "511402001", True, 14)  # 10 working days
    await _case(2, "511402001", True, 35)  # 25 working days
    await _case(3, "511402002", False, 21)  # 15 working days
    inst = await engine.start("showcase", org_unit="511402001", actor="th_clerk", business_key="LATE-1")
    task = await HumanTask.get(instance_id=inst.id)
    task.due_at = engine.clock.now() - timedelta(days=2)
    await task.save()
    await browser_login(client, "city_mgr")
    r = await client.get("/dashboard?year=2026")
    assert r.status_code == 200
    text = r.text
    assert "低保平均办理时间(委托乡镇)" in text and "17.5 工作日" in text  # (10 + 25) / 2
    assert "p90 25 工作日" in text and "1 件,p90 15 工作日" in text
    assert text.count('class="kpi kpi-met" href="/dibao/cases?view=closed"') == 2  # 17.5 ≤ 20 and 15 ≤ 30
    assert 'href="/inbox?view=scope&amp;due=overdue&amp;org=511402001"' in text
    assert "社会组织年检率(2025 年度)" in text and "暂无数据" in text
    await _case(4, "511402002", False, 70)  # 50 working days: the county average becomes 32.5 > 30
    text = (await client.get("/dashboard?year=2026")).text
    assert 'class="kpi kpi-missed" href="/dibao/cases?view=closed"' in text and "32.5 工作日" in text
    x = await client.get("/dashboard/export/tasks.xlsx")
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None and [c.value for c in sheet[2]][0] == "受理 · LATE-1"
    k = await client.get("/dashboard/export/kpis.xlsx?year=2026")
    assert load_workbook(io.BytesIO(k.content)).active["A2"].value == "社会组织年检率(2025 年度)"  # type: ignore[index]


async def test_dashboard_is_for_supervisors_and_scoped(engine: Engine, client: Any) -> None:
    await _case(1, "511402001", True, 14)
    await browser_login(client, "th_clerk")
    assert (await client.get("/dashboard")).status_code == 403
    await browser_login(client, "rs_county")  # 仁寿县: 东坡区's case is outside its scope
    text = (await client.get("/dashboard?year=2026")).text
    assert "0 件,p90 — 工作日" in text


async def test_every_dashboard_number_links_to_its_list(engine: Engine, client: Any) -> None:
    import re

    await browser_login(client, "city_mgr")
    html = (await client.get("/dashboard?year=2026")).text
    kpis = re.findall(r'<a class="kpi [^"]*" href="([^"]+)"', html)
    assert kpis and all(h.startswith("/") for h in kpis)
    assert html.count('<a href="/dibao/cases?view=closed">') == 2  # delegated and county-confirmed counts
    assert html.count('<a href="/projects">') >= 4  # one per evaluation grade, and the library
    assert 'href="/inbox?view=scope&due=overdue"' in html
