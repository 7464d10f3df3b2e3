"""公墓年检 figures: each one links to the list behind it, the lists add up to the figure, and the XLSX carries the
same figures (hand-computed values); display names instead of usernames on the pages. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from engine.models import User
from tests.cemetery_helpers import install_cemetery, make_cemetery, review, to_city_review
from tests.conftest import browser_login
from workflows.cemetery import inspection as insp
from workflows.cemetery.models import Rectification

OVER = [("single", "0.62"), ("double", "0.75"), ("single", "0.45")]


async def _campaign(engine: Any, password_hash: str) -> None:
    """东坡区: A 合格 (eco 10 / 100), B 限期整改 due in 10 days (30 / 200), D commercial not started
    (900 / 1000, outside the eco share), E closed; 仁寿县: C started (0 / 100)."""
    await install_cemetery(engine)
    await User.create(username="dp_inspector", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=password_hash)
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    a = await make_cemetery("A", plots_single=100, plots_double=0, plots_eco=10)
    b = await make_cemetery("B", township="511402002", plots_single=100, plots_double=100, plots_eco=30)
    c = await make_cemetery("C", county="511421", township="511421001", plots_single=50, plots_double=50,
                            plots_eco=0)
    await make_cemetery("D", cemetery_type="commercial", plots_single=1000, plots_double=0, plots_eco=900)
    await make_cemetery("E", status="closed", plots_single=500, plots_double=0, plots_eco=500)
    passed = await insp.start_inspection(engine, a, campaign, actor="city_mgr")
    await to_city_review(engine, passed)
    await review(engine, passed, "pass")
    rectify = await insp.start_inspection(engine, b, campaign, actor="city_mgr")
    await to_city_review(engine, rectify, areas=OVER)
    await review(engine, rectify, "rectify", rectification_days=10)
    await insp.start_inspection(engine, c, campaign, actor="city_mgr")


def _names(html: str) -> list[str]:
    """Cemetery names of the register list (演示公墓<code>)."""
    return sorted(re.findall(r">演示公墓(\w+)</a>", html))


async def test_each_figure_links_to_the_list_behind_it(client: Any, engine: Any, password_hash: str) -> None:
    await _campaign(engine, password_hash)
    await browser_login(client, "city_mgr")
    page = (await client.get("/cemetery/progress?year=2026")).text
    assert "50.0%" in page and "10.0%" in page  # 合格率 1 / 2; eco (10 + 30 + 0) / (100 + 200 + 100)
    expected = {  # link on the progress page → the cemeteries it lists
        "/cemetery?year=2026&amp;county=511402&amp;result=due": ["A", "B", "D"],
        "/cemetery?year=2026&amp;county=511402&amp;result=started": ["A", "B"],
        "/cemetery?year=2026&amp;county=511402&amp;result=published": ["A", "B"],
        "/cemetery?year=2026&amp;county=511402&amp;result=pass": ["A"],
        "/cemetery?year=2026&amp;county=511402&amp;result=rectify": ["B"],
        "/cemetery?year=2026&amp;county=511421&amp;result=started": ["C"],
        "/cemetery?year=2026&amp;result=due": ["A", "B", "C", "D"],
        "/cemetery?year=2026&amp;result=pass": ["A"],
        "/cemetery?year=2026&amp;result=published": ["A", "B"],
        "/cemetery?year=2026&amp;type=public_welfare&amp;result=due": ["A", "B", "C"],
    }
    for href, names in expected.items():
        assert f'href="{href}"' in page, href
        listing = await client.get(href.replace("&amp;", "&"))
        assert listing.status_code == 200 and _names(listing.text) == names, href
    assert 'href="/cemetery?year=2026&amp;county=511402&amp;result=defer"' not in page  # zero: no link
    eco_list = (await client.get("/cemetery?year=2026&type=public_welfare&result=due")).text
    assert "单穴、双穴墓位合计 400 个,其中生态安葬墓位 40 个(占 10.0%)" in eco_list
    assert _names((await client.get("/cemetery?year=2026&result=unstarted")).text) == ["D"]
    assert _names((await client.get("/cemetery?year=2025&result=started")).text) == []
    assert _names((await client.get("/cemetery?result=nonsense")).text) == ["A", "B", "C", "D", "E"]

    # Overdue: B's item, 11 days after the decision (due in 10); the card links to the list on the page.
    engine.clock.advance(timedelta(days=11))
    page = (await client.get("/cemetery/progress?year=2026")).text
    assert '<a href="#overdue">1</a>' in page and 'id="overdue"' in page
    b_id = (await Rectification.get()).inspection_id
    assert "演示公墓B</a>" in page and "#rectifications" in page and b_id


async def test_the_export_carries_the_figures(client: Any, engine: Any, password_hash: str) -> None:
    await _campaign(engine, password_hash)
    engine.clock.advance(timedelta(days=11))
    await browser_login(client, "city_mgr")
    r = await client.get("/cemetery/progress.xlsx?year=2026")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["2026年度公墓年检结果", "各县年检进度", "统计指标", "逾期未整改"]
    progress = [[c.value for c in row] for row in wb["各县年检进度"].iter_rows()]
    assert progress[1:] == [["东坡区", 3, 2, 2, 1, 1, 0, "66.7%"], ["仁寿县", 1, 1, 0, 0, 0, 0, "0.0%"],
                            ["合计", 4, 3, 2, 1, 1, 0, "50.0%"]]
    figures = {row[0].value: [c.value for c in row[1:]] for row in wb["统计指标"].iter_rows(min_row=2)}
    assert figures["年检完成率(已公布 / 应检)"] == [2, 4, "50.0%"]
    assert figures["合格率(合格 / 已公布结论)"] == [1, 2, "50.0%"]
    assert figures["公益性公墓生态安葬墓位占比(生态安葬 / 单穴与双穴墓位)"] == [40, 400, "10.0%"]
    assert figures["逾期未整改事项"][0] == 1
    overdue = [[c.value for c in row] for row in wb["逾期未整改"].iter_rows(min_row=2)]
    assert len(overdue) == 1 and overdue[0][:2] == ["东坡区", "演示公墓B"] and overdue[0][6] == 1
    await browser_login(client, "rs_county")  # the county sees its own figures only
    wb = load_workbook(io.BytesIO((await client.get("/cemetery/progress.xlsx?year=2026")).content))
    assert [[c.value for c in row] for row in wb["各县年检进度"].iter_rows(min_row=2)] == [
        ["仁寿县", 1, 1, 0, 0, 0, 0, "0.0%"], ["合计", 1, 1, 0, 0, 0, 0, "0.0%"]]
    assert [[c.value for c in row] for row in wb["逾期未整改"].iter_rows(min_row=2)] == []


async def test_pages_show_display_names(client: Any, engine: Any, password_hash: str) -> None:
    await _campaign(engine, password_hash)
    rect = await Rectification.get()
    csrf = await browser_login(client, "dsq_clerk")  # 大石桥经办, B's township
    r = await client.post(f"/cemetery/rectifications/{rect.id}", data={"csrf_token": csrf, "progress": "已拆除一处。"})
    assert r.status_code == 303, r.text
    detail = (await client.get(r.headers["location"].split("#")[0])).text
    assert "(大石桥经办 " in detail and "dsq_clerk" not in detail
    inspection = await rect.inspection
    report = (await client.get(f"/cemetery/inspections/{inspection.id}/report")).text
    assert "检查人 东坡检查员" in report and "dp_inspector" not in report
    record = (await client.get(f"/cemetery/records/{inspection.checklist_record_id}")).text
    assert "检查人 东坡检查员" in record and "dp_inspector" not in record
