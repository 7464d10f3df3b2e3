"""Scripts of a workflow restored from the database still run in the sandbox.

Spiff does not serialize the script engine: a restored workflow silently gets the default one, which
`exec`s with full builtins. The engine re-attaches its sandbox on every restore; these tests complete
tasks through a fresh Engine (nothing cached, so the spec is parsed again and the state loaded from
the row) and check that an escape attempt fails, leaves no trace and saves nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.task import TaskState

from engine import sandbox
from engine.errors import DeploymentError
from engine.models import AuditEvent, ProcessInstance
from engine.runtime import Engine, ProcessScriptError
from engine.serializer import load_state
from engine.specs import read_directory, validate_bundle
from tests.conftest import deploy_dir
from tests.support import FIXTURES, TOWNSHIP, assert_consistent, completed_bpmn_ids, open_task, snapshot

SANDBOX_DIR = FIXTURES / "bpmn" / "sandbox"


async def test_script_after_a_restored_user_task_cannot_open_files(engine: Engine, tmp_path: Path) -> None:
    await deploy_dir(engine, SANDBOX_DIR, "escape.bpmn")
    marker = tmp_path / "escaped.txt"
    inst = await engine.start("sandbox_escape", org_unit=TOWNSHIP, actor="clerk")
    task = await open_task(inst.id, "Task_enter")

    restarted = Engine(clock=engine.clock)  # restore path with an empty cache
    before = await snapshot(inst.id)
    with pytest.raises(ProcessScriptError) as caught:
        await restarted.complete_task(task.id, {"target": str(marker), "attempt": True}, actor="clerk")
    assert "Task_escape" in str(caught.value)
    assert "name 'open' is not defined" in str(caught.value)
    assert not marker.exists()
    assert await snapshot(inst.id) == before  # row, task index and audit untouched
    await assert_consistent(restarted, inst.id)

    # Control 1: the same sandbox runs ordinary scripts, so the refusal above is about `open` only.
    await restarted.complete_task(task.id, {"target": str(marker), "attempt": False}, actor="clerk")
    row = await ProcessInstance.get(id=inst.id)
    assert (row.status, row.data["target_length"]) == ("completed", len(str(marker)))
    assert not marker.exists()

    # Control 2: the stored state restored WITHOUT re-attaching the sandbox would have written the file.
    deployed = await restarted.specs.get(row.definition_id)
    unsafe = load_state(before[1], deployed.spec, deployed.subprocess_specs)  # state as it was before
    assert not sandbox.is_sandboxed(unsafe)
    pending = unsafe.get_task_from_id(task.id)
    pending.data.update({"target": str(marker), "attempt": True})
    pending.run()
    unsafe.do_engine_steps()
    assert marker.exists()
    assert "End_escape" in completed_bpmn_ids(unsafe)


async def test_dunder_escape_is_refused_at_deploy_and_by_the_restored_script_engine(engine: Engine,
                                                                                    tmp_path: Path) -> None:
    bpmn, dmn, forms = read_directory(SANDBOX_DIR)
    with pytest.raises(DeploymentError) as caught:
        validate_bundle("dunder.bpmn", bpmn["dunder.bpmn"], dmn, forms)
    assert (caught.value.filename, caught.value.element) == ("dunder.bpmn", "scriptTask Task_escape")
    assert "is not allowed" in str(caught.value) and "__" in str(caught.value)

    # A workflow restored from the database runs on the sandbox, which refuses the same escape at run time.
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")
    events = await AuditEvent.all().count()
    restarted = Engine(clock=engine.clock)
    wf, _ = await restarted.restore(await ProcessInstance.get(id=inst.id))
    assert sandbox.is_sandboxed(wf)
    assert wf.script_engine is restarted.script_engine
    [task] = wf.get_tasks(state=TaskState.READY, manual=True)
    script_engine = wf.script_engine
    assert script_engine.evaluate(task, "len(members) if False else 2 + 3") == 5  # it does evaluate
    for escape in ("().__class__.__base__.__subclasses__()", "__import__('os')", "getattr((), '__class__')"):
        with pytest.raises(WorkflowTaskException):
            script_engine.evaluate(task, escape)
    marker = tmp_path / "escaped.txt"
    with pytest.raises(WorkflowTaskException):
        script_engine.execute(task, f"handle = open({str(marker)!r}, 'w')")
    assert not marker.exists()
    assert "handle" not in task.data
    assert await AuditEvent.all().count() == events
