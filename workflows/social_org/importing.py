"""Register import (XLSX or CSV, row by row) and export (XLSX), with the downloadable template.

A bad row never stops the import: it is reported with its spreadsheet row number (the header is row 1)
and its reasons in Chinese, and every good row is kept. A code already in the register is updated when
it lies in the importer's scope, refused otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import Workbook, load_workbook
from tortoise.transactions import in_transaction

from workflows.social_org.models import CREDIT_STATUSES, ORG_STATUSES, ORG_TYPES, SocialOrganization
from workflows.social_org.register import authority_units, validate_org

# column header → field; the template and the export use the same headers
COLUMNS: list[tuple[str, str]] = [
    ("统一社会信用代码", "uscc"),
    ("名称", "name"),
    ("类型", "org_type"),
    ("登记管理机关代码", "authority_code"),
    ("业务主管单位", "supervisor_unit"),
    ("登记日期", "registration_date"),
    ("法定代表人", "legal_representative"),
    ("联系电话", "contact_phone"),
    ("住所", "address"),
]
REQUIRED_HEADERS = ("统一社会信用代码", "名称", "类型", "登记管理机关代码", "登记日期")
MAX_ROWS = 20000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong format, missing headers); the message is Chinese."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number, reasons)

    @property
    def ok(self) -> int:
        return self.created + self.updated


def template_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "社会组织登记"
    ws.append([h for h, _ in COLUMNS])
    ws.append(["51511400MJ0000001X(示例,请删除)", "眉山市示例协会", "社会团体", "511400", "眉山市教育局",
               "2020-05-18", "张三", "028-00000000", "眉山市东坡区示例路 1 号"])
    notes = wb.create_sheet("填写说明")
    for line in ("类型:社会团体 / 民办非企业单位 / 基金会",
                 "登记管理机关代码:市本级 511400,县(区)如 511402 东坡区",
                 "业务主管单位:直接登记的社会组织留空",
                 "登记日期:YYYY-MM-DD",
                 "统一社会信用代码:18 位,第 1 位 5,第 2 位 1 社会团体 / 2 民办非企业单位 / 3 基金会"):
        notes.append([line])
    return _save(wb)


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_rows(filename: str, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {field: value}) for every non-empty data row of an XLSX or CSV file."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        rows = _xlsx_rows(content)
    elif lower.endswith(".csv"):
        rows = _csv_rows(content)
    else:
        raise ImportFileError("只支持 .xlsx 或 .csv 文件")
    try:
        header = next(rows)
    except StopIteration:
        raise ImportFileError("文件是空的") from None
    names = [str(h or "").strip() for h in header]
    missing = [h for h in REQUIRED_HEADERS if h not in names]
    if missing:
        raise ImportFileError("表头缺少列:" + "、".join(missing) + "(请使用下载的模板)")
    by_header = dict(COLUMNS)
    index = {by_header[h]: i for i, h in enumerate(names) if h in by_header}
    for number, row in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行")
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        yield number, {f: (row[i] if i < len(row) else None) for f, i in index.items()}


def _xlsx_rows(content: bytes) -> Iterator[Sequence[Any]]:
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken file
        raise ImportFileError("无法读取该 Excel 文件(请另存为 .xlsx 后重试)") from exc
    try:
        yield from wb.worksheets[0].iter_rows(values_only=True)
    finally:
        wb.close()


def _csv_rows(content: bytes) -> Iterator[Sequence[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("无法识别 CSV 文件的编码(请使用 UTF-8 或 GBK)")
    yield from csv.reader(io.StringIO(text))


async def import_register(filename: str, content: bytes, *, scope_path: str, today: date,
                          is_demo: bool = False) -> ImportReport:
    """Validate every row; create or update the good ones in one transaction; report the bad ones."""
    authorities = await authority_units(scope_path)
    report = ImportReport()
    good: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, values in read_rows(filename, content):
        clean, errors = validate_org(values, authorities, today)
        if clean is None:
            report.errors.append((number, list(errors.values())))
            continue
        if clean.uscc in good:
            report.errors.append((number, [f"统一社会信用代码与第 {good[clean.uscc][0]} 行重复"]))
            continue
        good[clean.uscc] = (number, clean.fields())
    existing = {o.uscc: o for o in await SocialOrganization.filter(uscc__in=list(good))}
    new_rows = []
    async with in_transaction() as conn:
        for code, (number, values) in good.items():
            found = existing.get(code)
            if found is None:
                new_rows.append(SocialOrganization(**values, is_demo=is_demo))
            elif not found.authority_path.startswith(scope_path):
                report.errors.append((number, ["该统一社会信用代码已由其他登记管理机关登记,不能修改"]))
            else:
                await SocialOrganization.filter(id=found.id).using_db(conn).update(**values)
                report.updated += 1
        if new_rows:
            await SocialOrganization.bulk_create(new_rows, batch_size=500, using_db=conn)
            report.created = len(new_rows)
    report.errors.sort()
    return report


def export_xlsx(orgs: Iterable[SocialOrganization], authority_names: dict[str, str]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("社会组织登记")
    ws.append([h for h, _ in COLUMNS] + ["登记管理机关", "状态", "信用状态", "列入日期", "列入原因"])
    for o in orgs:
        listed = o.serious_since if o.credit_status == "serious" else o.abnormal_since
        reason = o.serious_reason if o.credit_status == "serious" else o.abnormal_reason
        ws.append([o.uscc, o.name, ORG_TYPES.get(o.org_type, o.org_type), o.authority_code, o.supervisor_unit or "",
                   o.registration_date.isoformat(), o.legal_representative, o.contact_phone, o.address,
                   authority_names.get(o.authority_code, o.authority_code), ORG_STATUSES.get(o.status, o.status),
                   CREDIT_STATUSES.get(o.credit_status, o.credit_status),
                   listed.isoformat() if listed and o.credit_status != "normal" else "",
                   (reason or "") if o.credit_status != "normal" else ""])
    return _save(wb)
