"""公墓年检 evidence and output: photos on the checklist (page and API), the printable report, the XLSX export.

Photos are engine attachments of the checklist task (hash, type and size limits, scoped download) linked to the
item or plot they document. SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from openpyxl import load_workbook

from engine.models import Attachment, User
from tests.cemetery_helpers import install_cemetery, make_cemetery, open_task, png, review
from tests.conftest import api_token, browser_login
from workflows.cemetery import inspection as insp
from workflows.cemetery.checklist import CHECK_ITEMS
from workflows.cemetery.models import CemeteryInspection, InspectionPhoto

PHOTO = png(12, 12)
OTHER_PHOTO = png(10, 10, (200, 30, 30))


async def _setup(engine: Any, password_hash: str) -> CemeteryInspection:
    await install_cemetery(engine)
    await User.create(username="dp_inspector", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=password_hash)
    c = await make_cemetery()
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    inspection = await insp.start_inspection(engine, c, campaign, actor="city_mgr")
    task = await open_task(inspection, "Task_self_report")
    await insp.complete(engine, task.id, {"submitted_on": "2026-03-05", "burials_this_year": 1,
                                          "plots_sold_this_year": 1, "report_summary": "自查未发现问题,材料齐全。"},
                        actor="th_clerk")
    return inspection


def _form(csrf: str, rows: list[tuple[str, str, str]], opinion: str = "", **answers: str) -> dict[str, Any]:
    return {"csrf_token": csrf, "action": "submit", "plot_label": [r[0] for r in rows],
            "plot_kind": [r[1] for r in rows], "plot_area": [r[2] for r in rows], "eco_plots": "120",
            "total_plots": "800", "notes": "", "opinion": opinion, **answers}


async def test_photos_survive_a_refused_checklist_and_show_on_record_and_report(client: Any, engine: Any,
                                                                                  password_hash: str) -> None:
    inspection = await _setup(engine, password_hash)
    task = await open_task(inspection, "Task_onsite")
    url = f"/cemetery/tasks/{task.id}/checklist"
    csrf = await browser_login(client, "dp_inspector")
    rows = [("A-1", "single", "0.72"), ("A-2", "double", "0.75"), ("A-3", "single", "0.5")]
    # Incomplete checklist (no answers, no opinion) with two photos and one refused file: 422, photos kept.
    r = await client.post(url, data=_form(csrf, rows), files={
        "photo_headstone_greening": ("墓碑.png", PHOTO, "image/png"),
        "plot_photo_0": ("A-1实测.png", OTHER_PHOTO, "image/png"),
        "photo_prices_posted": ("公示.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert r.status_code == 422
    assert "仅支持 JPG、PNG 照片,未保存" in r.text and "请填写检查意见" in r.text
    links = await InspectionPhoto.filter(task_id=str(task.id)).order_by("id")
    assert [(p.item, p.plot_label, p.record_id) for p in links] == [("headstone_greening", "", None),
                                                                    ("plot", "A-1", None)]
    files = {a.id: a for a in await Attachment.filter(task_id=str(task.id))}
    assert len(files) == 2 and files[links[0].attachment_id].sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert f'src="/attachments/{links[0].attachment_id}"' in r.text  # shown again next to its item
    # Complete it: the stored photos belong to the submitted record.
    answers = {f"check_{code}": "ok" for code in CHECK_ITEMS}
    ok = await client.post(url, data=_form(csrf, rows, "墓位超标一处。", **answers))
    assert ok.status_code == 303, ok.text
    fresh = await CemeteryInspection.get(id=inspection.id)
    assert {p.record_id for p in await InspectionPhoto.filter(task_id=str(task.id))} == {fresh.checklist_record_id}
    record = await client.get(f"/cemetery/records/{fresh.checklist_record_id}")
    assert f'src="/attachments/{links[0].attachment_id}"' in record.text and "A-1" in record.text
    report = await client.get(f"/cemetery/inspections/{inspection.id}/report")
    assert report.status_code == 200
    for text in ("2026 年度年检报告", "超标", "0.72", "墓位照片", f'/attachments/{links[1].attachment_id}',
                 "data-print"):
        assert text in report.text
    image = await client.get(f"/attachments/{links[0].attachment_id}")
    assert image.status_code == 200 and image.content == PHOTO
    await browser_login(client, "rs_county")  # another county: neither the report nor the photo
    assert (await client.get(f"/cemetery/inspections/{inspection.id}/report")).status_code == 404
    assert (await client.get(f"/attachments/{links[0].attachment_id}")).status_code == 403


async def test_api_links_uploaded_photos_to_items_and_plots(client: Any, engine: Any, password_hash: str) -> None:
    inspection = await _setup(engine, password_hash)
    task = await open_task(inspection, "Task_onsite")
    headers = await api_token(client, "dp_inspector")
    up = await client.post(f"/api/v1/tasks/{task.id}/attachments", files={"file": ("a.png", PHOTO, "image/png")},
                           headers=headers)
    pdf = await client.post(f"/api/v1/tasks/{task.id}/attachments", files={"file": ("a.pdf", b"%PDF-1.4", "x")},
                            headers=headers)
    assert up.status_code == 201 and pdf.status_code == 201
    body = {"checks": {c: {"ok": True} for c in CHECK_ITEMS},
            "plots": [{"label": f"P{n}", "kind": "single", "area": "0.4"} for n in range(3)],
            "eco_plots": 100, "total_plots": 800, "opinion": "符合要求。",
            "photos": [{"attachment_id": pdf.json()["id"], "item": "licences_valid"}]}
    refused = await client.post(f"/api/v1/cemetery/tasks/{task.id}/checklist", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "photos"
    for wrong in ({"attachment_id": up.json()["id"], "item": "no_such_item"},
                  {"attachment_id": up.json()["id"], "plot_label": "P9"}):  # not a submitted plot
        body["photos"] = [wrong]
        r = await client.post(f"/api/v1/cemetery/tasks/{task.id}/checklist", json=body, headers=headers)
        assert r.status_code == 422, wrong
    assert await InspectionPhoto.all().count() == 0
    body["photos"] = [{"attachment_id": up.json()["id"], "item": "licences_valid"},
                      {"attachment_id": up.json()["id"], "plot_label": "P1"}]
    done = await client.post(f"/api/v1/cemetery/tasks/{task.id}/checklist", json=body, headers=headers)
    assert done.status_code == 201, done.text
    assert sorted((p["item"], p["plot_label"]) for p in done.json()["photos"]) == [("licences_valid", None),
                                                                                  ("plot", "P1")]


async def test_results_export_is_scoped_and_lists_verdicts(client: Any, engine: Any, password_hash: str) -> None:
    from tests.cemetery_helpers import checklist

    inspection = await _setup(engine, password_hash)
    await checklist(engine, inspection, "Task_onsite", areas=[("single", "0.7"), ("single", "0.4"), ("double", "0.8")])
    await review(engine, inspection, "rectify", rectification_days=10)
    other = await make_cemetery("RS1", county="511421", township="511421001", name="仁寿演示公墓")
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    await insp.start_inspection(engine, other, campaign, actor="city_mgr")
    await browser_login(client, "city_mgr")
    r = await client.get("/cemetery/progress.xlsx?year=2026")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    table = [[c.value for c in row] for row in ws.iter_rows()]
    header = table[0]
    by_code = {row[header.index("编号")]: dict(zip(header, row, strict=True)) for row in table[1:]}
    assert set(by_code) == {"GM001", "RS1"}
    gm = by_code["GM001"]
    assert (gm["结论"], gm["实测墓位数"], gm["超标墓位数"], gm["整改中"], gm["销售状态"]) == (
        "限期整改", 3, 1, 1, "暂停销售(限期整改)")
    assert gm["检查表版本"] == 1 and by_code["RS1"]["环节"] == "自查"
    await browser_login(client, "dp_county")
    ws = load_workbook(io.BytesIO((await client.get("/cemetery/progress.xlsx?year=2026")).content)).active
    assert ws is not None
    assert [row[2].value for row in ws.iter_rows(min_row=2)] == ["GM001"]
