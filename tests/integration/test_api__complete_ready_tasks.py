"""POST /api/v1/tasks/{id}/complete answers with the instance's open tasks. When the completion itself wrote all of
them the engine hands them over instead of the endpoint reading them back; either way the answer must be exactly
what GET /api/v1/instances/{id} (which always reads the database) shows right after."""

from __future__ import annotations

import uuid
from typing import Any

from engine.runtime import Engine
from tests.integration.test_api__endpoints import ACCEPT_OK, API, auth, start
from tests.support import restored


def _by_id(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(tasks, key=lambda t: t["id"])


async def _complete(client: Any, headers: dict[str, str], task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _read(client: Any, headers: dict[str, str], instance_id: str) -> dict[str, Any]:
    r = await client.get(f"{API}/instances/{instance_id}", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _member_check(engine: Engine, instance_id: str, task_id: str) -> dict[str, Any]:
    member = (await restored(engine, instance_id)).get_task_from_id(uuid.UUID(task_id)).data["member"]
    return {"member_check": {"name": member["name"], "verified_income": member["monthly_income"]}}


async def test_tasks_created_by_the_completion_are_answered_as_stored(client: Any, engine: Engine) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    body = await _complete(client, headers, started["ready_tasks"][0]["id"], ACCEPT_OK)
    assert sorted(t["bpmn_id"] for t in body["ready_tasks"]) == [
        "Task_home_visit", "Task_member_check", "Task_member_check"]
    stored = await _read(client, headers, started["id"])
    assert _by_id(body["ready_tasks"]) == _by_id(stored["ready_tasks"])
    assert {k: v for k, v in body.items() if k != "ready_tasks"} == {
        k: v for k, v in stored.items() if k != "ready_tasks"} | {"updated_at": body["updated_at"]}


async def test_tasks_still_open_from_before_are_answered_with_their_current_state(client: Any,
                                                                                engine: Engine) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    body = await _complete(client, headers, started["ready_tasks"][0]["id"], ACCEPT_OK)
    visit = next(t for t in body["ready_tasks"] if t["bpmn_id"] == "Task_home_visit")
    r = await client.post(f"{API}/tasks/{visit['id']}/claim", headers=headers)
    assert r.status_code == 200, r.text
    checks = [t["id"] for t in body["ready_tasks"] if t["bpmn_id"] == "Task_member_check"]
    body = await _complete(client, headers, checks[0], await _member_check(engine, started["id"], checks[0]))
    # The other check and the claimed home visit stay open: both answered, the visit as claimed.
    assert sorted((t["bpmn_id"], t["state"], t["assignee"]) for t in body["ready_tasks"]) == [
        ("Task_home_visit", "CLAIMED", "th_clerk"), ("Task_member_check", "READY", None)]
    assert _by_id(body["ready_tasks"]) == _by_id((await _read(client, headers, started["id"]))["ready_tasks"])


async def test_a_completion_that_ends_the_parallel_branch_answers_the_next_task(client: Any,
                                                                              engine: Engine) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    body = await _complete(client, headers, started["ready_tasks"][0]["id"], ACCEPT_OK)
    for task in [t for t in body["ready_tasks"] if t["bpmn_id"] == "Task_member_check"]:
        body = await _complete(client, headers, task["id"], await _member_check(engine, started["id"], task["id"]))
    visit = next(t for t in body["ready_tasks"] if t["bpmn_id"] == "Task_home_visit")
    body = await _complete(client, headers, visit["id"],
                           {"home_visit": {"has_large_assets": False, "investigators": ["张三", "李四"]}})
    stored = await _read(client, headers, started["id"])
    assert [t["bpmn_id"] for t in body["ready_tasks"]] == [t["bpmn_id"] for t in stored["ready_tasks"]]
    assert len(body["ready_tasks"]) == 1 and body["ready_tasks"][0]["bpmn_id"] != "Task_home_visit"
    assert _by_id(body["ready_tasks"]) == _by_id(stored["ready_tasks"])
