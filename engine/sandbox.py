"""Restricted script engine for SpiffWorkflow 3.2.

Threat model
------------
Every Python fragment in a diagram runs through this engine: script tasks, pre/post scripts, gateway
and loop conditions, DMN input/output cells, timer expressions, message correlations, service-task
parameters. Spiff's default ``TaskDataEnvironment`` ``exec``s them with full builtins, so whoever
can deploy a diagram (or smuggle text into one) can run shell commands. Here each fragment is
parsed once, checked against an AST whitelist and compiled (cache keyed by the text), then run
with a tiny builtins dict:

* statements: assignment, ``if``/``for``/``while``/``break``/``continue``/``pass``, ``assert``,
  ``del`` of names/subscripts; expressions incl. comprehensions, f-strings, ``:=``. Refused:
  import, def, async def, class, lambda, with, try, raise, return, global, nonlocal, yield, await,
  match, ``del x.attr``.
* no name or attribute starting with ``_``; attributes must be public methods/properties of
  str/int/float/bool/list/tuple/dict/set/frozenset, never ``format``/``format_map`` (that closes
  ``"{0.__class__}".format(x)`` and frame walks such as ``gen.gi_frame.f_back.f_globals``).
* builtins: ``SAFE_BUILTIN_NAMES`` below (``print`` is a no-op). No getattr, eval, exec, open,
  type, vars, ``__import__`` ... so dunder strings built at runtime reach nothing.
* task data is injected as globals, minus keys starting with ``_``, keys naming a builtin (the
  builtin wins, so a form field ``len`` cannot break ``len()``) and callable values. Such keys are
  not written back either. Nested values are not scanned (task data comes from JSON).

Refusals raise ``SandboxViolation`` ("import is not allowed (line 1)"); Spiff wraps it in a
``WorkflowTaskException`` whose text keeps that message. NOT bounded: CPU time and memory
(``while True: pass``, ``'x' * 10**10``). Run workflows in a worker with a timeout/rlimit if
diagram authors are not trusted. The engine is deterministic: no clock, no randomness. Outside this
engine: Spiff's serializer migration for pre-1.3 JSON ``eval``s timer text with full builtins, so
only deserialize JSON this application wrote.

Services: ``make_script_engine({"name": func})`` injects each callable as a global (a script may
call ``name(...)``) and serves Spiff's ``bpmn:serviceTask`` with ``spiffworkflow:serviceTaskOperator
id="name"``: each ``spiffworkflow:parameter`` ``value`` is evaluated as a sandboxed expression, the
callable gets them as keyword arguments, and its JSON-serialisable result lands in the operator's
``resultVariable``. Services are trusted Python; they should return plain data.

The engine is not serialised: after ``BpmnWorkflowSerializer.deserialize_json`` a workflow has a
fresh default (unsafe) ``PythonScriptEngine``. Call ``attach(workflow, engine)`` on every load.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import CodeType
from typing import Any, cast

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException

__all__ = [
    "SAFE_BUILTIN_NAMES",
    "SandboxEnvironment",
    "SandboxScriptEngine",
    "SandboxViolation",
    "attach",
    "check_tree",
    "compile_checked",
    "is_sandboxed",
    "make_script_engine",
]


class SandboxViolation(ValueError):
    """A script or expression uses a construct the sandbox refuses."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message if lineno is None else f"{message} (line {lineno})")
        self.lineno = lineno


def _noop_print(*args: object, **kwargs: object) -> None:
    return None


# fmt: off
_BUILTINS: dict[str, Any] = {
    f.__name__: f
    for f in (abs, all, any, bool, dict, enumerate, float, int, isinstance, len, list, max, min, range,
              round, set, sorted, str, sum, tuple, zip)
}
_BUILTINS["print"] = _noop_print
SAFE_BUILTIN_NAMES: frozenset[str] = frozenset(_BUILTINS)

_DATA_TYPES = (str, int, float, bool, list, tuple, dict, set, frozenset)
_FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map"})
ALLOWED_ATTRIBUTES: frozenset[str] = (
    frozenset(n for t in _DATA_TYPES for n in dir(t) if not n.startswith("_")) - _FORBIDDEN_ATTRIBUTES
)

_REFUSED: dict[type, str] = {
    ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def", ast.AsyncFunctionDef: "async def",
    ast.ClassDef: "class", ast.Lambda: "lambda", ast.With: "with", ast.AsyncWith: "async with",
    ast.Try: "try", ast.TryStar: "try", ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Yield: "yield",
    ast.YieldFrom: "yield from", ast.Await: "await", ast.Match: "match", ast.Raise: "raise",
    ast.Return: "return", ast.AsyncFor: "async for",
}
_ALLOWED: tuple[type, ...] = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.For, ast.While, ast.If, ast.Break,
    ast.Continue, ast.Pass, ast.Delete, ast.Assert, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict,
    ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Compare,
    ast.Call, ast.keyword, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name, ast.List,
    ast.Tuple, ast.Slice, ast.NamedExpr, ast.JoinedStr, ast.FormattedValue,
    ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
)
# fmt: on


def check_tree(tree: ast.AST) -> None:
    """Raise SandboxViolation for the first construct outside the whitelist."""
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if type(node) in _REFUSED:
            raise SandboxViolation(f"{_REFUSED[type(node)]} is not allowed", line)
        if not isinstance(node, _ALLOWED):
            raise SandboxViolation(f"{type(node).__name__} is not allowed", line)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise SandboxViolation(f"name '{node.id}' is not allowed (names starting with '_')", line)
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRIBUTES:
                raise SandboxViolation(f"attribute '{node.attr}' is not allowed", line)
            if node.attr not in ALLOWED_ATTRIBUTES:
                raise SandboxViolation(
                    f"attribute '{node.attr}' is not allowed (only methods of plain data types)", line
                )
        if isinstance(node, ast.Delete) and any(not isinstance(t, ast.Name | ast.Subscript) for t in node.targets):
            raise SandboxViolation("del of an attribute is not allowed", line)
        if isinstance(node, ast.comprehension) and node.is_async:
            raise SandboxViolation("async comprehension is not allowed", getattr(node.iter, "lineno", None))


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str = "exec") -> CodeType:
    """Parse, check and compile ``source`` once per (text, mode); mode is 'exec' or 'eval'."""
    text = source.strip() if mode == "eval" else source
    tree = ast.parse(text, filename="<string>", mode=mode)
    check_tree(tree)
    return compile(cast(Any, tree), "<string>", mode, dont_inherit=True)


def _injectable(key: object, value: object) -> bool:
    return isinstance(key, str) and not key.startswith("_") and key not in _BUILTINS and not callable(value)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates checked code against task data; ``self.globals`` holds the registered services."""

    def __init__(self, services: Mapping[str, Callable[..., Any]] | None = None) -> None:
        services = dict(services or {})
        for name, func in services.items():
            if not name.isidentifier() or name.startswith("_") or name in _BUILTINS or not callable(func):
                raise ValueError(f"invalid service registration {name!r}")
        super().__init__(services)

    def _namespace(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        namespace = {k: v for k, v in context.items() if _injectable(k, v)}
        if external:
            namespace.update((k, v) for k, v in external.items() if _injectable(k, v))
        namespace.update(self.globals)
        namespace["__builtins__"] = _BUILTINS
        return namespace

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        return eval(compile_checked(expression, "eval"), self._namespace(context, external_context))

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = compile_checked(script, "exec")
        namespace = self._namespace(context, external_context)
        exec(code, namespace)
        reserved = set(self.globals) | set(external_context or ())
        for key in [k for k, v in context.items() if _injectable(k, v) and k not in namespace]:
            del context[key]  # removed by a `del` in the script
        context.update((k, v) for k, v in namespace.items() if k not in reserved and _injectable(k, v))
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        name = kwargs.get("operation_name")
        func = self.globals.get(name) if isinstance(name, str) else None
        if func is None:
            raise ValueError(f"unknown service operator {name!r}; registered: {sorted(self.globals)}")
        params = {k: p["value"] for k, p in (kwargs.get("operation_params") or {}).items()}
        return json.dumps(func(**params))


class SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose environment is a SandboxEnvironment; keeps error messages intact."""

    environment: SandboxEnvironment

    def __init__(self, environment: SandboxEnvironment | None = None) -> None:
        super().__init__(environment or SandboxEnvironment())

    def validate(self, expression: str) -> None:
        compile_checked(expression, "exec")  # SyntaxError for DMN's needs_eq probe, SandboxViolation if refused

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as e:  # the base class drops str(e); keep it in the message
            msg = f"Error evaluating expression '{expression}': {type(e).__name__}: {e}"
            raise WorkflowTaskException(msg, task=task, exception=e) from e

    def call_service(self, task: Any, **kwargs: Any) -> str:
        try:  # the base class' error path raises NameError('script') in 3.2.0
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as e:
            msg = f"Service '{kwargs.get('operation_name')}' failed: {type(e).__name__}: {e}"
            raise WorkflowTaskException(msg, task=task, exception=e) from e

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int, str]:
        if isinstance(err, SandboxViolation) and err.lineno:
            lines = script.splitlines()
            return err.lineno, lines[err.lineno - 1] if err.lineno <= len(lines) else ""
        return super().get_error_line_number_and_content(script, err)


def make_script_engine(services: Mapping[str, Callable[..., Any]] | None = None) -> SandboxScriptEngine:
    """A sandboxed engine; ``services`` maps names to trusted callables (globals + serviceTask operators)."""
    return SandboxScriptEngine(SandboxEnvironment(services))


def attach(workflow: BpmnWorkflow, engine: PythonScriptEngine) -> BpmnWorkflow:
    """Install ``engine`` on a (restored) workflow. Returns the top-level workflow.

    In 3.2 only the top ``BpmnWorkflow`` stores an engine (``_BpmnWorkflow__script_engine``); every
    ``BpmnSubWorkflow`` (call activity, subprocess) reads ``top_workflow.script_engine``, and no task
    spec keeps a reference. We verify that rather than trust it.
    """
    top = workflow.top_workflow
    top.script_engine = engine
    stale = [sub for sub in top.subprocesses.values() if sub.script_engine is not engine]
    if stale:
        raise RuntimeError(f"{len(stale)} sub-workflow(s) do not see the attached script engine")
    return top


def is_sandboxed(workflow: BpmnWorkflow) -> bool:
    """True when the workflow (and so all its sub-workflows) runs on a SandboxEnvironment."""
    return isinstance(workflow.top_workflow.script_engine.environment, SandboxEnvironment)
