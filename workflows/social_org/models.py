"""Social-organization tables (app label social_org).

    SocialOrganization ─┬─< AnnualInspection          one per organization per year, linked to its instance
                        ├─< CreditListEntry           活动异常名录 / 严重违法失信名单 entries, with removal
                        ├─< RevocationCase            撤销登记 cases (two bad years in a row) ─< RevocationEvent
                        ├─< CreditObjection           异议 against a credit-list entry, with the decision
                        ├─< SpotCheckTarget >── SpotCheckPlan (year, authority, random/joint, DrawRecord ids)
                        └─< InspectorConflict >── Inspector (the inspector register)
    AnnualCampaign      one launch per year per authority; progress of the background launch

Scoping: every organization, campaign, plan and inspector carries the org path of its registration
authority (登记管理机关); pages filter on a prefix of the actor's org path.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

ORG_TYPES = {"social_group": "社会团体", "private_non_enterprise": "民办非企业单位", "foundation": "基金会"}
ORG_STATUSES = {"active": "正常", "revoked": "已撤销", "deregistered": "已注销"}
CREDIT_STATUSES = {"normal": "正常", "abnormal": "活动异常名录", "serious": "严重违法失信名单"}
CONCLUSIONS = {"qualified": "合格", "basic": "基本合格", "unqualified": "不合格"}
INSPECTION_STATUSES = {"launched": "待报送", "reminded": "已催报", "submitted": "已报送", "reviewing": "审查中",
                       "concluded": "已出结论", "rectifying": "整改中", "closed": "已办结", "absent": "未参检"}
PLAN_TYPES = {"random": "双随机抽查", "joint": "部门联合抽查"}
OUTCOMES = {"no_problem": "未发现问题", "rectify": "责令改正", "case": "立案查处"}
CAMPAIGN_STATUSES = {"pending": "排队中", "running": "发起中", "done": "已完成", "failed": "失败"}
OBJECTION_STATUSES = {"pending": "待处理", "upheld": "异议成立,已移出", "rejected": "异议不成立,维持列入"}
REVOCATION_STAGES = {"filed": "立案", "notified": "已告知", "hearing": "听证", "decided": "已决定",
                     "announced": "已公告", "dropped": "不予撤销,已结案"}


class SocialOrganization(Model):
    id = fields.IntField(primary_key=True)
    uscc = fields.CharField(max_length=18, unique=True)  # 统一社会信用代码
    name = fields.CharField(max_length=200)
    org_type = fields.CharField(max_length=32)  # key of ORG_TYPES
    authority_level = fields.CharField(max_length=16)  # city / county
    authority_code = fields.CharField(max_length=32)  # registration authority org unit
    authority_path = fields.CharField(max_length=255)
    supervisor_unit = fields.CharField(max_length=200, null=True)  # 业务主管单位; None: 直接登记
    registration_date = fields.DateField()
    status = fields.CharField(max_length=16, default="active")
    credit_status = fields.CharField(max_length=16, default="normal")
    abnormal_since = fields.DateField(null=True)
    abnormal_reason = fields.CharField(max_length=300, null=True)
    serious_since = fields.DateField(null=True)
    serious_reason = fields.CharField(max_length=300, null=True)
    legal_representative = fields.CharField(max_length=50, default="")  # personal data: never on public pages
    contact_phone = fields.CharField(max_length=30, default="")  # personal data: never on public pages
    address = fields.CharField(max_length=200, default="")
    is_demo = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "so_organization"
        indexes = [
            Index(fields=["authority_path", "status"]),
            Index(fields=["authority_code", "status"]),
            Index(fields=["credit_status"]),
            Index(fields=["name"]),
        ]


class Inspector(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)  # published in draws instead of the name
    name = fields.CharField(max_length=50)
    department = fields.CharField(max_length=100, default="民政局")  # other departments for joint checks
    authority_code = fields.CharField(max_length=32)
    authority_path = fields.CharField(max_length=255)
    username = fields.CharField(max_length=64, null=True)  # the CivicFlow user, if the inspector has one
    active = fields.BooleanField(default=True)
    is_demo = fields.BooleanField(default=False)

    class Meta:
        table = "so_inspector"
        indexes = [Index(fields=["authority_path", "active"])]


class InspectorConflict(Model):
    id = fields.IntField(primary_key=True)
    inspector: fields.ForeignKeyRelation[Inspector] = fields.ForeignKeyField(
        "social_org.Inspector", related_name="conflicts", on_delete=fields.CASCADE)
    organization: fields.ForeignKeyRelation[SocialOrganization] = fields.ForeignKeyField(
        "social_org.SocialOrganization", related_name="inspector_conflicts", on_delete=fields.CASCADE)
    reason = fields.CharField(max_length=200)
    declared_at = fields.DatetimeField(auto_now_add=True)

    inspector_id: int
    organization_id: int

    class Meta:
        table = "so_inspector_conflict"
        unique_together = (("inspector", "organization"),)


class AnnualCampaign(Model):
    id = fields.IntField(primary_key=True)
    year = fields.IntField()  # the year reported on; reports are filed in the spring of year + 1
    authority_code = fields.CharField(max_length=32)
    authority_path = fields.CharField(max_length=255)
    cutoff = fields.DateField()  # registered on or after this date: exempt this year
    supervisor_deadline = fields.DateField()  # 3-31: to the 业务主管单位, and 基金会
    authority_deadline = fields.DateField()  # 5-31: to the registration authority
    grace_days = fields.IntField(default=30)  # after the reminder, before 活动异常名录
    status = fields.CharField(max_length=16, default="pending")
    total = fields.IntField(default=0)
    launched = fields.IntField(default=0)
    exempt = fields.IntField(default=0)
    error = fields.TextField(null=True)
    seconds = fields.FloatField(null=True)
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "so_annual_campaign"
        unique_together = (("year", "authority_code"),)


class AnnualInspection(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[SocialOrganization] = fields.ForeignKeyField(
        "social_org.SocialOrganization", related_name="inspections", on_delete=fields.RESTRICT)
    campaign: fields.ForeignKeyNullableRelation[AnnualCampaign] = fields.ForeignKeyField(
        "social_org.AnnualCampaign", related_name="inspections", null=True, on_delete=fields.SET_NULL)
    year = fields.IntField()
    authority_path = fields.CharField(max_length=255)
    status = fields.CharField(max_length=16, default="launched")
    conclusion = fields.CharField(max_length=16, null=True)
    final_conclusion = fields.CharField(max_length=16, null=True)  # after re-assessment
    instance_id = fields.CharField(max_length=36, null=True)
    report_deadline = fields.DateField(null=True)
    submitted_on = fields.DateField(null=True)
    concluded_on = fields.DateField(null=True)
    published = fields.BooleanField(default=False)
    audit_attachment_id = fields.IntField(null=True)  # 基金会: the audit report (engine Attachment)
    audit_sha256 = fields.CharField(max_length=64, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "so_annual_inspection"
        unique_together = (("organization", "year"),)
        indexes = [Index(fields=["year", "authority_path"]), Index(fields=["instance_id"])]


class CreditListEntry(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[SocialOrganization] = fields.ForeignKeyField(
        "social_org.SocialOrganization", related_name="credit_entries", on_delete=fields.RESTRICT)
    list_type = fields.CharField(max_length=16)  # abnormal / serious
    cause = fields.CharField(max_length=300)
    cause_key = fields.CharField(max_length=64)  # e.g. annual_report:2025; one open entry per key
    entered_on = fields.DateField()
    removed_on = fields.DateField(null=True)
    removal_reason = fields.CharField(max_length=300, null=True)
    objection = fields.TextField(null=True)  # 异议 filed against the listing
    created_by = fields.CharField(max_length=64, default="system")

    organization_id: int

    class Meta:
        table = "so_credit_entry"
        unique_together = (("organization", "cause_key"),)
        indexes = [Index(fields=["list_type", "removed_on"])]


class RevocationCase(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[SocialOrganization] = fields.ForeignKeyField(
        "social_org.SocialOrganization", related_name="revocation_cases", on_delete=fields.RESTRICT)
    year = fields.IntField()  # the second bad year
    reason = fields.CharField(max_length=300)
    status = fields.CharField(max_length=16, default="open")  # open / revoked / dropped
    opened_on = fields.DateField()
    stage = fields.CharField(max_length=16, default="filed")  # key of REVOCATION_STAGES
    notice_no = fields.CharField(max_length=64, null=True)  # 撤销登记告知书 number
    notified_on = fields.DateField(null=True)
    hearing_requested = fields.BooleanField(default=False)
    hearing_on = fields.DateField(null=True)
    decision = fields.CharField(max_length=16, null=True)  # revoke / drop
    decision_no = fields.CharField(max_length=64, null=True)
    decided_on = fields.DateField(null=True)
    announced_on = fields.DateField(null=True)
    announcement_no = fields.CharField(max_length=64, null=True)

    organization_id: int

    class Meta:
        table = "so_revocation_case"
        unique_together = (("organization", "year"),)


class RevocationEvent(Model):
    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[RevocationCase] = fields.ForeignKeyField(
        "social_org.RevocationCase", related_name="events", on_delete=fields.CASCADE)
    action = fields.CharField(max_length=16)  # file / notify / hearing / decide / announce
    stage = fields.CharField(max_length=16)  # the stage after the action
    actor = fields.CharField(max_length=64)
    on = fields.DateField()
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    case_id: int

    class Meta:
        table = "so_revocation_event"


class CreditObjection(Model):
    id = fields.IntField(primary_key=True)
    entry: fields.ForeignKeyRelation[CreditListEntry] = fields.ForeignKeyField(
        "social_org.CreditListEntry", related_name="objections", on_delete=fields.RESTRICT)
    applicant = fields.CharField(max_length=50)  # who filed it for the organization
    contact = fields.CharField(max_length=50)
    reason = fields.TextField()
    filed_on = fields.DateField()
    status = fields.CharField(max_length=16, default="pending")  # key of OBJECTION_STATUSES
    decision_note = fields.TextField(null=True)
    decided_by = fields.CharField(max_length=64, null=True)
    decided_on = fields.DateField(null=True)

    entry_id: int

    class Meta:
        table = "so_credit_objection"
        indexes = [Index(fields=["status"])]


class SpotCheckPlan(Model):
    id = fields.IntField(primary_key=True)
    year = fields.IntField()
    authority_code = fields.CharField(max_length=32)
    authority_path = fields.CharField(max_length=255)
    plan_type = fields.CharField(max_length=16)  # random / joint
    ratio = fields.FloatField()
    departments = fields.CharField(max_length=300, default="")  # joint checks: the other departments
    inspectors_per_target = fields.IntField(default=2)
    target_draw_id = fields.IntField(null=True)  # workflows.common DrawRecord
    inspector_draw_id = fields.IntField(null=True)
    population_size = fields.IntField(default=0)
    k = fields.IntField(default=0)
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "so_spot_check_plan"
        indexes = [Index(fields=["year", "authority_path"])]


class SpotCheckTarget(Model):
    id = fields.IntField(primary_key=True)
    plan: fields.ForeignKeyRelation[SpotCheckPlan] = fields.ForeignKeyField(
        "social_org.SpotCheckPlan", related_name="targets", on_delete=fields.CASCADE)
    organization: fields.ForeignKeyRelation[SocialOrganization] = fields.ForeignKeyField(
        "social_org.SocialOrganization", related_name="spot_checks", on_delete=fields.RESTRICT)
    rank = fields.IntField()  # position in the drawn order
    authority_path = fields.CharField(max_length=255)
    inspectors: list[int] = fields.JSONField(default=list)  # type: ignore[assignment]  # Inspector ids
    recused: list[int] = fields.JSONField(default=list)  # type: ignore[assignment]
    instance_id = fields.CharField(max_length=36, null=True)
    check_mode = fields.CharField(max_length=16, default="site")  # desk / site
    notice_no = fields.CharField(max_length=64, null=True)  # 检查通知书 number
    checklist_record_id = fields.IntField(null=True)
    findings_count = fields.IntField(default=0)
    outcome = fields.CharField(max_length=16, null=True)
    rectify_deadline = fields.DateField(null=True)
    result_date = fields.DateField(null=True)
    published = fields.BooleanField(default=False)

    plan_id: int
    organization_id: int

    class Meta:
        table = "so_spot_check_target"
        unique_together = (("plan", "organization"),)
        indexes = [Index(fields=["published", "result_date"]), Index(fields=["instance_id"])]
