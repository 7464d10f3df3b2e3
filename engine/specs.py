"""Process definitions: validate, deploy, version by content hash, parse once, cache.

A deployment unit is one BPMN file plus the DMN files and JSON Schema forms it references.
Its content hash decides the version: the same content deploys to the same version, new content
to the next one. Instances stay pinned to the definition row they started on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine import forms as form_rules
from engine import sandbox
from engine.clock import Clock
from engine.errors import DeploymentError, NotFound
from engine.models import ProcessDefinition

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False)
_validator: BpmnValidator | None = None


@dataclass(frozen=True)
class HumanTaskMeta:
    """What the inbox needs to know about a user task, read once from the diagram."""

    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    candidate_role: str | None  # extension property candidateRole, else the lane
    due_working_days: int | None
    org_level: str | None  # route to the instance org unit's ancestor at this level
    org_unit_variable: str | None  # or to the org unit held in this process variable
    priority: int = 50
    require_opinion: bool = False  # extension property requireOpinion="true": completing needs an opinion (审批意见)


@dataclass
class DeployedSpec:
    definition_id: int
    key: str
    version: int
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, dict[str, Any]]
    human_tasks: dict[str, HumanTaskMeta] = field(default_factory=dict)
    start_form: str | None = None
    bpmn_xml: str = ""
    field_titles: dict[str, str] = field(default_factory=dict)  # variable → form title, for display
    enum_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # variable → value → x-enumNames label

    def form_for(self, bpmn_id: str) -> dict[str, Any] | None:
        meta = self.human_tasks.get(bpmn_id)
        return self.forms.get(meta.form) if meta and meta.form else None


def _get_validator() -> BpmnValidator:
    global _validator
    if _validator is None:  # loading the XSDs costs ~100 ms: once per process
        _validator = BpmnValidator()
    return _validator


def _parse_xml(content: bytes, filename: str) -> etree._Element:
    try:
        return etree.fromstring(content, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DeploymentError(f"not well-formed XML: {exc.msg}", filename=filename, line=exc.lineno) from exc


def _element_label(node: etree._Element) -> str:
    """"userTask Task_accept": the nearest enclosing element that has an id."""
    current: etree._Element | None = node
    while current is not None and not current.get("id"):
        current = current.getparent()
    target = current if current is not None else node
    return f"{etree.QName(target).localname} {target.get('id', '')}".strip()


def _check_expression(text: str, node: etree._Element, filename: str, *, mode: str = "eval") -> None:
    try:
        sandbox.compile_checked(text, mode)
    except SyntaxError as exc:
        raise DeploymentError(f"unparsable expression {text!r}: {exc.msg}", filename=filename,
                              element=_element_label(node)) from exc
    except sandbox.SandboxViolation as exc:
        raise DeploymentError(f"expression {text!r} is not allowed: {exc}", filename=filename,
                              element=_element_label(node)) from exc


def _check_bpmn_expressions(root: etree._Element, filename: str) -> None:
    for path in (".//bpmn:script", ".//spiff:preScript", ".//spiff:postScript"):
        for node in root.iterfind(path, NS):
            _check_expression(node.text or "", node.getparent(), filename, mode="exec")
    for node in root.iterfind(".//spiff:parameter", NS):
        if node.get("value"):
            _check_expression(node.get("value", ""), node, filename)
    for path in (".//bpmn:conditionExpression", ".//bpmn:timeDuration", ".//bpmn:timeDate", ".//bpmn:timeCycle",
                 ".//bpmn:loopCardinality", ".//bpmn:completionCondition"):
        for node in root.iterfind(path, NS):
            if (node.text or "").strip():
                _check_expression(node.text.strip(), node.getparent(), filename)


_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)")


def _check_dmn_expressions(root: etree._Element, filename: str) -> None:
    ns = {"dmn": root.nsmap.get(None) or NS["dmn"]}
    for node in root.iterfind(".//dmn:inputExpression/dmn:text", ns):
        _check_expression((node.text or "").strip(), node.getparent().getparent(), filename)
    for node in root.iterfind(".//dmn:inputEntry/dmn:text", ns):
        text = (node.text or "").strip()
        if text and text != "-":
            # Spiff evaluates "<input> <cell>" for comparisons, the cell alone otherwise.
            _check_expression(f"x {text}" if _COMPARISON.match(text) else text, node.getparent(), filename)
    for node in root.iterfind(".//dmn:outputEntry/dmn:text", ns):
        if (node.text or "").strip():
            _check_expression(node.text.strip(), node.getparent(), filename)


def _decision_ids(root: etree._Element) -> list[str]:
    return [d.get("id") for d in root if etree.QName(d).localname == "decision" and d.get("id")]


def _task_meta(spec: BpmnProcessSpec) -> tuple[dict[str, HumanTaskMeta], str | None]:
    metas: dict[str, HumanTaskMeta] = {}
    start_form = None
    for ts in spec.task_specs.values():
        ext = getattr(ts, "extensions", None) or {}
        props: Mapping[str, str] = ext.get("properties", {}) or {}
        bpmn_id = getattr(ts, "bpmn_id", None)
        if bpmn_id is None:
            continue
        if type(ts).__name__ == "StartEvent" and props.get("formJsonSchemaFilename"):
            start_form = props["formJsonSchemaFilename"]
        if not getattr(ts, "manual", False):
            continue
        due = props.get("dueWorkingDays")
        metas[bpmn_id] = HumanTaskMeta(
            bpmn_id=bpmn_id,
            name=ts.bpmn_name or bpmn_id,
            lane=ts.lane,
            form=props.get("formJsonSchemaFilename"),
            candidate_role=props.get("candidateRole") or ts.lane,
            due_working_days=int(due) if due and due.isdecimal() else None,
            org_level=props.get("orgLevel"),
            org_unit_variable=props.get("orgUnitVariable"),
            priority=int(props.get("priority", "50")) if props.get("priority", "50").isdecimal() else 50,
            require_opinion=props.get("requireOpinion", "").strip().lower() == "true",
        )
    return metas, start_form


@dataclass
class Bundle:
    """The validated content of one deployment, before it is stored."""

    bpmn_filename: str
    bpmn_xml: str
    dmn_sources: dict[str, str]
    forms: dict[str, dict[str, Any]]
    process_ids: list[str]
    names: dict[str, str]

    def content_hash(self) -> str:
        h = hashlib.sha256()
        h.update(self.bpmn_xml.encode())
        for name in sorted(self.dmn_sources):
            h.update(b"\0dmn\0" + name.encode() + b"\0" + self.dmn_sources[name].encode())
        for name in sorted(self.forms):
            h.update(b"\0form\0" + name.encode() + b"\0" + json.dumps(self.forms[name], sort_keys=True).encode())
        return h.hexdigest()


def build_parser(bpmn_xml: str, bpmn_filename: str, dmn_sources: Mapping[str, str]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=_get_validator())
    for name, xml in dmn_sources.items():
        parser.add_dmn_xml(_parse_xml(xml.encode(), name), filename=name)
    parser.add_bpmn_xml(_parse_xml(bpmn_xml.encode(), bpmn_filename), filename=bpmn_filename)
    return parser


def validate_bundle(
    bpmn_filename: str,
    bpmn_content: bytes,
    available_dmn: Mapping[str, bytes],
    available_forms: Mapping[str, bytes],
) -> Bundle:
    """Check everything a deploy needs and return what to store; raise DeploymentError naming file and element."""
    root = _parse_xml(bpmn_content, bpmn_filename)
    if etree.QName(root).localname != "definitions" or root.nsmap.get(root.prefix) != NS["bpmn"]:
        raise DeploymentError("not a BPMN 2.0 document (root must be bpmn:definitions)", filename=bpmn_filename)
    try:
        _get_validator().validate(root, bpmn_filename)
    except ValidationException as exc:
        raise DeploymentError(f"does not match the BPMN 2.0 schema: {exc.args[0] if exc.args else exc}",
                              filename=bpmn_filename, line=getattr(exc, "line_number", None)) from exc
    _check_bpmn_expressions(root, bpmn_filename)

    # Only the DMN files whose decisions this diagram calls are part of the bundle.
    decisions_by_file: dict[str, tuple[bytes, list[str]]] = {}
    for name, content in available_dmn.items():
        dmn_root = _parse_xml(content, name)
        decisions_by_file[name] = (content, _decision_ids(dmn_root))
    dmn_sources: dict[str, str] = {}
    for node in root.iterfind(".//spiff:calledDecisionId", NS):
        wanted = (node.text or "").strip()
        owner = next((n for n, (_, ids) in decisions_by_file.items() if wanted in ids), None)
        if owner is None:
            raise DeploymentError(f"calls unknown DMN decision {wanted!r}", filename=bpmn_filename,
                                  element=_element_label(node.getparent().getparent()))
        if owner not in dmn_sources:
            dmn_root = _parse_xml(decisions_by_file[owner][0], owner)
            _check_dmn_expressions(dmn_root, owner)
            dmn_sources[owner] = decisions_by_file[owner][0].decode()

    forms: dict[str, dict[str, Any]] = {}
    for node in root.iterfind(".//spiff:property[@name='formJsonSchemaFilename']", NS):
        form_name = node.get("value", "")
        task_node = node.getparent().getparent().getparent()
        if form_name not in available_forms:
            raise DeploymentError(f"form {form_name!r} not found", filename=bpmn_filename,
                                  element=_element_label(task_node))
        try:
            schema = json.loads(available_forms[form_name])
            form_rules.check_schema(schema)
            if "case_org_unit" in (schema.get("properties") or {}):
                raise ValueError("field case_org_unit is reserved for the engine")
        except (ValueError, json.JSONDecodeError) as exc:
            raise DeploymentError(f"form {form_name!r} is not a valid JSON Schema: {exc}",
                                  filename=bpmn_filename, element=_element_label(task_node)) from exc
        forms[form_name] = schema

    processes = [p for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable") == "true"]
    if not processes:
        raise DeploymentError("contains no executable process (isExecutable=\"true\")", filename=bpmn_filename)
    for p in processes:
        # Spiff adds task specs named "Start", "End" and "<process>.EndJoin" to every process; an element with
        # such an id silently replaces one (a start event "Start": every start fails "No output task connected").
        reserved = {"Start", "End", f"{p.get('id')}.EndJoin"}
        for node in p.iter(etree.Element):
            if node.get("id") in reserved:
                raise DeploymentError(f"id {node.get('id')!r} is reserved by the workflow engine; rename the element",
                                      filename=bpmn_filename, element=_element_label(node))
    bpmn_xml = bpmn_content.decode()
    parser = build_parser(bpmn_xml, bpmn_filename, dmn_sources)
    for p in processes:
        try:
            parser.get_spec(p.get("id"))
            parser.get_subprocess_specs(p.get("id"))
        except ValidationException as exc:
            raise DeploymentError(str(exc.args[0] if exc.args else exc), filename=bpmn_filename,
                                  element=getattr(exc, "id", None) or p.get("id")) from exc
    return Bundle(bpmn_filename, bpmn_xml, dmn_sources, forms, [p.get("id") for p in processes],
                  {p.get("id"): p.get("name") or p.get("id") for p in processes})


class SpecRegistry:
    """Parsed specs by definition id; parse happens once per version per process."""

    def __init__(self) -> None:
        self._by_id: dict[int, DeployedSpec] = {}

    def _parse(self, row: ProcessDefinition) -> DeployedSpec:
        parser = build_parser(row.bpmn_xml, row.bpmn_filename, row.dmn_sources)
        spec = parser.get_spec(row.key)
        metas, start_form = _task_meta(spec)
        props = [(name, prop) for schema in row.forms.values()
                 for name, prop in (schema.get("properties") or {}).items() if isinstance(prop, dict)]
        titles = {name: str(prop.get("title") or name) for name, prop in props}
        enums = {name: {str(v): str(t) for v, t in zip(prop["enum"], prop["x-enumNames"], strict=False)}
                 for name, prop in props if isinstance(prop.get("enum"), list) and isinstance(prop.get("x-enumNames"),
                                                                                               list)}
        return DeployedSpec(row.id, row.key, row.version, row.name, spec, parser.get_subprocess_specs(row.key),
                            row.forms, metas, start_form, row.bpmn_xml, titles, enums)

    async def get(self, definition_id: int) -> DeployedSpec:
        found = self._by_id.get(definition_id)
        if found is None:
            row = await ProcessDefinition.get_or_none(id=definition_id)
            if row is None:
                raise NotFound(f"process definition {definition_id} does not exist")
            found = self._by_id[definition_id] = self._parse(row)
        return found

    async def latest(self, key: str) -> DeployedSpec:
        # Only the id: the parsed spec is cached, and another process may have deployed a newer version.
        ids = await ProcessDefinition.filter(key=key).order_by("-version").limit(1).values_list("id", flat=True)
        if not ids:
            raise NotFound(f"process {key!r} is not deployed")
        return await self.get(int(str(ids[0])))

    async def deploy(self, bundle: Bundle, *, clock: Clock,
                     actor: str = "system") -> list[tuple[ProcessDefinition, bool]]:
        """Store each executable process; returns (row, created). Unchanged content is not a new version."""
        digest = bundle.content_hash()
        results = []
        for key in bundle.process_ids:
            existing = await ProcessDefinition.get_or_none(key=key, content_hash=digest)
            if existing is not None:
                results.append((existing, False))
                continue
            last = await ProcessDefinition.filter(key=key).order_by("-version").first()
            row = await ProcessDefinition.create(
                key=key, version=(last.version + 1) if last else 1, name=bundle.names[key], content_hash=digest,
                bpmn_filename=bundle.bpmn_filename, bpmn_xml=bundle.bpmn_xml, dmn_sources=bundle.dmn_sources,
                forms=bundle.forms, deployed_at=clock.now(), deployed_by=actor,
            )
            self._by_id[row.id] = self._parse(row)
            results.append((row, True))
        return results


def read_directory(directory: Path) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
    """BPMN files, DMN files and forms of a bpmn/ directory (forms in its forms/ subdirectory)."""
    bpmn = {p.name: p.read_bytes() for p in sorted(directory.glob("*.bpmn"))}
    dmn = {p.name: p.read_bytes() for p in sorted(directory.glob("*.dmn"))}
    forms_dir = directory / "forms"
    forms = {p.name: p.read_bytes() for p in sorted(forms_dir.glob("*.json"))} if forms_dir.is_dir() else {}
    return bpmn, dmn, forms
