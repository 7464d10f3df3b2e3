"""Authorization, in one place.

A human task is actionable by a user whose roles include the task's candidate role AND whose
org unit is the task's org unit (and, once claimed, only by its assignee). Users see, read-only,
tasks and instances whose org unit lies in their own subtree (prefix match on the org path).
Nobody sees outside their subtree. Every list, page and API call goes through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from engine.models import HumanTask, OrgUnit, ProcessInstance, User

ADMIN = "admin"
OPEN_STATES = ("READY", "CLAIMED")


@dataclass(frozen=True)
class Actor:
    username: str
    display_name: str
    org_code: str
    org_path: str
    org_name: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


async def actor_for(user: User) -> Actor:
    cached = user.__dict__.get("_org_unit")  # present when loaded with select_related("...org_unit")
    org = cached if isinstance(cached, OrgUnit) else await OrgUnit.get(code=user.org_unit_id)
    return Actor(user.username, user.display_name, org.code, org.path, org.name, frozenset(user.roles))


def can_see_path(actor: Actor, org_path: str) -> bool:
    return org_path.startswith(actor.org_path)


def can_act(actor: Actor, task: HumanTask) -> bool:
    return (
        task.state in OPEN_STATES
        and task.candidate_role in actor.roles
        and task.org_unit == actor.org_code
        and task.assignee in (None, actor.username)
    )


def can_claim(actor: Actor, task: HumanTask) -> bool:
    return task.state == "READY" and task.assignee is None and can_act(actor, task)


def visible_tasks(actor: Actor) -> QuerySet[HumanTask]:
    return HumanTask.filter(org_path__startswith=actor.org_path)


def actionable_tasks(actor: Actor) -> QuerySet[HumanTask]:
    return HumanTask.filter(
        Q(assignee=None) | Q(assignee=actor.username),
        state__in=OPEN_STATES, org_unit=actor.org_code, candidate_role__in=sorted(actor.roles),
    )


def visible_instances(actor: Actor) -> QuerySet[ProcessInstance]:
    return ProcessInstance.filter(org_path__startswith=actor.org_path)


def visible_org_units(actor: Actor) -> QuerySet[OrgUnit]:
    return OrgUnit.filter(path__startswith=actor.org_path)
