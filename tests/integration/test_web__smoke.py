from __future__ import annotations

from typing import Any

from tests.conftest import api_token, browser_login


async def test_api_start_and_list_my_tasks(client: Any) -> None:
    headers = await api_token(client, "th_clerk")
    r = await client.post("/api/v1/instances", json={"process_key": "showcase", "business_key": "B-1"},
                          headers=headers)
    assert r.status_code == 201, r.text
    assert [t["name"] for t in r.json()["ready_tasks"]] == ["受理"]
    r = await client.get("/api/v1/tasks?mine=true", headers=headers)
    assert r.json()["total"] == 1


async def test_inbox_page_lists_task_after_login(client: Any) -> None:
    headers = await api_token(client, "th_clerk")
    await client.post("/api/v1/instances", json={"process_key": "showcase", "business_key": "B-2"}, headers=headers)
    await browser_login(client, "th_clerk")
    r = await client.get("/inbox")
    assert r.status_code == 200 and "受理 · B-2" in r.text
    assert "HX-Request" in r.headers["vary"]
