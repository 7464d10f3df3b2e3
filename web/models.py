"""Tables owned by the web layer: per-user UI state (saved inbox filters)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


# A named inbox filter: personal (owner set) or shared with everyone in an org unit (shared_org set).
class SavedFilter(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50)
    owner = fields.CharField(max_length=64, null=True)
    shared_org = fields.CharField(max_length=32, null=True)
    params: dict[str, Any] = fields.JSONField()  # type: ignore[assignment]
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "saved_filter"
        indexes = [Index(fields=["owner"]), Index(fields=["shared_org"])]


# A bulk action over more tasks than a page (all matching an inbox filter), run in chunks in the background.
# results: one {task_id, title, ok, message} per processed item, in order.
class BulkJob(Model):
    id = fields.IntField(primary_key=True)
    owner = fields.CharField(max_length=64)
    action = fields.CharField(max_length=16)  # claim / unclaim / reassign / complete
    target = fields.CharField(max_length=64, null=True)  # reassign: the receiving user
    data: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]  # complete: the shared form
    task_ids: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    results: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    total = fields.IntField(default=0)
    processed = fields.IntField(default=0)
    succeeded = fields.IntField(default=0)
    status = fields.CharField(max_length=16, default="pending")  # pending / running / done / failed
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(null=True)  # heartbeat: set per chunk; a running job long silent was cut off
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bulk_job"
        indexes = [Index(fields=["owner", "created_at"])]
