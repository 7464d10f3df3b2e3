"""Spiff state without the spec.

SpiffWorkflow's stock serializer embeds the whole parsed spec in every instance (17 KB for a
small diagram) and rebuilds a fresh spec per instance on load. Here the spec is stored once per
deployed version (`ProcessDefinition`) and the cached parsed spec is re-attached on load, which
halves the state and doubles load speed (see shared/SPIFF_NOTES.md).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


def _connect_loop_children(spec: BpmnProcessSpec) -> None:
    """Subscribe each loop/multi-instance task to its child spec's completion, as Spiff's own spec
    deserializer does. A freshly parsed spec only gets this when an instance creates the first child
    in this process; without it, children restored in another process (after a restart, on a second
    worker) complete without being merged and the multi-instance task never finishes. Idempotent."""
    for task_spec in list(spec.task_specs.values()):
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs.get(task_spec.task_spec)
            if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


class SpecReferenceWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec"] = workflow.spec.name  # a reference only; the definition row holds the spec
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], *, spec: BpmnProcessSpec = None,  # type: ignore[override]
                  subprocess_specs: dict[str, BpmnProcessSpec] | None = None) -> BpmnWorkflow:
        if spec is None:
            raise ValueError("restoring a workflow needs its cached spec")
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        for process_spec in (spec, *(subprocess_specs or {}).values()):
            _connect_loop_children(process_spec)
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpecReferenceWorkflowConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(_registry)


def dump_state(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        dct = _serializer.to_dict(workflow)
    finally:
        _registry._encoder_mode = False
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    # ensure_ascii=False: Chinese costs 3 bytes a character instead of 6.
    return json.dumps(dct, cls=_serializer._encoder_cls, ensure_ascii=False, separators=(",", ":"))


def load_state(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    dct = json.loads(state)
    _serializer.migrate(dct)
    return _serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
