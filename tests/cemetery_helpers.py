"""Builders shared by the cemetery tests: a deployed diagram, installed services, cemeteries and checklists."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.models import HumanTask
from engine.runtime import Engine
from engine.specs import read_directory, validate_bundle
from workflows.cemetery import inspection as insp
from workflows.cemetery import services
from workflows.cemetery.checklist import CHECK_ITEMS, PlotRow
from workflows.cemetery.models import Cemetery, CemeteryInspection
from workflows.common.models import ChecklistRecord

BPMN_DIR = Path(__file__).parent.parent / "bpmn"
ALL_OK = {code: (True, "") for code in CHECK_ITEMS}


async def install_cemetery(engine: Engine) -> None:
    bpmn, dmn, forms = read_directory(BPMN_DIR)
    name = "cemetery_annual_inspection.bpmn"
    await engine.specs.deploy(validate_bundle(name, bpmn[name], dmn, forms), clock=engine.clock)
    await services.install(engine)


async def make_cemetery(code: str = "GM001", *, cemetery_type: str = "public_welfare", township: str = "511402001",
                        county: str = "511402", status: str = "open", **extra: Any) -> Cemetery:
    path = f"/511400/{county}/{township}/"
    values: dict[str, Any] = {
        "name": f"演示公墓{code}", "area_kind": "rural", "operator": "村委会", "area_m2": Decimal("6000"),
        "plots_single": 600, "plots_double": 200, "plots_ashes": 800, "plots_body": 0, "plots_eco": 120,
        **extra}
    return await Cemetery.create(code=code, cemetery_type=cemetery_type, county_code=county, township_code=township,
                                 org_path=path, status=status, **values)


async def open_task(inspection: CemeteryInspection | Any, bpmn_id: str) -> HumanTask:
    instance_id = inspection.instance_id if isinstance(inspection, CemeteryInspection) else inspection
    rows = await HumanTask.filter(instance_id=instance_id, bpmn_id=bpmn_id, state__in=("READY", "CLAIMED"))
    assert len(rows) == 1, f"expected one open {bpmn_id}, got {len(rows)}"
    return rows[0]


async def open_ids(inspection: CemeteryInspection) -> list[str]:
    rows = await HumanTask.filter(instance_id=inspection.instance_id, state__in=("READY", "CLAIMED"))
    return sorted(r.bpmn_id for r in rows)


SELF_REPORT = {"submitted_on": "2026-03-05", "burials_this_year": 12, "plots_sold_this_year": 10,
               "report_summary": "对照年检内容逐项自查,未发现问题。"}


async def checklist(engine: Engine, inspection: CemeteryInspection, bpmn_id: str, *,
                    areas: list[tuple[str, str]] | None = None, failed: dict[str, str] | None = None,
                    eco_share: str = "0.2", actor: str = "dp_inspector") -> ChecklistRecord:
    task = await open_task(inspection, bpmn_id)
    rows = [PlotRow(f"A-{n}", kind, Decimal(area)) for n, (kind, area) in
            enumerate(areas or [("single", "0.48"), ("double", "0.75"), ("single", "0.5")], start=1)]
    checks = {**ALL_OK, **{code: (False, note) for code, note in (failed or {}).items()}}
    return await insp.submit_checklist(engine, task, actor=actor, checks=checks, rows=rows,
                                       eco_share=Decimal(eco_share), notes="", opinion="现场检查完毕。")


async def to_city_review(engine: Engine, inspection: CemeteryInspection, **checklist_args: Any) -> ChecklistRecord:
    task = await open_task(inspection, "Task_self_report")
    await insp.complete(engine, task.id, SELF_REPORT, actor="th_clerk")
    return await checklist(engine, inspection, "Task_onsite", **checklist_args)


async def review(engine: Engine, inspection: CemeteryInspection, outcome: str, **extra: Any) -> None:
    task = await open_task(inspection, "Task_city_review")
    await insp.complete(engine, task.id, {"outcome": outcome, "review_opinion": "同意县级检查意见。", **extra},
                        actor="city_mgr")


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (60, 140, 80)) -> bytes:
    """A real (decodable) PNG of one colour, for photo uploads."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
