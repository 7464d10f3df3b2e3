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
