"""Reassign (改派): supervisors of the task's subtree or its assignee, only to someone who could act on it; a stale
form or a lost race is a 409, never a silent overwrite."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.errors import ConflictError
from engine.forms import FormValidationError
from engine.runtime import Engine
from tests.collab_helpers import TOWNSHIP, add_user, fresh, inbox_of, start_review, task_actions
from tests.conftest import browser_login


@pytest.fixture
async def second_clerk(client: Any, password_hash: str) -> str:
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"], password_hash=password_hash)
    return "th_clerk2"


async def test_county_supervisor_assigns_an_unclaimed_task(client: Any, engine: Engine, second_clerk: str) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "dp_county")
    page = await client.get(f"/tasks/{task.id}")
    assert "改派给" in page.text and "通惠经办二(th_clerk2)" in page.text
    assert "th_reviewer" not in page.text.split('id="f-reassign"')[1].split("</select>")[0]  # other role: no option
    r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": second_clerk,
                                                              "expected_assignee": ""})
    assert r.status_code == 303, r.text
    row = await fresh(task)
    assert (row.state, row.assignee, row.owner) == ("CLAIMED", "th_clerk2", None)
    assert await inbox_of("th_clerk2") == [("task.assigned", "分派给您:乡镇审查 · CR-1")]
    assert await task_actions(task.id) == ["task.created", "task.reassigned"]
    # The new assignee can complete it; the old candidates no longer can.
    csrf = await browser_login(client, "th_clerk")
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true", "opinion": "同意"})
    assert r.status_code == 403


async def test_the_assignee_hands_over_to_a_peer(client: Any, engine: Engine, second_clerk: str) -> None:
    _, task = await start_review(engine)
    await engine.claim(task.id, actor="th_clerk")
    csrf = await browser_login(client, "th_clerk")
    r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": second_clerk,
                                                              "expected_assignee": "th_clerk"})
    assert r.status_code == 303
    assert (await fresh(task)).assignee == "th_clerk2"
    assert await inbox_of("th_clerk2") == [("task.reassigned", "改派给您:乡镇审查 · CR-1")]
    # th_clerk is neither assignee nor supervisor any more.
    r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": "th_clerk"})
    assert r.status_code == 403


@pytest.mark.parametrize("username", ["dsq_clerk", "wl_clerk", "rs_county", "th_reviewer"])
async def test_reassign_is_forbidden_outside_the_subtree_or_without_a_supervisor_role(
        client: Any, engine: Engine, second_clerk: str, username: str) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, username)
    r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": second_clerk,
                                                              "expected_assignee": ""})
    assert r.status_code == 403
    assert (await fresh(task)).assignee is None
    assert await inbox_of("th_clerk2") == []


async def test_reassign_only_to_someone_who_could_act(client: Any, engine: Engine, second_clerk: str) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "city_mgr")
    for target in ("th_reviewer", "dsq_clerk", "wl_clerk", "ghost"):
        r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": target})
        assert r.status_code == 422 and "不在该事项的办理范围内" in r.text, target
    await add_user("th_gone", "已停用", TOWNSHIP, ["township_clerk"], active=False)
    with pytest.raises(FormValidationError):
        await engine.reassign(task.id, actor="city_mgr", to="th_gone")
    assert (await fresh(task)).assignee is None


async def test_stale_form_is_a_409_not_an_overwrite(client: Any, engine: Engine, second_clerk: str) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "dp_county")
    await client.get(f"/tasks/{task.id}")  # the supervisor's page shows the task unassigned …
    await engine.claim(task.id, actor="th_clerk")  # … meanwhile the clerk claims it
    r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": second_clerk,
                                                              "expected_assignee": ""})
    assert r.status_code == 409 and "请刷新页面后重试" in r.text
    assert (await fresh(task)).assignee == "th_clerk"


async def test_concurrent_reassignments_one_wins_the_other_conflicts(engine: Engine, client: Any,
                                                                     second_clerk: str) -> None:
    _, task = await start_review(engine)
    results = await asyncio.gather(
        engine.reassign(task.id, actor="dp_county", to="th_clerk", expected_assignee=None),
        engine.reassign(task.id, actor="city_mgr", to="th_clerk2", expected_assignee=None),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "HumanTask"]
    winner = next(r for r in results if not isinstance(r, Exception))
    assert (await fresh(task)).assignee == winner.assignee
    assert await task_actions(task.id) == ["task.created", "task.reassigned"]


async def test_reassign_racing_a_delegation_exactly_one_applies(engine: Engine, client: Any,
                                                                second_clerk: str) -> None:
    _, task = await start_review(engine)
    await engine.claim(task.id, actor="th_clerk")
    results = await asyncio.gather(
        engine.delegate(task.id, actor="th_clerk", to="th_reviewer"),
        engine.reassign(task.id, actor="dp_county", to="th_clerk2", expected_assignee="th_clerk"),
        return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], ConflictError)
    row = await fresh(task)
    assert (row.assignee, row.owner) in {("th_reviewer", "th_clerk"), ("th_clerk2", None)}


async def test_supervisor_reassigning_a_delegated_task_ends_the_delegation(engine: Engine, client: Any,
                                                                           second_clerk: str) -> None:
    _, task = await start_review(engine)
    await engine.delegate(task.id, actor="th_clerk", to="th_reviewer")
    await engine.reassign(task.id, actor="dp_county", to="th_clerk2")
    row = await fresh(task)
    assert (row.state, row.assignee, row.owner) == ("CLAIMED", "th_clerk2", None)
    await engine.complete_task(task.id, {"approved": True}, actor="th_clerk2", opinion="同意")
    assert (await fresh(task)).state == "DONE"
