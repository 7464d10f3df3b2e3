"""engine.sandbox against real SpiffWorkflow 3.2 diagrams (Spiff dialect): escapes refused, no side effects."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.sandbox import (
    SAFE_BUILTIN_NAMES,
    SandboxScriptEngine,
    SandboxViolation,
    attach,
    compile_checked,
    is_sandboxed,
    make_script_engine,
)

# ---------------------------------------------------------------- diagrams

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def _flow(fid: str, src: str, dst: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}"/>'
    return (
        f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
    )


def _chain(*nodes: tuple[str, str]) -> str:
    """nodes: (id, element xml); linked start -> ... -> end with sequence flows."""
    xml = "".join(x for _, x in nodes)
    return xml + "".join(_flow(f"f_{a}_{b}", a, b) for (a, _), (b, _) in zip(nodes, nodes[1:], strict=False))


def _process(body: str) -> str:
    return (
        f'<bpmn:definitions {NS} id="defs" targetNamespace="http://example.org/sandbox">'
        f'<bpmn:process id="proc" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )


START = ("start", '<bpmn:startEvent id="start"/>')
END = ("end", '<bpmn:endEvent id="end"/>')


def script_node(script: str, node_id: str = "script") -> tuple[str, str]:
    body = f"<bpmn:script>{escape(script)}</bpmn:script>"
    return node_id, f'<bpmn:scriptTask id="{node_id}" name="{node_id}">{body}</bpmn:scriptTask>'


def gateway_bpmn(script: str = "pass", condition: str = "True") -> str:
    body = _chain(START, script_node(script), ("gw", '<bpmn:exclusiveGateway id="gw" default="f_no"/>'))
    body += '<bpmn:endEvent id="end_yes"/><bpmn:endEvent id="end_no"/>'
    body += _flow("f_yes", "gw", "end_yes", condition) + _flow("f_no", "gw", "end_no")
    return _process(body)


def dmn_bpmn() -> str:
    rule = (
        '<bpmn:businessRuleTask id="rule" name="rule"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>sandbox_decision</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
    )
    return _process(_chain(START, ("rule", rule), END))


def dmn_table(input_expr: str = "income", entry: str = "< standard", output: str = '"eligible"') -> str:
    e = escape
    return (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dmn_defs" name="d" '
        'namespace="http://example.org/sandbox"><decision id="sandbox_decision" name="d">'
        '<decisionTable id="dt" hitPolicy="UNIQUE"><input id="in1" label="income">'
        f'<inputExpression id="ie1" typeRef="number"><text>{e(input_expr)}</text></inputExpression></input>'
        '<output id="out1" label="result" name="result" typeRef="string"/>'
        f'<rule id="r1"><inputEntry id="e1"><text>{e(entry)}</text></inputEntry>'
        f'<outputEntry id="o1"><text>{e(output)}</text></outputEntry></rule>'
        '<rule id="r2"><inputEntry id="e2"><text>-</text></inputEntry>'
        '<outputEntry id="o2"><text>"other"</text></outputEntry></rule>'
        "</decisionTable></decision></definitions>"
    )


def timer_bpmn(duration: str) -> str:
    timer = (
        '<bpmn:intermediateCatchEvent id="timer"><bpmn:timerEventDefinition id="td">'
        f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{escape(duration)}</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )
    return _process(_chain(START, ("timer", timer), END))


def service_bpmn(operator: str, param_value: str, after: str = "pass") -> str:
    svc = (
        '<bpmn:serviceTask id="svc" name="svc"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="std"><spiffworkflow:parameters>'
        f'<spiffworkflow:parameter id="city" type="str" value={quoteattr(param_value)}/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    )
    return _process(_chain(START, ("svc", svc), script_node(after), END))


def subprocess_bpmn(script: str) -> str:
    inner = _chain(
        ("sub_start", '<bpmn:startEvent id="sub_start"/>'),
        ("form", '<bpmn:userTask id="form" name="form"/>'),
        script_node(script),
        ("sub_end", '<bpmn:endEvent id="sub_end"/>'),
    )
    return _process(_chain(START, ("sub", f'<bpmn:subProcess id="sub">{inner}</bpmn:subProcess>'), END))


def build(bpmn: str, dmn: str | None = None, engine: PythonScriptEngine | None = None, **data: Any) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(bpmn.encode())
    if dmn is not None:
        parser.add_dmn_str(dmn.encode())
    wf = BpmnWorkflow(parser.get_spec("proc"), parser.get_subprocess_specs("proc"), script_engine=engine)
    start = wf.get_next_task(state=TaskState.READY)
    assert start is not None
    start.data.update(data)
    return wf


def all_data(wf: BpmnWorkflow) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for task in wf.get_tasks():
        merged.update(task.data)
    return merged


def finished(wf: BpmnWorkflow, bpmn_id: str) -> bool:
    return any(t.task_spec.bpmn_id == bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED))


def final_data(wf: BpmnWorkflow) -> dict[str, Any]:
    assert wf.is_completed()
    return wf.data


# ---------------------------------------------------------------- escapes

GETATTR_WALK = (  # no attribute syntax at all, so only the missing getattr stops it
    "[getattr(getattr(getattr(c(), '_mod'+'ule'), '__buil'+'tins__')['op'+'en'](MARKER, 'w'), 'close')() "
    "for c in getattr(getattr(getattr((), '__cl'+'ass__'), '__ba'+'se__'), '__subcl'+'asses__')() "
    "if getattr(c, '__na'+'me__') == 'catch_warnings']"
)
SUBCLASS_WALK = (
    "[c()._module.__builtins__['open'](MARKER, 'w') "
    "for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings']"
)

FRAME_WALK = "g = (g.gi_frame.f_back.f_back.f_globals['__builtins__']['open'](MARKER, 'w') for i in [1])\nleak = [*g]"


@dataclass(frozen=True)
class Escape:
    name: str
    script: str  # statement form; its effect: MARKER file created or a `leak` variable set
    expr: str | None  # expression form for conditions / DMN cells, None when there is none
    message: str  # must survive in the wrapped WorkflowTaskException
    proven: bool = True  # the script form really works under Spiff's default engine


ESCAPES = [
    Escape("import", "import pathlib\npathlib.Path(MARKER).touch()", None, "import is not allowed (line 1)"),
    Escape("import_from", "from pathlib import Path\nPath(MARKER).touch()", None, "import is not allowed (line 1)"),
    Escape("dunder_import", "leak = str(__import__('os'))", "__import__('os')", "name '__import__' is not allowed"),
    Escape("dunder_import_touch", "__import__('pathlib').Path(MARKER).touch()",
           "__import__('pathlib').Path(MARKER).touch()", "attribute 'touch' is not allowed"),
    Escape("subclasses", "leak = str(().__class__.__base__.__subclasses__())",
           "().__class__.__base__.__subclasses__()", "attribute '__subclasses__' is not allowed"),
    Escape("subclass_walk", SUBCLASS_WALK, SUBCLASS_WALK, "attribute '_"),
    Escape("open_write", "open(MARKER, 'w')", "open(MARKER, 'w')", "name 'open' is not defined"),
    Escape("open_read", "leak = open('/etc/passwd').read()", "open('/etc/passwd').read()",
           "attribute 'read' is not allowed"),
    Escape("open_iter", "leak = list(open('/etc/passwd'))", "list(open('/etc/passwd'))", "name 'open' is not defined"),
    Escape("getattr", GETATTR_WALK, GETATTR_WALK, "name 'getattr' is not defined"),
    Escape("format", "leak = '{0.__class__}'.format(1)", "'{0.__class__}'.format(1) == ''",
           "attribute 'format' is not allowed"),
    Escape("eval", "eval(\"__imp\" + \"ort__('pathlib').Path(MARKER).touch()\")",
           "eval(\"__imp\" + \"ort__('pathlib').Path(MARKER).touch()\")", "name 'eval' is not defined"),
    Escape("exec", 'exec("import pathlib; pathlib.Path(MARKER).touch()")',
           'exec("import pathlib; pathlib.Path(MARKER).touch()")', "name 'exec' is not defined"),
    Escape("lambda", "f = lambda: open(MARKER, 'w').close()\nf()", "(lambda: open(MARKER, 'w').close())()",
           "lambda is not allowed (line 1)"),
    Escape("type", "leak = str(type('X', (), {}))", "type(1) == int", "name 'type' is not defined"),
    Escape("def", "def f():\n    open(MARKER, 'w').close()\nf()", None, "def is not allowed (line 1)"),
    Escape("class", "class C:\n    x = open(MARKER, 'w')", None, "class is not allowed (line 1)"),
    Escape("try", "try:\n    leak = 1\nexcept ValueError:\n    pass", None, "try is not allowed (line 1)"),
    Escape("with", "with open(MARKER, 'w') as f:\n    pass", None, "with is not allowed (line 1)"),
    Escape("global", "global leak\nleak = 1", None, "global is not allowed (line 1)"),
    # Needs no '_' attribute: a blacklist-only checker lets this reach the caller's real builtins.
    Escape("frame_walk", FRAME_WALK, "[g.gi_frame.f_back.f_globals for g in [(i for i in [1])]]",
           "attribute 'f_globals' is not allowed"),
    Escape("del_attr", "x = [1]\ndel x.append", None, "not allowed", proven=False),
    Escape("second_line", "total = 1\nimport os", None, "import is not allowed (line 2)", proven=False),
]


def _payload(text: str, marker: Path) -> str:
    return text.replace("MARKER", repr(str(marker)))


def assert_refused(wf: BpmnWorkflow, message: str, marker: Path) -> None:
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert message in str(err.value)
    assert not marker.exists()
    assert "leak" not in all_data(wf)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the payloads leave files open on purpose
@pytest.mark.parametrize("esc", [e for e in ESCAPES if e.proven], ids=lambda e: e.name)
def test_escape_payloads_work_under_default_engine(esc: Escape, marker: Path) -> None:
    """Control: the payloads are real; Spiff's default engine runs them (this is why the sandbox exists)."""
    wf = build(gateway_bpmn(script=_payload(esc.script, marker)), income=1)
    wf.do_engine_steps()
    assert marker.exists() or "leak" in all_data(wf)
    del wf
    gc.collect()  # release leaked file objects while the warning filter is active


@pytest.mark.parametrize("esc", ESCAPES, ids=lambda e: e.name)
def test_escape_refused_in_script_task(esc: Escape, marker: Path) -> None:
    wf = build(gateway_bpmn(script=_payload(esc.script, marker)), engine=make_script_engine(), income=1)
    assert_refused(wf, esc.message, marker)


EXPR_ESCAPES = [e for e in ESCAPES if e.expr is not None]


@pytest.mark.parametrize("esc", EXPR_ESCAPES, ids=lambda e: e.name)
def test_escape_refused_in_gateway_condition(esc: Escape, marker: Path) -> None:
    assert esc.expr is not None
    wf = build(gateway_bpmn(condition=_payload(esc.expr, marker)), engine=make_script_engine(), income=1)
    assert_refused(wf, esc.message, marker)
    assert not finished(wf, "end_yes") and not finished(wf, "end_no")


@pytest.mark.parametrize("cell", ["output", "entry", "input_expr"])
@pytest.mark.parametrize("esc", EXPR_ESCAPES, ids=lambda e: e.name)
def test_escape_refused_in_dmn_cell(esc: Escape, cell: str, marker: Path) -> None:
    assert esc.expr is not None
    dmn = dmn_table(**{cell: _payload(esc.expr, marker)})
    wf = build(dmn_bpmn(), dmn, engine=make_script_engine(), income=500, standard=1000)
    assert_refused(wf, esc.message, marker)
    assert "result" not in all_data(wf)


def test_escape_refused_in_timer_expression(marker: Path) -> None:
    expr = _payload("open(MARKER, 'w') and 'PT1S'", marker)
    assert_refused(build(timer_bpmn(expr), engine=make_script_engine()), "name 'open' is not defined", marker)


def test_escape_refused_in_service_task_parameter(marker: Path) -> None:
    engine = make_script_engine({"lookup_standard": lambda city: 1})
    wf = build(service_bpmn("lookup_standard", _payload("open(MARKER, 'w')", marker)), engine=engine)
    assert_refused(wf, "name 'open' is not defined", marker)


def test_task_data_cannot_smuggle_builtins_or_callables(marker: Path) -> None:
    # Task data is JSON in practice; put live functions in anyway to show they never reach a script.
    data = {"__builtins__": {"open": open, "len": open}, "opener": open, "len": "shadow", "sum": 7}
    ok = build(gateway_bpmn("n = len([1, 2, 3]) + sum([1])\nlen2 = len"), engine=make_script_engine(), **data)
    ok.do_engine_steps()
    out = final_data(ok)
    assert out["n"] == 4 and out["len"] == "shadow" and out["sum"] == 7 and "len2" not in out
    for script, message in [
        ("opener(MARKER, 'w')", "name 'opener' is not defined"),
        ("open(MARKER, 'w')", "name 'open' is not defined"),
        ("leak = __builtins__['open'](MARKER, 'w')", "name '__builtins__' is not allowed"),
    ]:
        wf = build(gateway_bpmn(_payload(script, marker)), engine=make_script_engine(), **data)
        assert_refused(wf, message, marker)


def test_builtins_are_a_small_whitelist() -> None:
    dangerous = {"getattr", "setattr", "delattr", "eval", "exec", "compile", "open", "__import__", "globals",
                 "locals", "vars", "type", "object", "input", "dir", "help", "breakpoint", "memoryview"}
    assert not dangerous & SAFE_BUILTIN_NAMES
    assert {"len", "sum", "round", "min", "max", "sorted"} <= SAFE_BUILTIN_NAMES


# ---------------------------------------------------------------- what still works

CALC = """\
total = sum(m['income'] for m in members)
count = len(members)
avg = round(total / count, 2)
top = max(m['income'] for m in members)
low = min([m.get('income', 0) for m in members])
bonus = sum(m.get('bonus', 0) for m in members)
names = sorted([m['name'].strip().upper() for m in members])
flags = [isinstance(m, dict) and bool(m) for m in members]
rich = 0
for m in members:
    if m['income'] > 1000:
        rich += 1
label = f"{count} members, avg {avg}"
codes = {m['name']: i for i, m in enumerate(members)}
print('no-op')
del scratch
"""
MEMBERS = [{"name": " ann ", "income": 1200.5, "bonus": 10}, {"name": "bob", "income": 800}]


@pytest.mark.parametrize(("status", "end"), [("ok", "end_yes"), ("hold", "end_no")])
def test_script_and_condition_on_task_data(status: str, end: str) -> None:
    cond = "avg > 1000 and status == 'ok' and len(names) == 2 and abs(-rich) == 1"
    wf = build(gateway_bpmn(CALC, cond), engine=make_script_engine(), members=MEMBERS, status=status, scratch=1)
    wf.do_engine_steps()
    out = final_data(wf)
    assert finished(wf, end)
    assert out["total"] == 2000.5 and out["count"] == 2 and out["avg"] == 1000.25
    assert (out["top"], out["low"], out["bonus"], out["rich"]) == (1200.5, 800, 10, 1)
    assert out["names"] == ["ANN", "BOB"] and out["flags"] == [True, True]
    assert out["label"] == "2 members, avg 1000.25" and out["codes"] == {" ann ": 0, "bob": 1}
    assert "scratch" not in out


@pytest.mark.parametrize(("income", "expected"), [(500, "eligible"), (1500, "other")])
def test_dmn_decision(income: int, expected: str) -> None:
    wf = build(dmn_bpmn(), dmn_table(), engine=make_script_engine(), income=income, standard=1000)
    wf.do_engine_steps()
    assert final_data(wf)["result"] == expected


def test_service_called_from_script() -> None:
    calls: list[str] = []

    def lookup_standard(city: str) -> int:
        calls.append(city)
        return {"hz": 1130, "nb": 1080}[city]

    engine = make_script_engine({"lookup_standard": lookup_standard})
    wf = build(gateway_bpmn("standard = lookup_standard(city)", "standard > 1100"), engine=engine, city="hz")
    wf.do_engine_steps()
    out = final_data(wf)
    assert out["standard"] == 1130 and calls == ["hz"] and finished(wf, "end_yes")
    assert "lookup_standard" not in out


def test_service_task_operator() -> None:
    engine = make_script_engine({"lookup_standard": lambda city: {"city": city, "standard": 1130}})
    wf = build(service_bpmn("lookup_standard", "city.upper()", after="doubled = std['standard'] * 2"),
               engine=engine, city="hz")
    wf.do_engine_steps()
    out = final_data(wf)
    assert out["std"] == {"city": "HZ", "standard": 1130} and out["doubled"] == 2260


def test_unknown_service_operator_is_a_clear_error() -> None:
    wf = build(service_bpmn("nope", "city"), engine=make_script_engine({"lookup_standard": len}), city="hz")
    with pytest.raises(WorkflowTaskException, match="unknown service operator 'nope'"):
        wf.do_engine_steps()


def test_invalid_service_registration() -> None:
    for name in ("_private", "len", "not an identifier"):
        with pytest.raises(ValueError, match="invalid service registration"):
            make_script_engine({name: len})


def test_compile_cache_and_validate() -> None:
    engine = make_script_engine()
    expr = "cache_probe_value + 1"
    assert compile_checked(expr, "eval") is compile_checked(expr, "eval")
    hits = compile_checked.cache_info().hits
    for _ in range(3):
        assert engine.environment.evaluate(expr, {"cache_probe_value": 1}) == 2
    assert compile_checked.cache_info().hits == hits + 3
    with pytest.raises(SyntaxError):  # DMN's needs_eq probe relies on this
        engine.validate("< standard")
    with pytest.raises(SandboxViolation, match=r"import is not allowed \(line 1\)"):
        engine.validate("import os")


# ---------------------------------------------------------------- restore + attach


def _user_form(wf: BpmnWorkflow) -> None:
    [form] = wf.get_tasks(state=TaskState.READY, manual=True)
    form.run()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_restored_workflow_needs_attach(marker: Path) -> None:
    engine = make_script_engine()
    wf = build(subprocess_bpmn(_payload("open(MARKER, 'w')", marker)), engine=engine)
    wf.do_engine_steps()  # waits at the user task inside the subprocess
    assert wf.subprocesses and is_sandboxed(wf)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    saved = serializer.serialize_json(wf)

    # Without attach: the engine is not serialized, Spiff silently restores its default, unsafe engine.
    naked = serializer.deserialize_json(saved)
    assert type(naked.script_engine) is PythonScriptEngine
    assert type(naked.script_engine.environment) is TaskDataEnvironment and not is_sandboxed(naked)
    _user_form(naked)
    naked.do_engine_steps()
    assert marker.exists()  # the escape ran: this is why attach() exists
    marker.unlink()
    del naked
    gc.collect()

    # With attach: the top workflow and every sub-workflow use the sandbox again.
    restored = serializer.deserialize_json(saved)
    assert attach(restored, engine) is restored
    assert restored.script_engine is engine and is_sandboxed(restored)
    assert all(sub.script_engine is engine for sub in restored.subprocesses.values())
    _user_form(restored)
    assert_refused(restored, "name 'open' is not defined", marker)


def test_attach_via_subworkflow_and_positive_run_after_restore() -> None:
    engine = make_script_engine({"double": lambda x: 2 * x})
    wf = build(subprocess_bpmn("result = double(len(items))"), engine=engine, items=[1, 2, 3])
    wf.do_engine_steps()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    restored = serializer.deserialize_json(serializer.serialize_json(wf))
    [sub] = restored.subprocesses.values()
    assert attach(sub, engine) is restored  # attaching through a sub-workflow reaches the top one
    assert isinstance(restored.script_engine, SandboxScriptEngine)
    _user_form(restored)
    restored.do_engine_steps()
    assert final_data(restored)["result"] == 6
