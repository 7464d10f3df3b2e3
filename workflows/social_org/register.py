"""The register of social organizations: validation of one record, scoped queries, local dates.

Scoping is by the registration authority's org path: a user at 东坡区 sees the organizations registered by
东坡区 (and by units below it); a city user sees the whole city. Public pages use `public_*` helpers, which
return only the fields that may be published (name, code, type, authority, dates, list status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from engine.models import OrgUnit
from workflows.social_org.models import ORG_TYPES, SocialOrganization
from workflows.social_org.uscc import CATEGORY_OF_TYPE, CIVIL_AFFAIRS, uscc_error

AUTHORITY_LEVELS = ("city", "county")
TYPE_BY_LABEL = {label: code for code, label in ORG_TYPES.items()}


def scoped(org_path: str) -> QuerySet[SocialOrganization]:
    """Organizations whose registration authority lies in the subtree of `org_path`."""
    return SocialOrganization.filter(authority_path__startswith=org_path)


def search(qs: QuerySet[SocialOrganization], text: str) -> QuerySet[SocialOrganization]:
    text = text.strip()
    if not text:
        return qs
    if len(text) > 18:  # cannot be a 统一社会信用代码 (and the uscc column refuses a longer value)
        return qs.filter(name__icontains=text)
    return qs.filter(Q(name__icontains=text) | Q(uscc=text.upper()))


@dataclass(frozen=True)
class OrgInput:
    uscc: str
    name: str
    org_type: str
    authority: OrgUnit
    supervisor_unit: str | None
    registration_date: date
    legal_representative: str
    contact_phone: str
    address: str

    def fields(self) -> dict[str, Any]:
        return {"uscc": self.uscc, "name": self.name, "org_type": self.org_type,
                "authority_level": self.authority.level, "authority_code": self.authority.code,
                "authority_path": self.authority.path, "supervisor_unit": self.supervisor_unit,
                "registration_date": self.registration_date, "legal_representative": self.legal_representative,
                "contact_phone": self.contact_phone, "address": self.address}


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    for candidate in (text, text.replace("年", "-").replace("月", "-").rstrip("日")):
        try:
            parts = [int(p) for p in candidate.split("-")]
            if len(parts) == 3:
                return date(parts[0], parts[1], parts[2])
        except ValueError:
            continue
    return None


def validate_org(values: Mapping[str, Any], authorities: Mapping[str, OrgUnit],
                 today: date) -> tuple[OrgInput | None, dict[str, str]]:
    """Check one register record; `authorities` are the authority org units the actor may register under.

    Returns the clean input or the errors by field, in Chinese, ready for the page or the import report.
    """
    errors: dict[str, str] = {}
    code = str(values.get("uscc") or "").strip().upper()
    problem = uscc_error(code) if code else "请填写统一社会信用代码"
    org_type = str(values.get("org_type") or "").strip()
    org_type = TYPE_BY_LABEL.get(org_type, org_type)
    if org_type not in ORG_TYPES:
        errors["org_type"] = "组织类型应为 社会团体、民办非企业单位 或 基金会"
    if problem:
        errors["uscc"] = problem
    elif code[0] != CIVIL_AFFAIRS:
        errors["uscc"] = "统一社会信用代码第 1 位应为 5(民政部门登记)"
    elif org_type in CATEGORY_OF_TYPE and code[1] != CATEGORY_OF_TYPE[org_type]:
        errors["uscc"] = (f"统一社会信用代码第 2 位为 {code[1]},与组织类型「{ORG_TYPES[org_type]}」"
                          f"(应为 {CATEGORY_OF_TYPE[org_type]})不符")
    name = str(values.get("name") or "").strip()
    if not 2 <= len(name) <= 200:
        errors["name"] = "请填写社会组织名称(2-200 字)"
    authority = authorities.get(str(values.get("authority_code") or "").strip())
    if authority is None:
        errors["authority_code"] = "登记管理机关代码无效或不在您的管理范围内"
    registered = parse_date(values.get("registration_date"))
    if registered is None:
        errors["registration_date"] = "登记日期格式无效(应为 YYYY-MM-DD)"
    elif registered > today:
        errors["registration_date"] = "登记日期不能晚于今天"
    supervisor = str(values.get("supervisor_unit") or "").strip() or None
    if supervisor is not None and len(supervisor) > 200:
        errors["supervisor_unit"] = "业务主管单位名称过长(最多 200 字)"
    phone = str(values.get("contact_phone") or "").strip()
    if len(phone) > 30:
        errors["contact_phone"] = "联系电话过长"
    if errors or authority is None or registered is None:
        return None, errors
    return OrgInput(code, name, org_type, authority, supervisor, registered,
                    str(values.get("legal_representative") or "").strip()[:50], phone,
                    str(values.get("address") or "").strip()[:200]), {}


async def authority_units(org_path: str) -> dict[str, OrgUnit]:
    """The registration authorities (city and county units) inside a scope, by code."""
    rows = await OrgUnit.filter(path__startswith=org_path, level__in=AUTHORITY_LEVELS).order_by("path")
    return {o.code: o for o in rows}
