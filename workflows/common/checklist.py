"""Checklist templates: versioned lists of items whose limits are parameters, evaluated into findings.

    item kinds
      check    pass / fail with an evidence note             fails → finding
      measure  a list of measured values against a limit     each value over the limit → finding
      number   a value that must satisfy min/max (optional)  out of range → finding
      text     free text, never a finding
      evidence photos / files: a list of attachment ids     never a finding; "required" (default true) and
               (engine.collab attachments, stored outside  none given → the checklist is incomplete;
               the workflow state)                         "accept" (extensions), "max_files" (default 10)

A template is data (JSON): {"code", "version", "title", "parameters": {...}, "items": [{"code", "kind",
"label", "limit_param"?, "comparison"?, "unit"?, "legal_basis"?, "severity"?, "required"?, "accept"?,
"max_files"?}]}. A changed template is a new version: records keep the version they were made with. Evaluating answers
against a template is pure and returns findings with the legal basis, so both the social-organization
and the cemetery inspections (and their tests) use this one module.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
KINDS = ("check", "measure", "number", "text", "evidence")
DEFAULT_MAX_FILES = 10


class ChecklistError(ValueError):
    pass


@dataclass(frozen=True)
class Finding:
    item: str
    label: str
    message: str
    legal_basis: str = ""
    severity: str = "major"  # major / minor
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "label": self.label, "message": self.message, "legal_basis": self.legal_basis,
                "severity": self.severity, "value": self.value}


def check_template(template: Mapping[str, Any]) -> None:
    if not template.get("code") or not isinstance(template.get("items"), list) or not template["items"]:
        raise ChecklistError("a template needs a code and a non-empty items list")
    params = template.get("parameters") or {}
    seen = set()
    for item in template["items"]:
        code = item.get("code")
        if not code or code in seen:
            raise ChecklistError(f"item code missing or repeated: {code!r}")
        seen.add(code)
        if item.get("kind") not in KINDS:
            raise ChecklistError(f"item {code}: unknown kind {item.get('kind')!r}")
        if item["kind"] == "measure":
            if item.get("limit_param") not in params:
                raise ChecklistError(f"item {code}: limit_param {item.get('limit_param')!r} is not a parameter")
            if item.get("comparison", "<=") not in COMPARISONS:
                raise ChecklistError(f"item {code}: bad comparison {item.get('comparison')!r}")
        if item["kind"] == "evidence":
            accept = item.get("accept")
            if accept is not None and (not isinstance(accept, list) or not accept
                                       or not all(isinstance(a, str) and a.isalnum() for a in accept)):
                raise ChecklistError(f"item {code}: accept must be a non-empty list of file extensions")
            if not isinstance(item.get("required", True), bool):
                raise ChecklistError(f"item {code}: required must be true or false")
            max_files = item.get("max_files", DEFAULT_MAX_FILES)
            if not isinstance(max_files, int) or isinstance(max_files, bool) or max_files < 1:
                raise ChecklistError(f"item {code}: max_files must be a positive integer")


def evidence_required(item: Mapping[str, Any]) -> bool:
    return item.get("kind") == "evidence" and bool(item.get("required", True))


def evidence_ids(template: Mapping[str, Any], answers: Mapping[str, Any]) -> list[int]:
    """Every attachment id the answers give as evidence (for the caller to check they belong to the subject)."""
    ids: list[int] = []
    for item in template.get("items") or []:
        answer = answers.get(item.get("code"))
        if item.get("kind") == "evidence" and isinstance(answer, list):
            ids.extend(a for a in answer if isinstance(a, int) and not isinstance(a, bool))
    return ids


def _decimal(value: Any) -> Decimal:
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ChecklistError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ChecklistError(f"not a finite number: {value!r}")
    return result


def evaluate(template: Mapping[str, Any], answers: Mapping[str, Any],
             parameters: Mapping[str, Any] | None = None) -> list[Finding]:
    """Findings for `answers` ({item code: value}); `parameters` override the template's defaults.

    check: value is {"ok": bool, "note": str}; measure: a list of {"label": str, "value": number};
    number: a number; evidence: a list of attachment ids. A missing answer to a check or measure item, or no
    file for a required evidence item, is itself an error (incomplete).
    """
    check_template(template)
    params = {**(template.get("parameters") or {}), **(parameters or {})}
    findings: list[Finding] = []
    missing = []
    no_evidence = []
    for item in template["items"]:
        code, kind, label = item["code"], item["kind"], item.get("label", item["code"])
        basis, severity = item.get("legal_basis", ""), item.get("severity", "major")
        answer = answers.get(code)
        if kind == "text":
            continue
        if kind == "evidence":
            if answer is None:
                answer = []
            if not isinstance(answer, list) or not all(isinstance(a, int) and not isinstance(a, bool) and a > 0
                                                       for a in answer):
                raise ChecklistError(f"{label}: evidence must be a list of attachment ids")
            if len(answer) > item.get("max_files", DEFAULT_MAX_FILES):
                raise ChecklistError(f"「{label}」最多 {item.get('max_files', DEFAULT_MAX_FILES)} 个文件")
            if not answer and evidence_required(item):
                no_evidence.append(label)
            continue
        if answer is None:
            if kind in ("check", "measure"):
                missing.append(label)
            continue
        if kind == "check":
            if not isinstance(answer, Mapping) or not isinstance(answer.get("ok"), bool):
                raise ChecklistError(f"{label}: answer must say ok true/false")
            if not answer["ok"]:
                note = str(answer.get("note") or "").strip()
                findings.append(Finding(code, label, f"「{label}」不符合要求" + (f":{note}" if note else ""),
                                        basis, severity))
        elif kind == "measure":
            limit = _decimal(params[item["limit_param"]])
            compare = COMPARISONS[item.get("comparison", "<=")]
            unit = item.get("unit", "")
            if not isinstance(answer, list):
                raise ChecklistError(f"{label}: measurements must be a list")
            for n, m in enumerate(answer, start=1):
                value = _decimal(m.get("value") if isinstance(m, Mapping) else m)
                where = (m.get("label") if isinstance(m, Mapping) else None) or f"第 {n} 个测量点"
                if not compare(value, limit):
                    findings.append(Finding(code, label, f"{where}:{value}{unit} 超过限值 {limit}{unit}", basis,
                                            severity, str(value)))
        elif kind == "number":
            value = _decimal(answer)
            low, high = item.get("min"), item.get("max")
            if (low is not None and value < _decimal(params.get(low, low))) or \
                    (high is not None and value > _decimal(params.get(high, high))):
                findings.append(Finding(code, label, f"「{label}」为 {value},不在规定范围内", basis, severity,
                                        str(value)))
    if missing or no_evidence:
        parts = (["以下项目未填写:" + "、".join(missing)] if missing else []) + \
            (["以下项目缺少佐证材料:" + "、".join(no_evidence)] if no_evidence else [])
        raise ChecklistError("检查未完成," + ";".join(parts))
    return findings
