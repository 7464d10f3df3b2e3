"""Shared tables: checklist templates (versioned) and completed checklists, and recorded draws.

    ChecklistTemplate  code + version, items and parameter defaults as JSON (see workflows.common.checklist)
    ChecklistRecord    one completed checklist for a subject, with its answers and findings
    DrawRecord         one verifiable draw: seed, population hash and snapshot, ratio, k, result
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class ChecklistTemplate(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64)
    version = fields.IntField()
    title = fields.CharField(max_length=200)
    body: dict[str, Any] = fields.JSONField()  # type: ignore[assignment]
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by = fields.CharField(max_length=64, default="system")

    class Meta:
        table = "checklist_template"
        unique_together = (("code", "version"),)


class ChecklistRecord(Model):
    id = fields.IntField(primary_key=True)
    template: fields.ForeignKeyRelation[ChecklistTemplate] = fields.ForeignKeyField(
        "common.ChecklistTemplate", related_name="records", on_delete=fields.RESTRICT)
    subject_type = fields.CharField(max_length=32)
    subject_id = fields.CharField(max_length=64)
    instance_id = fields.CharField(max_length=36, null=True)
    inspector = fields.CharField(max_length=64)
    answers: dict[str, Any] = fields.JSONField()  # type: ignore[assignment]
    findings: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    passed = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "checklist_record"
        indexes = [Index(fields=["subject_type", "subject_id"])]


class DrawRecord(Model):
    id = fields.IntField(primary_key=True)
    purpose = fields.CharField(max_length=64)  # e.g. social_org_spot_check, dibao_post_audit
    scope = fields.CharField(max_length=64)  # org unit code / plan id the draw belongs to
    seed = fields.CharField(max_length=64)
    population_hash = fields.CharField(max_length=64)
    population: list[str] = fields.JSONField()  # type: ignore[assignment]
    ratio = fields.FloatField()
    k = fields.IntField()
    selected: list[str] = fields.JSONField()  # type: ignore[assignment]
    drawn_at = fields.DatetimeField()
    drawn_by = fields.CharField(max_length=64)

    class Meta:
        table = "draw_record"
        indexes = [Index(fields=["purpose", "scope"])]
