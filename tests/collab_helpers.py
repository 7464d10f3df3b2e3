"""Helpers for the collaboration tests (tests/integration/test_inbox__*.py): the collab fixture diagram, extra
users and a few readers of the real tables. No mocks: everything goes through the engine, the app and the database."""

from __future__ import annotations

from typing import Any

from engine.models import AuditEvent, HumanTask, Notification, ProcessInstance, User
from engine.runtime import Engine
from tests.conftest import FIXTURES, deploy_dir

COLLAB_DIR = FIXTURES / "bpmn" / "collab"
TOWNSHIP = "511402001"  # 通惠街道 (under 东坡区 511402, under 眉山市 511400)


async def start_review(engine: Engine, *, business_key: str = "CR-1", org_unit: str = TOWNSHIP,
                       actor: str = "th_clerk") -> tuple[ProcessInstance, HumanTask]:
    """A collab_review instance: its open task is 乡镇审查 (township_clerk, requireOpinion, due in 2 working days)."""
    if not await _deployed():
        await deploy_dir(engine, COLLAB_DIR, "collab.bpmn")
    instance = await engine.start("collab_review", org_unit=org_unit, actor=actor, business_key=business_key)
    task = await HumanTask.get(instance_id=instance.id, bpmn_id="Task_review")
    return instance, task


async def _deployed() -> bool:
    from engine.models import ProcessDefinition

    return await ProcessDefinition.filter(key="collab_review").exists()


async def add_user(username: str, display_name: str, org_unit: str, roles: list[str], *, email: str | None = None,
                   active: bool = True, password_hash: str = "x") -> User:
    return await User.create(username=username, display_name=display_name, org_unit_id=org_unit, roles=roles,
                             password_hash=password_hash, email=email, is_active=active)


async def task_actions(task_id: Any) -> list[str]:
    return [e.action for e in await AuditEvent.filter(task_id=str(task_id)).order_by("seq")]


async def inbox_of(username: str) -> list[tuple[str, str]]:
    return [(n.kind, n.title) for n in await Notification.filter(recipient=username).order_by("id")]


async def fresh(task: HumanTask) -> HumanTask:
    return await HumanTask.get(id=task.id)
