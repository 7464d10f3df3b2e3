"""Shared tables: checklist templates (versioned) and completed checklists, and recorded draws.

    ChecklistTemplate  code + version, items and parameter defaults as JSON (see workflows.common.checklist)
    ChecklistRecord    one completed checklist for a subject, with its answers and findings
    DrawRecord         one verifiable draw: seed, population hash and snapshot, ratio, k, result
    FindingRecord      one failed checklist item: corrective action, owner (a name, or an org unit), due date
                       (editable while open, audited), closure (who, when, note, evidence attachment); see
                       workflows.common.findings
    FindingProgress    one progress report on an open finding by its owner (note, optional evidence attachment)
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

    template_id: int

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


class FindingRecord(Model):
    id = fields.IntField(primary_key=True)
    record: fields.ForeignKeyRelation[ChecklistRecord] = fields.ForeignKeyField(
        "common.ChecklistRecord", related_name="finding_rows", on_delete=fields.RESTRICT)
    subject_type = fields.CharField(max_length=32)
    subject_id = fields.CharField(max_length=64)
    subject_name = fields.CharField(max_length=200, default="")  # shown in lists, e.g. the organization name
    scope_path = fields.CharField(max_length=255)  # org path of the authority that tracks the finding
    item = fields.CharField(max_length=64)
    label = fields.CharField(max_length=300)
    message = fields.CharField(max_length=1000)
    legal_basis = fields.CharField(max_length=200, default="")
    severity = fields.CharField(max_length=16, default="major")
    value = fields.CharField(max_length=64, null=True)
    corrective_action = fields.CharField(max_length=1000)
    owner = fields.CharField(max_length=200)  # who must carry out the corrective action
    owner_unit_code = fields.CharField(max_length=32, null=True)  # set when the owner is an org unit
    due_date = fields.DateField()
    status = fields.CharField(max_length=16, default="open")  # open / closed
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=64, null=True)
    closure_note = fields.TextField(null=True)
    evidence_attachment_id = fields.IntField(null=True)  # engine Attachment on the subject instance
    updated_at = fields.DatetimeField(null=True)  # last change of owner, action or due date (audited)
    updated_by = fields.CharField(max_length=64, null=True)

    record_id: int

    class Meta:
        table = "checklist_finding"
        indexes = [Index(fields=["scope_path", "status", "due_date"]), Index(fields=["subject_type", "subject_id"])]


class FindingProgress(Model):
    id = fields.IntField(primary_key=True)
    finding: fields.ForeignKeyRelation[FindingRecord] = fields.ForeignKeyField(
        "common.FindingRecord", related_name="progress_rows", on_delete=fields.RESTRICT)
    note = fields.TextField()
    evidence_attachment_id = fields.IntField(null=True)  # engine Attachment on the checklist instance
    reported_by = fields.CharField(max_length=64)
    reported_unit = fields.CharField(max_length=32)  # the org unit of the reporter
    reported_at = fields.DatetimeField()

    finding_id: int

    class Meta:
        table = "checklist_finding_progress"
        indexes = [Index(fields=["finding_id", "reported_at"])]
