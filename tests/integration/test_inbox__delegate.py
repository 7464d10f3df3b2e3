"""Delegate-and-return (委托): the owner delegates, the delegate resolves with an opinion (never completes), the task
returns to the owner who completes it; every step audited and notified."""

from __future__ import annotations

from typing import Any

import pytest

from engine.audit import verify_chain
from engine.errors import ConflictError, InvalidTaskState
from engine.forms import FormValidationError
from engine.models import Comment, HumanTask, ProcessInstance
from engine.runtime import Engine
from tests.collab_helpers import TOWNSHIP, add_user, fresh, inbox_of, start_review, task_actions
from tests.conftest import api_token, browser_login


async def test_delegate_resolve_return_complete_full_cycle(client: Any, engine: Engine) -> None:
    instance, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    assert (await client.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf})).status_code == 303
    r = await client.post(f"/tasks/{task.id}/delegate", data={"csrf_token": csrf, "to": "th_reviewer"})
    assert r.status_code == 303, r.text
    row = await fresh(task)
    assert (row.state, row.owner, row.assignee) == ("CLAIMED", "th_clerk", "th_reviewer")
    assert await inbox_of("th_reviewer") == [("task.delegated", "委托您办理:乡镇审查 · CR-1")]

    # The owner cannot complete while delegated (the page offers no form, a forged POST is refused).
    page = await client.get(f"/tasks/{task.id}")
    assert "委托中" in page.text and 'action="/tasks/' + str(task.id) + '" class="task-form"' not in page.text
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true", "opinion": "同意"})
    assert r.status_code == 403

    # The delegate (another role in the same unit) sees it in the inbox and can resolve, but never complete.
    csrf = await browser_login(client, "th_reviewer")
    assert "乡镇审查 · CR-1" in (await client.get("/inbox")).text
    page = await client.get(f"/tasks/{task.id}")
    assert "提交处理意见并交回" in page.text and 'class="task-form"' not in page.text
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true", "opinion": "同意"})
    assert r.status_code == 403 and "受托人提交处理意见" in r.text
    with pytest.raises(InvalidTaskState, match="delegated"):
        await engine.complete_task(task.id, {"approved": True}, actor="th_reviewer", opinion="越权办理")
    headers = await api_token(client, "th_reviewer")
    r = await client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"approved": True}, "opinion": "x"},
                          headers=headers)
    assert r.status_code == 403
    with pytest.raises(ConflictError):
        await engine.unclaim(task.id, actor="th_reviewer")
    assert (await fresh(task)).state == "CLAIMED"

    # Resolving needs an opinion; it does not complete the BPMN task.
    r = await client.post(f"/tasks/{task.id}/resolve", data={"csrf_token": csrf, "opinion": "  "})
    assert r.status_code == 422 and "请填写意见内容" in r.text
    r = await client.post(f"/tasks/{task.id}/resolve", data={"csrf_token": csrf, "opinion": "材料齐全,建议同意。"})
    assert r.status_code == 303
    row = await fresh(task)
    assert (row.state, row.owner, row.assignee) == ("CLAIMED", None, "th_clerk")
    assert (await ProcessInstance.get(id=instance.id)).status == "running"
    assert [(c.author, c.kind, c.body) for c in await Comment.filter(task_id=task.id)] == [
        ("th_reviewer", "resolution", "材料齐全,建议同意。")]
    assert await inbox_of("th_clerk") == [("task.returned", "委托事项已交回:乡镇审查 · CR-1")]

    # Back with the owner, who completes it; the delegate's opinion shows on the page.
    csrf = await browser_login(client, "th_clerk")
    page = await client.get(f"/tasks/{task.id}")
    assert "材料齐全,建议同意。" in page.text and "委托处理意见" in page.text
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true",
                                                     "opinion": "同意受托人意见"})
    assert r.status_code == 303, r.text
    row = await fresh(task)
    assert (row.state, row.completed_by) == ("DONE", "th_clerk")
    assert await task_actions(task.id) == ["task.created", "task.claimed", "task.delegated",
                                           "task.delegation_resolved", "task.completed", "comment.added"]
    assert (await verify_chain()).ok
    timeline = (await client.get(f"/instances/{instance.id}")).text
    for label in ("委托", "委托处理完毕并交回", "材料齐全,建议同意。", "同意受托人意见"):
        assert label in timeline


async def test_delegate_straight_from_an_unclaimed_task_and_outside_scope_is_refused(client: Any,
                                                                                      engine: Engine) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    for outsider in ("wl_clerk", "dsq_clerk", "dp_county", "nobody", "th_clerk"):
        r = await client.post(f"/tasks/{task.id}/delegate", data={"csrf_token": csrf, "to": outsider})
        assert r.status_code == 422 and "不在该事项的办理范围内" in r.text, outsider
    assert (await fresh(task)).assignee is None
    r = await client.post(f"/tasks/{task.id}/delegate", data={"csrf_token": csrf, "to": "th_reviewer"})
    assert r.status_code == 303
    assert ((await fresh(task)).owner, (await fresh(task)).assignee) == ("th_clerk", "th_reviewer")
    # Delegated once: the delegate cannot pass it on, and nobody can delegate it again.
    csrf = await browser_login(client, "th_reviewer")
    r = await client.post(f"/tasks/{task.id}/delegate", data={"csrf_token": csrf, "to": "th_clerk"})
    assert r.status_code == 403
    with pytest.raises(ConflictError, match="already delegated"):
        await engine.delegate(task.id, actor="th_clerk", to="th_reviewer")


async def test_only_a_user_who_can_complete_may_delegate(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    for username in ("th_reviewer", "dp_county", "dsq_clerk"):
        csrf = await browser_login(client, username)
        r = await client.post(f"/tasks/{task.id}/delegate", data={"csrf_token": csrf, "to": "th_reviewer"})
        assert r.status_code == 403, username
    await engine.claim(task.id, actor="th_clerk")
    with pytest.raises(ConflictError, match="claimed by another user"):
        await engine.delegate(task.id, actor="dsq_clerk", to="th_reviewer")
    assert (await fresh(task)).owner is None


async def test_resolution_is_refused_to_anyone_but_the_delegate(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    await engine.delegate(task.id, actor="th_clerk", to="th_reviewer")
    with pytest.raises(InvalidTaskState):
        await engine.resolve_delegation(task.id, actor="th_clerk", opinion="自己交回")
    with pytest.raises(FormValidationError):
        await engine.resolve_delegation(task.id, actor="th_reviewer", opinion="")
    csrf = await browser_login(client, "th_clerk")
    r = await client.post(f"/tasks/{task.id}/resolve", data={"csrf_token": csrf, "opinion": "自己交回"})
    assert r.status_code == 403
    row = await HumanTask.get(id=task.id)
    assert (row.owner, row.assignee) == ("th_clerk", "th_reviewer")
    assert await Comment.all().count() == 0


async def test_a_delegate_who_could_otherwise_complete_still_cannot(client: Any, engine: Engine,
                                                                    password_hash: str) -> None:
    """The delegate here has the task's role and unit: only the delegation itself stops the completion."""
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"], password_hash=password_hash)
    _, task = await start_review(engine)
    await engine.delegate(task.id, actor="th_clerk", to="th_clerk2")
    csrf = await browser_login(client, "th_clerk2")
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true", "opinion": "直接办结"})
    assert r.status_code == 403 and "受托人提交处理意见" in r.text
    headers = await api_token(client, "th_clerk2")
    r = await client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"approved": True}, "opinion": "直接办结"},
                          headers=headers)
    assert r.status_code == 403
    assert [t["id"] for t in (await client.get("/api/v1/tasks?mine=true", headers=headers)).json()["items"]] == [
        str(task.id)]
    with pytest.raises(InvalidTaskState):
        await engine.complete_task(task.id, {"approved": True}, actor="th_clerk2", opinion="直接办结")
    assert (await fresh(task)).state == "CLAIMED"
    await engine.resolve_delegation(task.id, actor="th_clerk2", opinion="建议同意")
    with pytest.raises(FormValidationError):  # the delegate's opinion is not the owner's: requireOpinion still applies
        await engine.complete_task(task.id, {"approved": True}, actor="th_clerk")
    await engine.complete_task(task.id, {"approved": True}, actor="th_clerk", opinion="同意")
    assert ((await fresh(task)).state, (await fresh(task)).completed_by) == ("DONE", "th_clerk")
