"""Bulk actions over all tasks matching the inbox filter: a background job in chunks, progress polled with htmx,
every item's result kept; items that fail (already claimed by someone else, changed meanwhile, or an unexpected
error) are recorded and never stop the others."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from engine.authz import actor_for
from engine.clock import FakeClock
from engine.models import HumanTask, User
from engine.runtime import Engine
from tests.collab_helpers import TOWNSHIP, add_user, start_review
from tests.conftest import browser_login
from web import inbox_jobs
from web.models import BulkJob

N = 300  # "a few hundred"
TAKEN = 12


async def wait_done(job_id: int, seconds: float = 240) -> BulkJob:
    for _ in range(int(seconds * 20)):
        job = await BulkJob.get(id=job_id)
        if job.status not in ("pending", "running"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"bulk job {job_id} still {job.status} after {seconds}s ({job.processed}/{job.total})")


async def test_bulk_claim_all_matching_runs_in_chunks_and_reports_every_item(engine: Engine, client: Any) -> None:
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"])
    tasks = [(await start_review(engine, business_key=f"CR-{n:03}"))[1] for n in range(N)]
    await start_review(engine, business_key="DS-1", org_unit="511402002", actor="dsq_clerk")  # not in scope
    taken = tasks[::N // TAKEN][:TAKEN]
    for task in taken:  # someone else claimed these: in the scope view, but they cannot be claimed again
        await engine.claim(task.id, actor="th_clerk2")

    csrf = await browser_login(client, "th_clerk")
    listing = (await client.get("/inbox?view=scope&q=CR-")).text
    assert f"全部符合筛选的 {N} 项" in listing and 'name="filter_view" value="scope"' in listing
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "claim", "all_matching": "1",
                                               "filter_view": "scope", "filter_q": "CR-", "filter_sort": "due"})
    assert r.status_code == 303 and re.fullmatch(r"/inbox/bulk/\d+", r.headers["location"])
    job = await wait_done(int(r.headers["location"].rsplit("/", 1)[1]))

    assert (job.status, job.total, job.processed, job.succeeded) == ("done", N, N, N - TAKEN)
    assert len(job.results) == N and len({r["task_id"] for r in job.results}) == N
    failed = [r for r in job.results if not r["ok"]]
    assert sorted(r["task_id"] for r in failed) == sorted(str(t.id) for t in taken)
    assert {r["message"] for r in failed} == {"角色、单位不符或已被签收"}
    assert await HumanTask.filter(assignee="th_clerk", state="CLAIMED").count() == N - TAKEN
    assert await HumanTask.filter(assignee="th_clerk2").count() == TAKEN  # untouched
    assert await HumanTask.filter(org_unit="511402002", assignee=None).count() == 1  # outside: untouched

    page = (await client.get(r.headers["location"])).text
    assert f"已处理 <strong>{N}</strong> / {N} 项" in page and f"成功 <strong>{N - TAKEN}</strong> 项" in page
    assert f"失败 <strong class=\"danger-text\">{TAKEN}</strong> 项" in page and 'hx-get="/inbox/bulk/' not in page
    assert page.count("row-failed") == TAKEN and page.count("row-ok") == N - TAKEN
    # Another user cannot see the job.
    await browser_login(client, "th_reviewer")
    assert (await client.get(r.headers["location"])).status_code == 404


async def test_running_job_page_polls_and_shows_partial_results(engine: Engine, client: Any) -> None:
    _, task = await start_review(engine)
    actor = await actor_for(await User.get(username="th_clerk"))
    job = await inbox_jobs.create_job(actor, "claim", [str(task.id), "x"], now=engine.clock.now())
    await BulkJob.filter(id=job.id).update(status="running", processed=1, succeeded=0, results=[
        {"task_id": "x", "title": "x", "ok": False, "message": "事项不存在或不在您的范围内"}])
    await browser_login(client, "th_clerk")
    full = (await client.get(f"/inbox/bulk/{job.id}")).text
    assert 'hx-get="/inbox/bulk/' in full and 'hx-trigger="every 1s"' in full and "正在处理" in full
    fragment = (await client.get(f"/inbox/bulk/{job.id}", headers={"HX-Request": "true"})).text
    assert fragment.lstrip().startswith('<section class="card job-progress" id="progress"')
    assert "<html" not in fragment and 'value="1"' in fragment and "事项不存在或不在您的范围内" in fragment


async def test_an_unexpected_error_on_one_item_does_not_stop_the_rest(engine: Engine, client: Any,
                                                                     monkeypatch: Any) -> None:
    tasks = [(await start_review(engine, business_key=f"CR-{n}"))[1] for n in range(7)]
    broken = tasks[3].id
    real_claim = engine.claim

    async def claim(task_id: Any, *, actor: str) -> HumanTask:  # one item hits a bug; the engine is real
        if str(task_id) == str(broken):
            raise RuntimeError("disk full")
        return await real_claim(task_id, actor=actor)

    monkeypatch.setattr(engine, "claim", claim)
    actor = await actor_for(await User.get(username="th_clerk"))
    job = await inbox_jobs.create_job(actor, "claim", [str(t.id) for t in tasks] + ["no-such-task"],
                                      now=engine.clock.now())
    done = await inbox_jobs.run_job(engine, actor, job.id, chunk=3)
    assert (done.status, done.processed, done.succeeded) == ("done", 8, 6)
    assert [r["ok"] for r in done.results] == [True, True, True, False, True, True, True, False]
    assert done.results[3]["message"].startswith("处理出错") and done.results[7]["message"].startswith("事项不存在")
    assert await HumanTask.filter(assignee="th_clerk").count() == 6


async def test_bulk_complete_all_matching_confirms_the_shared_form_then_runs_as_a_job(engine: Engine,
                                                                                      client: Any) -> None:
    for n in range(30):
        _, review = await start_review(engine, business_key=f"CR-{n:02}")
        await engine.complete_task(review.id, {"approved": True}, actor="th_clerk", opinion="同意")
    assert await HumanTask.filter(bpmn_id="Task_signoff", state="READY").count() == 30
    csrf = await browser_login(client, "dp_county")
    form = {"csrf_token": csrf, "action": "complete", "all_matching": "1", "filter_view": "todo",
            "filter_q": "县级签批"}
    step1 = await client.post("/inbox/bulk", data=form)
    assert step1.status_code == 200 and "等共 30 项" in step1.text and 'name="all_matching" value="1"' in step1.text
    r = await client.post("/inbox/bulk", data={**form, "confirm": "yes"})
    assert r.status_code == 303
    job = await wait_done(int(r.headers["location"].rsplit("/", 1)[1]))
    assert (job.status, job.total, job.succeeded) == ("done", 30, 30)
    assert await HumanTask.filter(bpmn_id="Task_signoff", state="DONE", completed_by="dp_county").count() == 30
    # Nothing matches any more: a clear message, no job.
    r = await client.post("/inbox/bulk", data=form)
    assert r.status_code == 303 and await BulkJob.all().count() == 1


async def test_a_forged_task_id_is_one_failed_item_not_a_server_error(engine: Engine, client: Any) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")  # PostgreSQL rejects a non-UUID in the query: it must not get one
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "claim",
                                               "task_ids": ["nope", str(task.id).upper()]})
    assert r.status_code == 200
    assert "事项不存在或不在您的范围内" in r.text and "成功 1 项,失败 1 项" in r.text
    assert (await HumanTask.get(id=task.id)).assignee == "th_clerk"


async def test_a_job_cut_off_by_a_restart_can_be_resumed_once_without_redoing_items(engine: Engine,
                                                                                    client: Any) -> None:
    from datetime import timedelta

    tasks = [(await start_review(engine, business_key=f"CR-{n}"))[1] for n in range(5)]
    actor = await actor_for(await User.get(username="th_clerk"))
    job = await inbox_jobs.create_job(actor, "claim", [str(t.id) for t in tasks], now=engine.clock.now())
    for task in tasks[:2]:  # the part done before the process died
        await engine.claim(task.id, actor="th_clerk")
    await BulkJob.filter(id=job.id).update(status="running", processed=2, succeeded=2, results=[
        {"task_id": str(t.id), "title": t.title, "ok": True, "message": "已签收"} for t in tasks[:2]])
    csrf = await browser_login(client, "th_clerk")

    # The inbox points to the unfinished job.
    assert f'<a href="/inbox/bulk/{job.id}">批量签收 2 / 5 项</a>' in (await client.get("/inbox")).text
    # Recently active: still shown as running; a resume request does not start a second runner.
    page = (await client.get(f"/inbox/bulk/{job.id}")).text
    assert "正在处理" in page and "继续处理" not in page
    assert (await client.post(f"/inbox/bulk/{job.id}/resume", data={"csrf_token": csrf})).status_code == 303
    await asyncio.sleep(0.2)
    assert (await BulkJob.get(id=job.id)).processed == 2

    assert isinstance(engine.clock, FakeClock)
    engine.clock.advance(timedelta(minutes=3))  # no progress for 3 minutes: cut off
    page = (await client.get(f"/inbox/bulk/{job.id}")).text
    assert "处理已中断" in page and "继续处理其余 3 项" in page and 'hx-get="/inbox/bulk/' not in page
    r = await client.post(f"/inbox/bulk/{job.id}/resume", data={"csrf_token": csrf})
    assert r.status_code == 303
    done = await wait_done(job.id)
    assert (done.status, done.processed, done.succeeded) == ("done", 5, 5)
    assert [r["task_id"] for r in done.results] == [str(t.id) for t in tasks]  # the first two not redone
    assert await HumanTask.filter(assignee="th_clerk").count() == 5
    assert (await client.post(f"/inbox/bulk/{job.id}/resume", data={"csrf_token": csrf})).status_code == 303
    assert (await BulkJob.get(id=job.id)).processed == 5
    assert "后台批量操作" not in (await client.get("/inbox")).text  # finished: no longer pointed to
    # Not the owner: the job does not exist for them; without a CSRF token: refused.
    assert (await client.post(f"/inbox/bulk/{job.id}/resume", data={})).status_code == 403
    csrf = await browser_login(client, "th_reviewer")
    assert (await client.post(f"/inbox/bulk/{job.id}/resume", data={"csrf_token": csrf})).status_code == 404
