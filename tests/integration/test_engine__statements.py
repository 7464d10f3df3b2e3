"""What one task completion sends to the database, counted from Tortoise's statement log: the hot path stays at
the statements its guarantees need (task lock+close, version-checked save, task index, two for the audit chain)."""

from __future__ import annotations

import logging

import pytest

from engine.runtime import Engine
from tests.support import TOWNSHIP, accept_form, open_task


def _statements(caplog: pytest.LogCaptureFixture) -> list[str]:
    """`VERB table` for each statement Tortoise logged (SELECT: the table after FROM)."""
    out = []
    for record in caplog.records:
        text = record.getMessage()
        verb = next((v for v in ("SELECT", "UPDATE", "INSERT INTO", "DELETE FROM") if text.startswith(v)), None)
        if verb is None:
            continue  # connection set-up messages
        rest = text.split(" FROM ", 1)[1] if verb == "SELECT" else text[len(verb):]
        out.append(f"{verb} {rest.split()[0].strip(chr(34))}")
    return out


async def test_a_completion_reads_once_and_writes_in_five_statements(engine: Engine,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    inst = await engine.start("showcase", org_unit=TOWNSHIP, actor="clerk")  # this process now knows the chain tip
    task = await open_task(inst.id, "Task_accept")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await engine.complete_task(task.id, accept_form(delegated=True), actor="clerk")
    assert _statements(caplog) == [
        "SELECT human_task",  # the task row joined with its instance
        "UPDATE human_task",  # lock + close the task row (conditional)
        "UPDATE process_instance",  # save with the version check
        "INSERT INTO human_task",  # the new ready tasks, one batch
        "UPDATE audit_head",  # move the chain head from the tip this process last wrote (conditional)
        "INSERT INTO audit_event",  # the events, one batch
    ]
