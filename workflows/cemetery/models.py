"""Cemetery tables: the register and the yearly inspection.

    Cemetery               one cemetery: type, area, plots, prices, operator, sales status (+ reason)
      ├── CemeteryDocument licences and approvals with their expiry (经营许可, 建设批复, 用地, 规划, 价格)
      └── CemeteryInspection  one inspection of one cemetery in one campaign year, outcome, instance id
            ├── Rectification one finding turned into a corrective action with owner, due date, status
            └── InspectionPhoto  a photo taken on site, for one checklist item or one measured plot
    InspectionCampaign     the yearly campaign (年检工作) a set of inspections belongs to
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

CEMETERY_TYPES = {"public_welfare": "公益性", "commercial": "经营性"}
AREA_KINDS = {"rural": "农村", "urban": "城市"}
SALES_STATUSES = {"open": "正常销售", "sales_frozen": "暂停销售(限期整改)", "closed": "已关闭"}
DOCUMENT_KINDS = {"construction_approval": "建设批复", "operating_licence": "经营许可", "land": "用地批准",
                  "planning": "规划许可", "price_approval": "价格批复"}
OUTCOMES = {"pass": "合格", "rectify": "限期整改", "defer": "延期年检"}
INSPECTION_STAGES = {"self_report": "自查", "onsite": "县级实地检查", "city_review": "市级审核",
                     "rectifying": "限期整改中", "acceptance": "整改验收", "escalated": "逾期督办",
                     "reinspection": "待复检", "done": "已办结"}
RECTIFICATION_STATUSES = {"open": "整改中", "verified": "验收通过", "closed": "已关闭"}


class Cemetery(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    cemetery_type = fields.CharField(max_length=16)  # public_welfare / commercial
    area_kind = fields.CharField(max_length=8)  # rural / urban
    county_code = fields.CharField(max_length=32)
    township_code = fields.CharField(max_length=32)
    org_path = fields.CharField(max_length=255)  # the township path, for scoping by the actor's subtree
    operator = fields.CharField(max_length=100)
    area_m2 = fields.DecimalField(max_digits=12, decimal_places=2)
    plots_single = fields.IntField(default=0)
    plots_double = fields.IntField(default=0)
    plots_ashes = fields.IntField(default=0)
    plots_body = fields.IntField(default=0)
    plots_eco = fields.IntField(default=0)  # 生态葬 (tree, lawn, flower, wall niche) places
    prices: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    status = fields.CharField(max_length=16, default="open")
    status_reason = fields.CharField(max_length=500, default="")
    status_changed_at = fields.DatetimeField(null=True)
    frozen_inspection_id = fields.IntField(null=True)  # the 限期整改 inspection whose acceptance must pass first
    is_demo = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    documents: fields.ReverseRelation[CemeteryDocument]
    inspections: fields.ReverseRelation[CemeteryInspection]

    class Meta:
        table = "cemetery"
        indexes = [Index(fields=["org_path"]), Index(fields=["county_code", "cemetery_type"])]

    @property
    def plots_total(self) -> int:
        return self.plots_single + self.plots_double


class CemeteryDocument(Model):
    id = fields.IntField(primary_key=True)
    cemetery: fields.ForeignKeyRelation[Cemetery] = fields.ForeignKeyField(
        "cemetery.Cemetery", related_name="documents", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=32)
    number = fields.CharField(max_length=100)
    issued_by = fields.CharField(max_length=100, default="")
    issued_on = fields.DateField(null=True)
    expires_on = fields.DateField(null=True)  # None: no expiry

    class Meta:
        table = "cemetery_document"


class InspectionCampaign(Model):
    id = fields.IntField(primary_key=True)
    year = fields.IntField(unique=True)
    title = fields.CharField(max_length=200)
    opened_at = fields.DatetimeField()
    opened_by = fields.CharField(max_length=64)

    class Meta:
        table = "cemetery_campaign"


class CemeteryInspection(Model):
    id = fields.IntField(primary_key=True)
    cemetery: fields.ForeignKeyRelation[Cemetery] = fields.ForeignKeyField(
        "cemetery.Cemetery", related_name="inspections", on_delete=fields.RESTRICT)
    campaign: fields.ForeignKeyRelation[InspectionCampaign] = fields.ForeignKeyField(
        "cemetery.InspectionCampaign", related_name="inspections", on_delete=fields.RESTRICT)
    year = fields.IntField()
    org_path = fields.CharField(max_length=255)  # copied from the cemetery, for scoped queries
    instance_id = fields.CharField(max_length=36, null=True)
    stage = fields.CharField(max_length=16, default="self_report")
    outcome = fields.CharField(max_length=16, null=True)  # pass / rectify / defer, once published
    published_at = fields.DatetimeField(null=True)
    checklist_record_id = fields.IntField(null=True)  # the on-site checklist (common.ChecklistRecord)
    acceptance_record_id = fields.IntField(null=True)  # the latest passed acceptance checklist
    rectification_due = fields.DatetimeField(null=True)
    reinspection_due = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The checklist template (common.ChecklistTemplate) current when the inspection started: its checklists use
    # that version even after a new one is published. Null on rows older than this column.
    template_id = fields.IntField(null=True)

    rectifications: fields.ReverseRelation[Rectification]

    class Meta:
        table = "cemetery_inspection"
        unique_together = (("cemetery", "year"),)
        indexes = [Index(fields=["year", "org_path"]), Index(fields=["instance_id"])]


class Rectification(Model):
    id = fields.IntField(primary_key=True)
    inspection: fields.ForeignKeyRelation[CemeteryInspection] = fields.ForeignKeyField(
        "cemetery.CemeteryInspection", related_name="rectifications", on_delete=fields.CASCADE)
    checklist_record_id = fields.IntField()
    item = fields.CharField(max_length=64)
    finding = fields.CharField(max_length=500)
    legal_basis = fields.CharField(max_length=200, default="")
    corrective_action = fields.CharField(max_length=500)
    owner = fields.CharField(max_length=100)
    due_on = fields.DateField()
    status = fields.CharField(max_length=16, default="open")
    verified_record_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Progress reported by the township or county while the item is open; evidence = engine Attachment ids.
    # Nullable: added to a table that may hold rows (a NOT NULL column needs a database default).
    progress = fields.CharField(max_length=1000, null=True)
    progress_at = fields.DatetimeField(null=True)
    progress_by = fields.CharField(max_length=64, null=True)
    evidence: list[int] | None = fields.JSONField(null=True)  # type: ignore[assignment]
    reported_done_at = fields.DatetimeField(null=True)  # 已整改, awaiting the acceptance inspection

    class Meta:
        table = "cemetery_rectification"
        indexes = [Index(fields=["status", "due_on"])]


# A photo taken on site: an engine Attachment of the checklist task (bytes outside the workflow state, hashed,
# type and size checked, scoped download), linked to the checklist item or measured plot it documents.
# record_id is set when the checklist is submitted.
class InspectionPhoto(Model):
    id = fields.IntField(primary_key=True)
    inspection: fields.ForeignKeyRelation[CemeteryInspection] = fields.ForeignKeyField(
        "cemetery.CemeteryInspection", related_name="photos", on_delete=fields.CASCADE)
    task_id = fields.CharField(max_length=36)
    attachment_id = fields.IntField()
    item = fields.CharField(max_length=64)  # a check item code, or plot for a measured plot
    plot_label = fields.CharField(max_length=100, default="")
    record_id = fields.IntField(null=True)  # the ChecklistRecord the photo was submitted with
    uploaded_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "cemetery_photo"
        unique_together = (("task_id", "attachment_id", "item", "plot_label"),)
