"""Comments (审批意见) on tasks and instances, audited; requireOpinion makes completing without an opinion fail."""

from __future__ import annotations

from typing import Any

import pytest

from engine.audit import verify_chain
from engine.forms import FormValidationError
from engine.models import AuditEvent, Comment, HumanTask
from engine.runtime import Engine
from tests.collab_helpers import fresh, start_review
from tests.conftest import api_token, browser_login


async def test_completing_a_require_opinion_step_without_opinion_is_refused(client: Any, engine: Engine) -> None:
    instance, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    page = await client.get(f"/tasks/{task.id}")
    assert "按规定,本环节办理时必须填写审批意见" in page.text
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true", "opinion": "   "})
    assert r.status_code == 422
    assert "本环节须填写审批意见" in r.text and 'aria-invalid="true" aria-describedby="f-task-opinion-error"' in r.text
    assert (await fresh(task)).state == "READY"
    assert await Comment.all().count() == 0

    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "approved": "true",
                                                     "opinion": "经审查符合条件"})
    assert r.status_code == 303
    assert (await fresh(task)).state == "DONE"
    comment = await Comment.get(task_id=task.id)
    assert (comment.author, comment.kind, comment.body) == ("th_clerk", "opinion", "经审查符合条件")
    event = await AuditEvent.get(action="comment.added", task_id=str(task.id))
    assert event.payload["body"] == "经审查符合条件" and event.instance_id == str(instance.id)


async def test_an_earlier_comment_by_the_actor_counts_but_not_someone_elses(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "dp_county")  # a supervisor may comment on a task in the subtree
    r = await client.post(f"/tasks/{task.id}/comments", data={"csrf_token": csrf, "body": "请注意核实收入"})
    assert r.status_code == 303
    with pytest.raises(FormValidationError) as info:
        await engine.complete_task(task.id, {"approved": True}, actor="th_clerk")
    assert [(e.field, e.code) for e in info.value.errors] == [("opinion", "required")]
    csrf = await browser_login(client, "th_clerk")
    r = await client.post(f"/tasks/{task.id}/comments", data={"csrf_token": csrf, "body": "已核实,同意。"})
    assert r.status_code == 303
    await engine.complete_task(task.id, {"approved": True}, actor="th_clerk")
    assert (await fresh(task)).state == "DONE"
    page = await client.get(f"/tasks/{task.id}")
    assert "请注意核实收入" in page.text and "已核实,同意。" in page.text and "东坡区审核" in page.text


async def test_api_completion_reports_the_missing_opinion_as_a_field_error(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    headers = await api_token(client, "th_clerk")
    r = await client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"approved": True}}, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "opinion", "code": "required", "message": r.json()["error"][
        "fields"][0]["message"]}]
    r = await client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"approved": True}, "opinion": 5},
                          headers=headers)
    assert r.status_code == 422
    r = await client.post(f"/api/v1/tasks/{task.id}/complete",
                          json={"data": {"approved": True}, "opinion": "API 同意"}, headers=headers)
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()["ready_tasks"]] == ["县级签批"]
    assert (await Comment.get(task_id=task.id)).body == "API 同意"


async def test_steps_without_require_opinion_complete_without_one(engine: Engine, client: Any) -> None:
    instance, task = await start_review(engine)
    await engine.complete_task(task.id, {"approved": True}, actor="th_clerk", opinion="同意")
    signoff = await HumanTask.get(instance_id=instance.id, bpmn_id="Task_signoff")
    await engine.complete_task(signoff.id, {}, actor="dp_county")
    assert (await fresh(signoff)).state == "DONE"
    assert await Comment.filter(task_id=signoff.id).count() == 0


async def test_comment_needs_csrf_scope_and_content(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    assert (await client.post(f"/tasks/{task.id}/comments", data={"body": "无令牌"})).status_code == 403
    r = await client.post(f"/tasks/{task.id}/comments", data={"csrf_token": csrf, "body": " \n "})
    assert r.status_code == 422 and "请填写意见内容" in r.text
    r = await client.post(f"/tasks/{task.id}/comments", data={"csrf_token": csrf, "body": "长" * 2001})
    assert r.status_code == 422 and "不能超过 2000 字" in r.text
    for outsider in ("wl_clerk", "dsq_clerk", "rs_county"):
        csrf = await browser_login(client, outsider)
        r = await client.post(f"/tasks/{task.id}/comments", data={"csrf_token": csrf, "body": "越界意见"})
        assert r.status_code == 403, outsider
    assert await Comment.all().count() == 0


async def test_instance_comment_shows_in_the_timeline_and_the_chain_holds(client: Any, engine: Engine) -> None:
    instance, _ = await start_review(engine)
    csrf = await browser_login(client, "city_mgr")
    r = await client.post(f"/instances/{instance.id}/comments", data={"csrf_token": csrf, "body": "市局关注此件"})
    assert r.status_code == 303
    page = await client.get(f"/instances/{instance.id}")
    assert page.text.count("市局关注此件") == 2  # the comments list and the timeline
    r = await client.post(f"/instances/{instance.id}/comments", data={"csrf_token": csrf, "body": ""})
    assert r.status_code == 422 and "请填写意见内容" in r.text
    csrf = await browser_login(client, "wl_clerk")
    r = await client.post(f"/instances/{instance.id}/comments", data={"csrf_token": csrf, "body": "越界"})
    assert r.status_code == 403
    assert [c.body for c in await Comment.filter(instance_id=instance.id)] == ["市局关注此件"]
    assert (await verify_chain()).ok
