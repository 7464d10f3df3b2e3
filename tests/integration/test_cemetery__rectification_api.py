"""Rectification progress through /api/v1/cemetery/rectifications: the page's rules (who, what, open items only),
scope, evidence uploaded to the case, overdue filter, display names. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.models import AuditEvent
from tests.cemetery_helpers import checklist, install_cemetery, make_cemetery, open_task, review, to_city_review
from tests.conftest import api_token
from tests.integration.test_api__endpoints import assert_error
from workflows.cemetery import inspection as insp
from workflows.cemetery.models import CemeteryInspection, Rectification

API = "/api/v1/cemetery/rectifications"
OVER = [("single", "0.62"), ("double", "0.75"), ("single", "0.45")]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _frozen(engine: Any) -> CemeteryInspection:
    await install_cemetery(engine)
    c = await make_cemetery(operator="通惠街道办事处")
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    inspection = await insp.start_inspection(engine, c, campaign, actor="city_mgr")
    await to_city_review(engine, inspection, areas=OVER)
    await review(engine, inspection, "rectify", rectification_days=30)
    return inspection


async def test_progress_through_the_api(client: Any, engine: Any) -> None:
    inspection = await _frozen(engine)
    rect = await Rectification.get(inspection_id=inspection.id)
    url = f"{API}/{rect.id}"
    clerk = await api_token(client, "th_clerk")

    listing = await client.get(API, headers=clerk)
    assert listing.status_code == 200
    [item] = listing.json()["items"]
    assert (item["id"], item["status"], item["overdue"], item["cemetery_name"]) == (rect.id, "open", False,
                                                                                    "演示公墓GM001")
    assert item["progress"] is None and item["evidence"] == []
    assert (await client.get(API, headers=await api_token(client, "rs_county"))).json()["items"] == []
    assert_error(await client.get(url, headers=await api_token(client, "rs_county")), 404, "not_found")

    # Refusals write nothing.
    assert_error(await client.post(f"{url}/progress", headers=clerk, json={}), 422, "validation_failed")
    r = assert_error(await client.post(f"{url}/progress", headers=clerk, json={"done": True}), 422)
    assert r["fields"][0]["field"] == "progress"
    r = assert_error(await client.post(f"{url}/progress", headers=clerk, json={"progress": 3, "done": "yes",
                                                                               "evidence": ["x"]}), 422)
    assert {f["field"] for f in r["fields"]} == {"progress", "done", "evidence"}
    r = assert_error(await client.post(f"{url}/progress", headers=clerk,
                                       json={"progress": "已拆除", "evidence": [999]}), 422)
    assert r["fields"] == [{"field": "evidence", "code": "unknown",
                                     "message": "each id must name a file uploaded to this inspection's case"}]
    assert_error(await client.post(f"{url}/progress", headers=await api_token(client, "city_mgr"),
                                   json={"progress": "市级代报"}), 403, "forbidden")
    fresh = await Rectification.get(id=rect.id)
    assert (fresh.progress, fresh.evidence, fresh.reported_done_at) == (None, None, None)

    # Evidence is uploaded to the 限期整改 task of the case, then named in the report.
    task = await open_task(inspection, "Task_rectify")
    up = await client.post(f"/api/v1/tasks/{task.id}/attachments", headers=clerk,
                           files={"file": ("拆除后.png", PNG, "image/png")})
    assert up.status_code == 201, up.text
    attachment_id = up.json()["id"]
    ok = await client.post(f"{url}/progress", headers=clerk, json={"progress": "超标墓位已拆除一处。",
                                                                   "evidence": [attachment_id]})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["progress"] == "超标墓位已拆除一处。" and body["progress_by"] == "th_clerk"
    assert body["progress_by_name"] == "通惠经办" and body["reported_done_at"] is None
    assert body["evidence"] == [{"attachment_id": attachment_id,
                                 "download_url": f"/api/v1/attachments/{attachment_id}"}]
    done = await client.post(f"{url}/progress", headers=await api_token(client, "dp_county"), json={"done": True})
    assert done.status_code == 200 and done.json()["reported_done_at"] is not None
    assert done.json()["progress_by_name"] == "东坡区审核" and done.json()["progress"] == "超标墓位已拆除一处。"
    events = await AuditEvent.filter(action="cemetery.rectification_progress").order_by("seq")
    assert [(e.actor, e.payload["done"]) for e in events] == [("th_clerk", False), ("dp_county", True)]
    assert events[0].payload["attachment_ids"] == [attachment_id]

    # Overdue: open past its due date, by the engine's clock.
    assert (await client.get(f"{API}?overdue=true", headers=clerk)).json()["items"] == []
    engine.clock.advance(timedelta(days=31))
    [late] = (await client.get(f"{API}?overdue=true&status=open&year=2026", headers=clerk)).json()["items"]
    assert late["id"] == rect.id and late["overdue"] is True
    assert (await client.get(f"{API}?overdue=false", headers=clerk)).json()["items"] == []
    assert_error(await client.get(f"{API}?overdue=maybe", headers=clerk), 400, "invalid_parameter")
    assert_error(await client.get(f"{API}?status=done", headers=clerk), 400, "invalid_parameter")
    assert_error(await client.get(f"{API}?year=1999", headers=clerk), 400, "invalid_parameter")

    # Once the acceptance has passed the item is verified and takes no more progress.
    rectify = await open_task(inspection, "Task_rectify")
    await insp.complete(engine, rectify.id, {"actions_taken": "已拆除超标墓位。", "completed_on": "2026-04-01"},
                        actor="th_clerk")
    await checklist(engine, inspection, "Task_acceptance")
    assert (await Rectification.get(id=rect.id)).status == "verified"
    assert_error(await client.post(f"{url}/progress", headers=clerk, json={"progress": "补充说明"}), 409, "not_open")
    verified = (await client.get(f"{API}?status=verified", headers=clerk)).json()["items"]
    assert [v["id"] for v in verified] == [rect.id] and verified[0]["overdue"] is False
