from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.models import HumanTask
from engine.runtime import Engine
from tests.conftest import browser_login, deploy_dir
from workflows.dibao import demo
from workflows.dibao.models import DibaoCase
from workflows.dibao.registry import seed_plan_standards
from workflows.dibao.services import install


async def test_intake_and_decision_notices(engine: Engine, client: Any) -> None:
    await seed_plan_standards()
    await install(engine)
    await deploy_dir(engine, Path("bpmn"), "dibao_approval.bpmn")
    await demo.seed(engine, engine.clock)  # type: ignore[arg-type]
    incomplete = await engine.start("dibao_approval", org_unit="511402001", actor="th_clerk", business_key="DB-MISS")
    accept = await HumanTask.get(instance_id=incomplete.id, bpmn_id="Task_accept")
    answers = demo._answers(demo.HOUSEHOLDS[0])["Task_accept"]
    await engine.complete_task(accept.id, {**answers, "materials_complete": False}, actor="th_clerk")
    notify = await HumanTask.get(instance_id=incomplete.id, bpmn_id="Task_notify_missing")
    await engine.complete_task(notify.id, {"missing_items": ["户口簿复印件", "残疾证复印件"],
                                           "notified_on": "2026-11-20", "notice_method": "in_person"},
                               actor="th_clerk")
    await browser_login(client, "th_clerk")
    missing = await client.get(f"/dibao/cases/{incomplete.id}/notice/missing")
    assert missing.status_code == 200 and "一次性告知书" in missing.text
    assert "户口簿复印件" in missing.text and "残疾证复印件" in missing.text
    approved = await DibaoCase.get(business_key="DB-DEMO-004")
    intake = await client.get(f"/dibao/cases/{approved.instance_id}/notice/accept")
    assert intake.status_code == 200 and "受理通知书" in intake.text and "周玉珍" in intake.text
    decision = await client.get(f"/dibao/cases/{approved.instance_id}/notice")
    assert "最低生活保障确认通知书" in decision.text and "250.00" in decision.text and "差额法" in decision.text
    assert (await client.get(f"/dibao/cases/{incomplete.id}/notice/accept")).status_code == 404  # not accepted
    await browser_login(client, "wl_clerk")  # another county: nothing
    assert (await client.get(f"/dibao/cases/{approved.instance_id}/notice/accept")).status_code == 404
