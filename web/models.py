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
