"""Bulk actions over all tasks matching an inbox filter: a job record, run in the background in chunks.

    POST /inbox/bulk (all_matching=1)   creates the job (the matching task ids, at most MAX_JOB) and starts it
    GET  /inbox/bulk/{id}               progress (htmx polls the `progress` block every second while it runs),
                                        then every item's result, failures first; only the job's owner sees it
    POST /inbox/bulk/{id}/resume        continue a job cut off by a restart (no progress for STALE): from the
                                        first unprocessed item; the finished part is not redone

Each item runs as the single action would (`web.inbox.run_item`: the same authz checks, its own engine
transaction); a failing item — refused, changed meanwhile, or an unexpected error — is recorded and never stops
the rest. Progress and results are stored after every chunk, so the page shows them while the job runs and a
crashed process leaves the finished part recorded.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.authz import Actor
from engine.models import MAX_DB_INT
from engine.runtime import Engine
from web.auth import ctx_of, login_required
from web.models import BulkJob
from web.render import page

log = logging.getLogger("civicflow.inbox")
MAX_JOB = 2000  # tasks in one job
CHUNK = 25  # items between progress updates
STALE = timedelta(minutes=2)  # a running job without progress for this long was cut off (restart, crash)
ACTION_LABELS = {"claim": "批量签收", "unclaim": "批量退回签收", "reassign": "批量改派", "complete": "批量办理"}
_background: set[asyncio.Task[Any]] = set()  # keep running jobs referenced until they finish


async def create_job(actor: Actor, action: str, ids: list[str], *, now: Any, to: str | None = None,
                     data: dict[str, Any] | None = None) -> BulkJob:
    return await BulkJob.create(owner=actor.username, action=action, target=to, data=data or {},
                                task_ids=ids[:MAX_JOB], total=min(len(ids), MAX_JOB), created_at=now,
                                updated_at=now)


async def run_job(engine: Engine, actor: Actor, job_id: int, schema: dict[str, Any] | None = None, *,
                  chunk: int = CHUNK) -> BulkJob:
    """Process the job's items in chunks, storing progress and per-item results after each chunk."""
    from web.inbox import _bulk_tasks, run_item  # the inbox module owns the single-item semantics

    job = await BulkJob.get(id=job_id)
    await BulkJob.filter(id=job_id).update(status="running", updated_at=engine.clock.now())
    results: list[dict[str, Any]] = list(job.results)
    succeeded = job.succeeded
    try:
        for offset in range(len(results), len(job.task_ids), chunk):
            for task_id, task in await _bulk_tasks(actor, job.task_ids[offset:offset + chunk]):
                if task is None:
                    ok, message, title = False, "事项不存在或不在您的范围内", task_id
                else:
                    title = task.title
                    try:
                        ok, message = await run_item(engine, actor, job.action, task, to=job.target or "",
                                                     data=job.data, schema=schema)
                    except Exception:  # noqa: BLE001 - one broken item must not stop the others
                        log.exception("bulk job %s: item %s failed", job_id, task_id)
                        ok, message = False, "处理出错,已跳过(详见系统日志)"
                results.append({"task_id": task_id, "title": title, "ok": ok, "message": message})
                succeeded += ok
            await BulkJob.filter(id=job_id).update(results=results, processed=len(results), succeeded=succeeded,
                                                   updated_at=engine.clock.now())
    except Exception as exc:  # noqa: BLE001 - stored on the job and shown on its page
        log.exception("bulk job %s stopped", job_id)
        await BulkJob.filter(id=job_id).update(status="failed", error=str(exc)[:2000],
                                               finished_at=engine.clock.now())
        return await BulkJob.get(id=job_id)
    await BulkJob.filter(id=job_id).update(status="done", finished_at=engine.clock.now())
    return await BulkJob.get(id=job_id)


def start(engine: Engine, actor: Actor, job_id: int, schema: dict[str, Any] | None) -> None:
    task = asyncio.create_task(run_job(engine, actor, job_id, schema))
    _background.add(task)
    task.add_done_callback(_background.discard)


def is_stale(job: BulkJob, now: Any) -> bool:
    return job.status in ("pending", "running") and (job.updated_at or job.created_at) < now - STALE


async def _own_job(request: Request, actor: Actor) -> BulkJob:
    job = await BulkJob.get_or_none(id=request.path_params["job_id"]) \
        if request.path_params["job_id"] <= MAX_DB_INT else None
    if job is None or job.owner != actor.username:
        raise HTTPException(404, "批量操作不存在。")
    return job


@login_required
async def job_page(request: Request, actor: Actor) -> Response:
    job = await _own_job(request, actor)
    stale = is_stale(job, ctx_of(request).engine.clock.now())
    return page(request, "inbox_job.html", {
        "job": job, "label": ACTION_LABELS.get(job.action, job.action), "stale": stale,
        "failed": [r for r in job.results if not r["ok"]], "ok": [r for r in job.results if r["ok"]],
        "running": job.status in ("pending", "running") and not stale,
        "percent": round(100 * job.processed / job.total, 1) if job.total else 100,
    }, block="progress")


@login_required
async def resume(request: Request, actor: Actor) -> Response:
    """Continue a job that stopped making progress; taken with a conditional update, so only one resumes it."""
    job = await _own_job(request, actor)
    engine = ctx_of(request).engine
    now = engine.clock.now()
    if is_stale(job, now) and await BulkJob.filter(id=job.id, status=job.status, updated_at=job.updated_at).update(
            updated_at=now) == 1:
        start(engine, actor, job.id, None)
    return RedirectResponse(f"/inbox/bulk/{job.id}", status_code=303)
