"""A task accepts only the fields its form declares; refused data changes nothing.

Spiff merges whatever it is given into task data that already holds every process variable, so a
posted `standard=99999` or `eligible=True` would rewrite the outcome of the eligibility check.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.forms import FieldError, FormValidationError
from engine.models import ProcessInstance
from engine.runtime import Engine
from tests.support import (
    TOWNSHIP,
    accept_form,
    assert_consistent,
    complete,
    open_bpmn_ids,
    open_task,
    snapshot,
)


def codes(exc: FormValidationError) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


async def refused(engine: Engine, instance_id: Any, bpmn_id: str, data: dict[str, Any]) -> FormValidationError:
    """Complete with `data`, expect FormValidationError, and check that nothing at all changed."""
    before = await snapshot(instance_id)
    task = await open_task(instance_id, bpmn_id)
    with pytest.raises(FormValidationError) as caught:
        await engine.complete_task(task.id, data, actor="clerk")
    assert await snapshot(instance_id) == before
    await assert_consistent(engine, instance_id)
    return caught.value


@pytest.mark.parametrize("extra", [{"standard": 99999}, {"eligible": True}],
                         ids=["standard", "eligible"])
async def test_process_variable_posted_with_accept_form_is_undeclared(engine: Engine, extra: dict[str, Any]) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    [(name, _)] = extra.items()
    err = await refused(engine, inst.id, "Task_accept", {**accept_form(delegated=True), **extra})
    assert err.errors == [FieldError(name, "undeclared", f"Field '{name}' is not declared in the form schema.")]
    assert await open_bpmn_ids(inst.id) == ["Task_accept"]

    # The same form without the extra field goes through.
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    assert name not in (await ProcessInstance.get(id=inst.id)).data


async def test_field_declared_only_on_another_tasks_form_is_undeclared_here(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    await complete(engine, inst.id, "Task_accept", accept_form(delegated=True))
    # `approved` belongs to decision.json; the home visit form does not declare it, nor home_visit.note.
    err = await refused(engine, inst.id, "Task_home_visit",
                        {"home_visit": {"investigators": ["张敏", "刘洋"], "note": "x"}, "approved": True})
    assert codes(err) == [("approved", "undeclared"), ("home_visit.note", "undeclared")]


async def test_start_event_without_a_form_refuses_any_data(engine: Engine) -> None:
    with pytest.raises(FormValidationError) as caught:
        await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk", data={"standard": 1})
    assert codes(caught.value) == [("standard", "undeclared")]
    assert await ProcessInstance.all().count() == 0


async def test_wrong_types_and_missing_fields_are_reported_at_their_paths(engine: Engine) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    members = [{"name": "王秀英", "monthly_income": 120}, {"name": "李强", "monthly_income": "两百"}, {"name": "赵六"}]
    err = await refused(engine, inst.id, "Task_accept", {"members": members, "delegated": "yes"})
    assert codes(err) == [("applicant_name", "required"), ("delegated", "type"),
                          ("members.1.monthly_income", "type"), ("members.2.monthly_income", "required")]
    by_field = {e.field: e.message for e in err.errors}
    assert by_field["members.1.monthly_income"] == (
        "Field 'members.1.monthly_income' must be of type number, got string.")
    assert by_field["delegated"] == "Field 'delegated' must be of type boolean, got string."
