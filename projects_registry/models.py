"""Tables of the special-fund project library (项目库).

    Project ─┬─< FundingLine          amount per funding source (福彩公益金 / 中央 / 省 / 市 / 县 / 自筹)
             ├─< BudgetLine           declared spending lines with a category (the banned-use check reads these)
             ├─< PerformanceIndicator target and actual values per indicator
             ├─< ReviewScore          one score per reviewer per rubric criterion (评审入库)
             ├─< MaturityAssessment   readiness checklist, re-assessable (储备)
             ├─< Milestone
             ├─< BudgetExecution      cumulative spending reports (运行监控)
             ├─< Evaluation           self-evaluation and performance evaluation
             └─< ProjectEvent         the project's timeline
    ReleaseBatch ──< ReleaseBatchItem >── Project   (成熟一批、出库一批)
    ProjectParameter                 admin overrides of the defaults in projects_registry.params

Money is Decimal in yuan (元). Queryable values are real columns; the workflow instance carries only
the project id and the decisions its gateways need.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

CATEGORIES: dict[str, str] = {"elderly": "老年", "disability": "残疾", "children": "儿童",
                              "public_welfare": "社会公益", "other": "其他"}
FUNDING_SOURCES: dict[str, str] = {"lottery": "福彩公益金", "central": "中央", "province": "省级", "city": "市级",
                                   "county": "县级", "self": "自筹"}
# Declared budget line categories. The last five are banned for 福彩公益金 (see rules.BANNED_FOR_LOTTERY).
BUDGET_CATEGORIES: dict[str, str] = {
    "construction": "工程建设", "equipment": "设施设备购置", "services": "购买服务", "subsidy": "补助资助",
    "training": "培训宣传", "activities": "活动开展",
    "salaries": "人员工资福利", "operating": "一般性运转支出", "official_reception": "公务接待",
    "official_vehicles": "公务用车购置及运行", "overseas_travel": "因公出国(境)", "profit": "营利性经营",
}
INDICATOR_KINDS: dict[str, str] = {
    "output_quantity": "产出·数量", "output_quality": "产出·质量", "output_timeliness": "产出·时效",
    "output_cost": "产出·成本", "outcome": "效益", "satisfaction": "满意度",
}
STAGES: dict[str, str] = {
    "county_review": "县级初审", "revision": "退回修改", "city_review": "评审入库", "rejected": "未入库",
    "reserve": "储备", "mature": "储备·已成熟", "released": "已出库", "implementing": "实施中",
    "acceptance": "验收", "self_evaluation": "自评", "evaluation": "绩效评价", "closed": "已结项",
    "removed": "已移出",
}
PIPELINE = ["county_review", "revision", "city_review", "reserve", "mature", "released", "implementing",
            "acceptance", "self_evaluation", "evaluation", "closed", "rejected", "removed"]


class Project(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)  # XM-2026-0001
    name = fields.CharField(max_length=200)
    applicant_org = fields.CharField(max_length=32)  # org unit code of the applicant
    org_path = fields.CharField(max_length=255)  # its path: every query is scoped by prefix
    applicant_unit = fields.CharField(max_length=200)  # the applying unit's own name
    contact = fields.CharField(max_length=100, default="")
    category = fields.CharField(max_length=16)
    total_budget = fields.DecimalField(max_digits=14, decimal_places=2)
    scope = fields.TextField()
    beneficiaries = fields.CharField(max_length=300)
    beneficiary_count = fields.IntField(default=0)
    period_start = fields.DateField()
    period_end = fields.DateField()
    location = fields.CharField(max_length=200)
    is_construction = fields.BooleanField(default=False)
    has_land = fields.BooleanField(default=False)
    has_planning = fields.BooleanField(default=False)
    has_eia = fields.BooleanField(default=False)
    stage = fields.CharField(max_length=24, default="county_review")
    review_score = fields.DecimalField(max_digits=6, decimal_places=2, null=True)
    maturity_score = fields.DecimalField(max_digits=6, decimal_places=2, null=True)
    reserve_entered_on = fields.DateField(null=True)
    plan_year = fields.IntField(null=True)  # the funding year once released
    evaluation_score = fields.DecimalField(max_digits=6, decimal_places=2, null=True)
    grade = fields.CharField(max_length=4, null=True)  # 优 / 良 / 中 / 差
    instance_id = fields.CharField(max_length=36, null=True)
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    version = fields.IntField(default=1)  # optimistic lock: every stage change bumps it

    funding: fields.ReverseRelation[FundingLine]
    budget_lines: fields.ReverseRelation[BudgetLine]
    indicators: fields.ReverseRelation[PerformanceIndicator]

    class Meta:
        table = "project"
        indexes = [Index(fields=["org_path", "stage"]), Index(fields=["stage", "review_score"]),
                   Index(fields=["instance_id"])]


class FundingLine(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="funding", on_delete=fields.CASCADE)
    source = fields.CharField(max_length=16)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)

    project_id: int

    class Meta:
        table = "project_funding"
        unique_together = (("project", "source"),)


class BudgetLine(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="budget_lines", on_delete=fields.CASCADE)
    item = fields.CharField(max_length=200)
    category = fields.CharField(max_length=24)
    source = fields.CharField(max_length=16)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)

    project_id: int

    class Meta:
        table = "project_budget_line"


class PerformanceIndicator(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="indicators", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=24)
    name = fields.CharField(max_length=200)
    unit = fields.CharField(max_length=20, default="")
    target_value = fields.DecimalField(max_digits=14, decimal_places=2)
    actual_value = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    higher_is_better = fields.BooleanField(default=True)  # False for cost-type indicators

    project_id: int

    class Meta:
        table = "project_indicator"


class ReviewScore(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="review_scores", on_delete=fields.CASCADE)
    reviewer = fields.CharField(max_length=64)
    criterion = fields.CharField(max_length=24)
    score = fields.DecimalField(max_digits=5, decimal_places=1)  # 0-100
    comment = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    project_id: int

    class Meta:
        table = "project_review_score"
        unique_together = (("project", "reviewer", "criterion"),)


class MaturityAssessment(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="maturity", on_delete=fields.CASCADE)
    checklist: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]  # item -> bool
    score = fields.DecimalField(max_digits=6, decimal_places=2)
    decision = fields.CharField(max_length=16)  # mature / not_yet / remove
    opinion = fields.CharField(max_length=500, default="")
    assessed_by = fields.CharField(max_length=64)
    assessed_at = fields.DatetimeField()

    project_id: int

    class Meta:
        table = "project_maturity"


class ReleaseBatch(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    year = fields.IntField()
    source = fields.CharField(max_length=16)
    budget = fields.DecimalField(max_digits=14, decimal_places=2)  # the year's available amount for this source
    status = fields.CharField(max_length=16, default="draft")  # draft / confirmed
    org_path = fields.CharField(max_length=255)
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    confirmed_by = fields.CharField(max_length=64, null=True)
    confirmed_at = fields.DatetimeField(null=True)

    items: fields.ReverseRelation[ReleaseBatchItem]

    class Meta:
        table = "project_release_batch"
        indexes = [Index(fields=["year", "source", "status"])]


class ReleaseBatchItem(Model):
    id = fields.IntField(primary_key=True)
    batch: fields.ForeignKeyRelation[ReleaseBatch] = fields.ForeignKeyField(
        "projects.ReleaseBatch", related_name="items", on_delete=fields.CASCADE)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="batch_items", on_delete=fields.RESTRICT)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)
    rank = fields.IntField()
    project_version = fields.IntField()  # the project as seen when added; confirm refuses if it changed

    batch_id: int
    project_id: int

    class Meta:
        table = "project_release_item"
        unique_together = (("batch", "project"),)


class Milestone(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="milestones", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    due_on = fields.DateField()
    done_on = fields.DateField(null=True)
    note = fields.CharField(max_length=500, default="")

    project_id: int

    class Meta:
        table = "project_milestone"


class BudgetExecution(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="executions", on_delete=fields.CASCADE)
    reported_on = fields.DateField()
    spent_total = fields.DecimalField(max_digits=14, decimal_places=2)  # cumulative
    target_progress = fields.DecimalField(max_digits=5, decimal_places=1)  # percent of targets reached
    note = fields.CharField(max_length=500, default="")
    reported_by = fields.CharField(max_length=64)

    project_id: int

    class Meta:
        table = "project_budget_execution"


class Evaluation(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="evaluations", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16)  # self / performance
    budget_execution_score = fields.DecimalField(max_digits=6, decimal_places=2)
    output_score = fields.DecimalField(max_digits=6, decimal_places=2)
    outcome_score = fields.DecimalField(max_digits=6, decimal_places=2)
    satisfaction_score = fields.DecimalField(max_digits=6, decimal_places=2)
    total = fields.DecimalField(max_digits=6, decimal_places=2)
    grade = fields.CharField(max_length=4)
    details: list[Any] = fields.JSONField(default=list)  # type: ignore[assignment]  # explanation lines
    report = fields.TextField(default="")
    evaluator = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    project_id: int

    class Meta:
        table = "project_evaluation"


class ProjectEvent(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "projects.Project", related_name="events", on_delete=fields.CASCADE)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=64)
    stage = fields.CharField(max_length=24)
    action = fields.CharField(max_length=100)  # Chinese, shown as is on the timeline
    detail = fields.TextField(default="")

    project_id: int

    class Meta:
        table = "project_event"
        indexes = [Index(fields=["project_id", "at"])]


class ProjectParameter(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    value: Any = fields.JSONField()
    updated_by = fields.CharField(max_length=64)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "project_parameter"
