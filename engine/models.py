"""Tables owned by the engine.

    OrgUnit ─┬─< User ──< ApiToken
             │
    ProcessDefinition ──< ProcessInstance ──< HumanTask
                                         └──< AuditEvent (hash chain, head in AuditHead)
    CalendarDay (holidays and 调休 make-up working days)

    ProcessInstance ──< Comment     (审批意见, on the instance or one of its tasks)
                    └──< Attachment (metadata; the bytes live in <data dir>/attachments by content hash)
    Notification                    (in-app notification centre, per recipient username)

Queryable values live in real columns (JSON filtering does not work on SQLite); the Spiff
state is opaque JSON text, written and read only by `engine.runtime`.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

# Integer ids are 32-bit columns: a larger number names no row (and PostgreSQL refuses it in a query with an error).
MAX_DB_INT = 2**31 - 1


class OrgUnit(Model):
    code = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=100)
    level = fields.CharField(max_length=16)  # city / county / township / village
    parent: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "engine.OrgUnit", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    # "/511400/511402/511402001/" — subtree queries are a prefix match on this column.
    path = fields.CharField(max_length=255)
    is_demo = fields.BooleanField(default=False)

    class Meta:
        table = "org_unit"
        indexes = [Index(fields=["path"])]


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=100)
    password_hash = fields.CharField(max_length=255)
    org_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "engine.OrgUnit", related_name="users", on_delete=fields.RESTRICT
    )
    roles: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    email = fields.CharField(max_length=254, null=True)  # optional: notifications are also e-mailed when SMTP is set
    email_arrivals = fields.BooleanField(default=True)  # also e-mail the batched new-tasks-in-your-queue notice

    org_unit_id: str

    class Meta:
        table = "app_user"


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("engine.User", related_name="tokens")
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "api_token"


class ProcessDefinition(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=100)
    version = fields.IntField()
    name = fields.CharField(max_length=200)
    instances: fields.ReverseRelation[ProcessInstance]
    content_hash = fields.CharField(max_length=64)
    bpmn_filename = fields.CharField(max_length=200)
    bpmn_xml = fields.TextField()
    dmn_sources: dict[str, str] = fields.JSONField(default=dict)  # type: ignore[assignment]  # filename -> XML
    forms: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]  # filename -> JSON Schema
    deployed_at = fields.DatetimeField()
    deployed_by = fields.CharField(max_length=64, default="system")

    class Meta:
        table = "process_definition"
        unique_together = (("key", "version"), ("key", "content_hash"))


class ProcessInstance(Model):
    id = fields.UUIDField(primary_key=True)
    definition: fields.ForeignKeyRelation[ProcessDefinition] = fields.ForeignKeyField(
        "engine.ProcessDefinition", related_name="instances", on_delete=fields.RESTRICT
    )
    process_key = fields.CharField(max_length=100)
    process_version = fields.IntField()
    business_key = fields.CharField(max_length=100, null=True)
    org_unit = fields.CharField(max_length=32)
    org_path = fields.CharField(max_length=255)
    status = fields.CharField(max_length=16)  # running / completed / cancelled / error
    next_timer_at = fields.DatetimeField(null=True)
    state = fields.TextField(null=True)  # Spiff state without the spec; dropped when compacted
    data: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]  # final/business summary for list pages
    error = fields.TextField(null=True)
    started_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)  # optimistic lock

    definition_id: int

    class Meta:
        table = "process_instance"
        indexes = [
            Index(fields=["process_key", "status"]),
            Index(fields=["business_key"]),
            Index(fields=["org_path"]),
            Index(fields=["status", "next_timer_at"]),
            Index(fields=["updated_at"]),
        ]


class HumanTask(Model):
    id = fields.UUIDField(primary_key=True)  # the Spiff task id, stable across save/load
    instance: fields.ForeignKeyRelation[ProcessInstance] = fields.ForeignKeyField(
        "engine.ProcessInstance", related_name="human_tasks", on_delete=fields.CASCADE
    )
    process_key = fields.CharField(max_length=100)
    bpmn_id = fields.CharField(max_length=100)
    name = fields.CharField(max_length=200)
    title = fields.CharField(max_length=300)
    form = fields.CharField(max_length=200, null=True)
    candidate_role = fields.CharField(max_length=64)
    org_unit = fields.CharField(max_length=32)
    org_path = fields.CharField(max_length=255)
    assignee = fields.CharField(max_length=64, null=True)
    owner = fields.CharField(max_length=64, null=True)  # delegate-and-return: who gets it back
    priority = fields.IntField(default=50)
    state = fields.CharField(max_length=16)  # READY / CLAIMED / DONE / CANCELED
    due_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    claimed_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    completed_by = fields.CharField(max_length=64, null=True)
    escalated_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)  # near-due reminder sent (engine.reminders), once
    announced_at = fields.DatetimeField(null=True)  # queue arrival announced to the users who can act, once

    instance_id: str

    class Meta:
        table = "human_task"
        indexes = [
            Index(fields=["state", "org_unit", "candidate_role"]),
            Index(fields=["assignee", "state"]),
            Index(fields=["org_path", "state"]),
            Index(fields=["completed_by", "completed_at"]),
            Index(fields=["due_at"]),
            Index(fields=["announced_at"]),  # the arrival sweep looks for NULLs
        ]


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField(unique=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=64)
    action = fields.CharField(max_length=64)
    instance_id = fields.CharField(max_length=36, null=True)
    task_id = fields.CharField(max_length=36, null=True)
    payload: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"
        indexes = [Index(fields=["instance_id", "seq"])]


# A single row holding the chain's tip. Locking it serializes appends across processes.
class AuditHead(Model):
    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField(default=0)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_head"


class CalendarDay(Model):
    day = fields.DateField(primary_key=True)
    is_working = fields.BooleanField()  # False: public holiday; True: 调休 make-up working day on a weekend
    note = fields.CharField(max_length=100, default="")

    class Meta:
        table = "calendar_day"


# A comment or opinion (审批意见) on an instance, optionally on one of its tasks. Append-only, and every
# comment is also an audit event (comment.added) committed in the same transaction.
class Comment(Model):
    id = fields.IntField(primary_key=True)
    instance: fields.ForeignKeyRelation[ProcessInstance] = fields.ForeignKeyField(
        "engine.ProcessInstance", related_name="comments", on_delete=fields.CASCADE
    )
    task: fields.ForeignKeyNullableRelation[HumanTask] = fields.ForeignKeyField(
        "engine.HumanTask", related_name="comments", null=True, on_delete=fields.CASCADE
    )
    author = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=16)  # comment / opinion (given when completing) / resolution (delegate)
    body = fields.TextField()
    created_at = fields.DatetimeField()

    instance_id: str
    task_id: str | None

    class Meta:
        table = "task_comment"
        indexes = [Index(fields=["instance_id", "created_at"]), Index(fields=["task_id", "author"])]


# A file attached to an instance or one of its tasks. The bytes are stored once per content hash outside the
# database and the workflow state. org_path is the scope of the case, checked on every download.
class Attachment(Model):
    id = fields.IntField(primary_key=True)
    instance: fields.ForeignKeyRelation[ProcessInstance] = fields.ForeignKeyField(
        "engine.ProcessInstance", related_name="attachments", on_delete=fields.CASCADE
    )
    task: fields.ForeignKeyNullableRelation[HumanTask] = fields.ForeignKeyField(
        "engine.HumanTask", related_name="attachments", null=True, on_delete=fields.CASCADE
    )
    org_path = fields.CharField(max_length=255)
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    uploaded_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    instance_id: str
    task_id: str | None

    class Meta:
        table = "attachment"
        indexes = [Index(fields=["instance_id", "created_at"]), Index(fields=["task_id"]), Index(fields=["sha256"])]


# One in-app notification for one user. kind is a stable code (task.assigned, task.escalated ...),
# title and body are the Chinese text shown, link is a path inside the app.
class Notification(Model):
    id = fields.IntField(primary_key=True)
    recipient = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    link = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = [Index(fields=["recipient", "read_at"]), Index(fields=["recipient", "created_at"])]
