"""Deployment versions come from the content hash; running instances stay pinned to their version."""

from __future__ import annotations

import json

from engine.models import ProcessDefinition, ProcessInstance
from engine.runtime import Engine
from engine.specs import read_directory, validate_bundle
from tests.support import (
    SHOWCASE_DIR,
    accept_form,
    assert_consistent,
    complete,
    complete_member_checks,
    open_bpmn_ids,
)


def showcase_bundle(*, standard: int = 450, decision_form_title: str | None = None) -> tuple[bytes, dict, dict]:
    bpmn, dmn, forms = read_directory(SHOWCASE_DIR)
    xml = bpmn["showcase.bpmn"]
    if standard != 450:
        xml = xml.replace(b"standard = 450", f"standard = {standard}".encode())
        assert f"standard = {standard}".encode() in xml
    if decision_form_title is not None:
        form = json.loads(forms["decision.json"])
        form["title"] = decision_form_title
        forms = {**forms, "decision.json": json.dumps(form, ensure_ascii=False).encode()}
    return xml, dmn, forms


async def deploy(engine: Engine, xml: bytes, dmn: dict, forms: dict) -> tuple[ProcessDefinition, bool]:
    [(row, created)] = await engine.specs.deploy(validate_bundle("showcase.bpmn", xml, dmn, forms),
                                                 clock=engine.clock, actor="admin")
    return row, created


async def test_same_content_redeploys_to_the_same_version(engine: Engine) -> None:
    [v1] = await ProcessDefinition.filter(key="showcase")
    row, created = await deploy(engine, *showcase_bundle())
    assert (created, row.id, row.version, row.content_hash) == (False, v1.id, 1, v1.content_hash)
    assert await ProcessDefinition.filter(key="showcase").count() == 1
    # A fresh registry (another process) sees the same: the hash is a function of the content only.
    row, created = await deploy(Engine(clock=engine.clock), *showcase_bundle())
    assert (created, row.version) == (False, 1)


async def test_changed_form_alone_is_a_new_version(engine: Engine) -> None:
    row, created = await deploy(engine, *showcase_bundle(decision_form_title="审核确认(新版)"))
    assert (created, row.version) == (True, 2)
    assert row.forms["decision.json"]["title"] == "审核确认(新版)"
    assert await ProcessDefinition.filter(key="showcase").count() == 2


async def test_instance_started_on_v1_stays_pinned_and_completes_on_v1_after_v2(engine: Engine) -> None:
    v1 = await ProcessDefinition.get(key="showcase", version=1)
    old = await engine.start("showcase", org_unit="511402001", actor="clerk", business_key="OLD")
    await complete(engine, old.id, "Task_accept", accept_form(delegated=True))

    v2, created = await deploy(engine, *showcase_bundle(standard=600))
    assert (created, v2.version) == (True, 2)
    assert v2.id != v1.id and v2.content_hash != v1.content_hash

    new = await engine.start("showcase", org_unit="511402001", actor="clerk", business_key="NEW")
    assert (new.definition_id, new.process_version) == (v2.id, 2)
    row = await ProcessInstance.get(id=old.id)
    assert (row.definition_id, row.process_version) == (v1.id, 1)

    # Finish the old case through a fresh engine: its spec must come from the v1 row, not "latest".
    fresh = Engine(clock=engine.clock)
    await complete_member_checks(fresh, old.id)
    await complete(fresh, old.id, "Task_home_visit", {"home_visit": {"investigators": ["张敏", "刘洋"]}})
    await complete(fresh, old.id, "Task_township_confirm", {"approved": False, "opinion": "不符合"})
    row = await ProcessInstance.get(id=old.id)
    assert (row.status, row.definition_id, row.process_version) == ("completed", v1.id, 1)
    assert row.data["standard"] == 450  # v1's script ran, not v2's
    await assert_consistent(fresh, old.id)

    # The new case runs v2's script.
    await complete(engine, new.id, "Task_accept", accept_form(delegated=True))
    await complete_member_checks(engine, new.id)
    await complete(engine, new.id, "Task_home_visit", {"home_visit": {"investigators": ["张敏", "刘洋"]}})
    assert (await ProcessInstance.get(id=new.id)).data["standard"] == 600
    assert await open_bpmn_ids(new.id) == ["Task_township_confirm"]
