"""The JSON API for working a task together: reassign, delegate / resolve and comments, with the same rules as the
pages (engine.authz), precise error bodies and 409 when the task changed under the caller."""

from __future__ import annotations

from typing import Any

from engine.models import AuditEvent, Comment
from engine.runtime import Engine
from tests.collab_helpers import add_user, fresh, inbox_of, start_review
from tests.conftest import api_token


async def test_api_delegate_resolve_cycle_with_scope_and_409(client: Any, engine: Engine) -> None:
    instance, task = await start_review(engine)
    clerk = await api_token(client, "th_clerk")
    reviewer = await api_token(client, "th_reviewer")
    assert (await client.post(f"/api/v1/tasks/{task.id}/claim", headers=clerk)).status_code == 200

    # Outside the task's scope: a clerk of another township is not a colleague here (422 on `to`, nothing changes).
    r = await client.post(f"/api/v1/tasks/{task.id}/delegate", json={"to": "dsq_clerk"}, headers=clerk)
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "to", "code": "not_eligible", "message": r.json()["error"][
        "fields"][0]["message"]}]
    assert (await fresh(task)).owner is None
    # Someone who cannot act on the task cannot delegate it.
    r = await client.post(f"/api/v1/tasks/{task.id}/delegate", json={"to": "th_clerk"}, headers=reviewer)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # A body without `to` is a 422 naming the field.
    r = await client.post(f"/api/v1/tasks/{task.id}/delegate", json={}, headers=clerk)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "to"

    r = await client.post(f"/api/v1/tasks/{task.id}/delegate", json={"to": "th_reviewer"}, headers=clerk)
    assert r.status_code == 200, r.text
    assert (r.json()["owner"], r.json()["assignee"]) == ("th_clerk", "th_reviewer")
    # The owner cannot delegate again (nor complete) while it is delegated.
    r = await client.post(f"/api/v1/tasks/{task.id}/delegate", json={"to": "dp_county"}, headers=clerk)
    assert r.status_code == 403

    # Only the delegate resolves; a blank opinion is refused and stores nothing.
    r = await client.post(f"/api/v1/tasks/{task.id}/resolve", json={"opinion": "同意"}, headers=clerk)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/tasks/{task.id}/resolve", json={"opinion": "  "}, headers=reviewer)
    assert r.status_code == 422 and r.json()["error"]["fields"][0] == {
        "field": "opinion", "code": "required", "message": "opinion must not be empty"}
    assert not await Comment.filter(task_id=task.id).exists()
    r = await client.post(f"/api/v1/tasks/{task.id}/resolve", json={"opinion": "材料齐全,建议同意。"},
                          headers=reviewer)
    assert r.status_code == 200 and (r.json()["owner"], r.json()["assignee"]) == (None, "th_clerk")
    # Resolving a second time: no longer delegated to them.
    r = await client.post(f"/api/v1/tasks/{task.id}/resolve", json={"opinion": "再次"}, headers=reviewer)
    assert r.status_code in (403, 409)
    assert ("task.returned", "委托事项已交回:乡镇审查 · CR-1") in await inbox_of("th_clerk")

    r = await client.get(f"/api/v1/tasks/{task.id}/comments", headers=clerk)
    assert [(c["author"], c["kind"], c["body"]) for c in r.json()["items"]] == [
        ("th_reviewer", "resolution", "材料齐全,建议同意。")]
    r = await client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"approved": True}, "opinion": "同意"},
                          headers=clerk)
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/instances/{instance.id}/comments", headers=clerk)
    assert [c["kind"] for c in r.json()["items"]] == ["resolution", "opinion"]


async def test_api_reassign_authorization_and_stale_expectation(client: Any, engine: Engine) -> None:
    await add_user("th_clerk2", "通惠经办二", "511402001", ["township_clerk"])
    _, task = await start_review(engine)
    clerk = await api_token(client, "th_clerk")
    county = await api_token(client, "dp_county")
    other_county = await api_token(client, "rs_county")
    # A supervisor of another county does not even see the task.
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_clerk"}, headers=other_county)
    assert r.status_code == 403
    # An unclaimed task in scope, but the clerk is neither supervisor nor assignee.
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_clerk2"}, headers=clerk)
    assert r.status_code == 403
    # The target must be able to act on it.
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_reviewer"}, headers=county)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "not_eligible"
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": 7}, headers=county)
    assert r.status_code == 422 and r.json()["error"]["fields"][0] == {
        "field": "to", "code": "type", "message": "to must be a string"}

    # The county assigns it to th_clerk, then (seeing it unassigned in a stale list) tries th_clerk2: 409.
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_clerk", "expected_assignee": None},
                          headers=county)
    assert r.status_code == 200 and (r.json()["state"], r.json()["assignee"]) == ("CLAIMED", "th_clerk")
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_clerk2", "expected_assignee": None},
                          headers=county)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert (await fresh(task)).assignee == "th_clerk"
    # The assignee hands it on to a colleague who can act on it.
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_clerk2"}, headers=clerk)
    assert r.status_code == 200 and r.json()["assignee"] == "th_clerk2"
    assert [e.payload["to"] for e in await AuditEvent.filter(action="task.reassigned").order_by("seq")] == [
        "th_clerk", "th_clerk2"]
    # Once done, the task cannot be reassigned: 409, not 500.
    await engine.complete_task(task.id, {"approved": True}, actor="th_clerk2", opinion="同意")
    r = await client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": "th_clerk"}, headers=county)
    assert r.status_code in (403, 409)


async def test_api_comments_scope_and_validation(client: Any, engine: Engine) -> None:
    instance, task = await start_review(engine)
    village = await api_token(client, "wl_clerk")  # a township of another county: does not see the case
    clerk = await api_token(client, "th_clerk")
    county = await api_token(client, "dp_county")
    r = await client.post(f"/api/v1/tasks/{task.id}/comments", json={"body": "越权"}, headers=village)
    assert r.status_code == 403
    r = await client.get(f"/api/v1/instances/{instance.id}/comments", headers=village)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/tasks/{task.id}/comments", json={"body": ""}, headers=clerk)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "required"
    r = await client.post(f"/api/v1/tasks/{task.id}/comments", json={"body": "x" * 2001}, headers=clerk)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "maxLength"
    r = await client.post(f"/api/v1/tasks/{task.id}/comments", content=b"{", headers=clerk)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert not await Comment.all().exists()

    r = await client.post(f"/api/v1/tasks/{task.id}/comments", json={"body": " 请补充收入证明 "}, headers=clerk)
    assert r.status_code == 201 and r.json()["body"] == "请补充收入证明" and r.json()["task_id"] == str(task.id)
    r = await client.post(f"/api/v1/instances/{instance.id}/comments", json={"body": "区级已阅"}, headers=county)
    assert r.status_code == 201 and r.json()["task_id"] is None
    r = await client.get(f"/api/v1/instances/{instance.id}/comments", headers=county)
    assert [(c["author"], c["body"]) for c in r.json()["items"]] == [("th_clerk", "请补充收入证明"),
                                                                      ("dp_county", "区级已阅")]
    r = await client.get(f"/api/v1/tasks/{task.id}/comments", headers=clerk)
    assert [c["body"] for c in r.json()["items"]] == ["请补充收入证明"]
    assert await AuditEvent.filter(action="comment.added").count() == 2
    r = await client.get("/api/v1/instances/not-a-uuid/comments", headers=clerk)
    assert r.status_code == 404
    r = await client.delete(f"/api/v1/tasks/{task.id}/comments", headers=clerk)
    assert r.status_code == 405


async def test_api_concurrent_reassigns_one_wins_the_other_gets_409(client: Any, engine: Engine) -> None:
    import asyncio

    await add_user("th_clerk2", "通惠经办二", "511402001", ["township_clerk"])
    _, task = await start_review(engine)
    county = await api_token(client, "dp_county")
    admin = await api_token(client, "admin")
    responses = await asyncio.gather(*(
        client.post(f"/api/v1/tasks/{task.id}/reassign", json={"to": to, "expected_assignee": None}, headers=h)
        for to, h in (("th_clerk", county), ("th_clerk2", admin))))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    winner = next(r.json()["assignee"] for r in responses if r.status_code == 200)
    assert (await fresh(task)).assignee == winner
    assert await AuditEvent.filter(action="task.reassigned").count() == 1
    assert len(await inbox_of(winner)) == 1
