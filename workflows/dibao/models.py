"""低保 tables: the delegation registry and the effective-dated assistance standards.

    Delegation        county (+ optional township) delegates 审核确认 for a benefit type, from/to a date
    AssistanceStandard monthly standard S per county (or city-wide), urban/rural, from a date
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

BENEFIT_TYPES = {"dibao": "低保", "tekun": "特困", "linshi": "临时救助"}
AREA_TYPES = {"urban": "城市", "rural": "农村"}


class Delegation(Model):
    id = fields.IntField(primary_key=True)
    county_code = fields.CharField(max_length=32)
    township_code = fields.CharField(max_length=32, null=True)  # None: every township of the county
    benefit_type = fields.CharField(max_length=16)
    effective_from = fields.DateField()
    effective_to = fields.DateField(null=True)  # exclusive; None: open-ended
    document_no = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by = fields.CharField(max_length=64)

    class Meta:
        table = "dibao_delegation"
        indexes = [Index(fields=["county_code", "benefit_type", "effective_from"])]


class AssistanceStandard(Model):
    id = fields.IntField(primary_key=True)
    county_code = fields.CharField(max_length=32, null=True)  # None: the city-wide standard
    area_type = fields.CharField(max_length=8)  # urban / rural
    benefit_type = fields.CharField(max_length=16, default="dibao")
    monthly_amount = fields.DecimalField(max_digits=10, decimal_places=2)
    effective_from = fields.DateField()
    document_no = fields.CharField(max_length=100, default="")
    created_by = fields.CharField(max_length=64, default="system")

    class Meta:
        table = "dibao_standard"
        indexes = [Index(fields=["benefit_type", "area_type", "effective_from"])]


# One row per 低保 case, kept in step with the workflow by a listener inside each operation's transaction.
class DibaoCase(Model):
    instance_id = fields.CharField(max_length=36, primary_key=True)
    business_key = fields.CharField(max_length=100, null=True)
    org_unit = fields.CharField(max_length=32)
    org_path = fields.CharField(max_length=255)
    township_code = fields.CharField(max_length=32, null=True)
    county_code = fields.CharField(max_length=32, null=True)
    applicant_name = fields.CharField(max_length=50, null=True)
    household_size = fields.IntField(null=True)
    separately_registered = fields.BooleanField(default=False)  # 单独登记备案
    complaint = fields.BooleanField(default=False)
    accepted_at = fields.DatetimeField(null=True)
    delegated = fields.BooleanField(null=True)  # decided by the township under a delegation
    deadline_at = fields.DatetimeField(null=True)  # 20 WD delegated / 30 WD otherwise, from 受理
    extended_deadline_at = fields.DatetimeField(null=True)  # up to 45 WD, with a recorded reason
    extension_reason = fields.CharField(max_length=500, null=True)
    decision = fields.CharField(max_length=16, null=True)  # approve / refuse / terminated
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.CharField(max_length=64, null=True)
    monthly_amount = fields.DecimalField(max_digits=10, decimal_places=2, null=True)
    amount_explanation = fields.TextField(null=True)
    closed_at = fields.DatetimeField(null=True)
    applicant_id_number = fields.CharField(max_length=18, null=True)  # GB 11643, masked in every list
    members: list[dict[str, str]] | None = fields.JSONField(null=True)  # type: ignore[assignment]  # from 受理

    class Meta:
        table = "dibao_case"
        indexes = [Index(fields=["county_code", "decided_at"]), Index(fields=["org_path"]),
                   Index(fields=["deadline_at"])]


class PostAudit(Model):
    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[DibaoCase] = fields.ForeignKeyField("dibao.DibaoCase", related_name="audits")
    county_code = fields.CharField(max_length=32)
    township_code = fields.CharField(max_length=32)
    period = fields.CharField(max_length=7)  # YYYY-MM of the decisions sampled
    reason = fields.CharField(max_length=16)  # sampled / mandatory (单独登记备案 or complaint)
    draw_id = fields.IntField(null=True)  # common.DrawRecord of the sample
    outcome = fields.CharField(max_length=16, null=True)  # upheld (维持) / rectify (责令整改) / corrected (纠正)
    opinion = fields.TextField(null=True)
    audited_by = fields.CharField(max_length=64, null=True)
    audited_at = fields.DatetimeField(null=True)

    case_id: str

    class Meta:
        table = "dibao_post_audit"
        unique_together = (("case", "period"),)


class CaseFileView(Model):
    """Who opened the full household file of a case, when and through which channel (web page or API)."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[DibaoCase] = fields.ForeignKeyField("dibao.DibaoCase", related_name="views")
    viewer = fields.CharField(max_length=64)
    viewer_org = fields.CharField(max_length=32)
    basis = fields.CharField(max_length=16)  # actor (worked on the case) / supervisor
    channel = fields.CharField(max_length=8)  # web / api
    viewed_at = fields.DatetimeField()

    case_id: str

    class Meta:
        table = "dibao_case_view"
        indexes = [Index(fields=["case_id", "viewed_at"])]


METHODS = {"gap": "差额法", "banded": "分档法"}


class CountyMethod(Model):
    """The amount method of a county (gap or banded) from a date, with who set it and when."""

    id = fields.IntField(primary_key=True)
    county_code = fields.CharField(max_length=32)
    method = fields.CharField(max_length=8)
    effective_from = fields.DateField()
    document_no = fields.CharField(max_length=100, default="")
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dibao_county_method"
        indexes = [Index(fields=["county_code", "effective_from"])]


class CountyBands(Model):
    """The band table of the banded method of a county from a date, with who set it and when.

    ``bands`` lists the bands in order as ``{"from", "to", "pay"}`` decimal strings, each a share of the standard S:
    a per-capita income in [from × S, to × S) is paid pay × S per covered member.
    """

    id = fields.IntField(primary_key=True)
    county_code = fields.CharField(max_length=32)
    effective_from = fields.DateField()
    bands: list[dict[str, str]] = fields.JSONField()  # type: ignore[assignment]
    document_no = fields.CharField(max_length=100, default="")
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dibao_county_bands"
        indexes = [Index(fields=["county_code", "effective_from"])]


PAYMENT_CHANGES = {"stop": "停发", "adjust": "调整金额"}


class PaymentChange(Model):
    """A recorded change of the payment of a case (纠正 in the post-audit): stop or a new amount from a date."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[DibaoCase] = fields.ForeignKeyField("dibao.DibaoCase",
                                                                        related_name="payment_changes")
    audit: fields.ForeignKeyNullableRelation[PostAudit] = fields.ForeignKeyField(
        "dibao.PostAudit", related_name="payment_changes", null=True)
    kind = fields.CharField(max_length=8)  # stop / adjust
    previous_amount = fields.DecimalField(max_digits=10, decimal_places=2, null=True)
    new_amount = fields.DecimalField(max_digits=10, decimal_places=2, null=True)  # None when stopped
    effective_from = fields.DateField()
    reason = fields.TextField()
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    case_id: str
    audit_id: int | None

    class Meta:
        table = "dibao_payment_change"
