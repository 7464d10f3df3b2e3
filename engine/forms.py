"""Validation of user-task form data against the task's JSON Schema.

The workflow engine merges validated form data straight into process variables, so this module is also a security
boundary: a form may only ever set the variables its schema declares. Every top-level key that is not listed in
``schema["properties"]`` is rejected, and nested objects that declare ``properties`` are closed the same way unless
the schema explicitly says otherwise with ``additionalProperties``.

Messages produced here are English (for the JSON API); the web layer renders its own Chinese messages from the
stable ``FieldError.code`` values.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from engine import idnumber as _idnumber  # noqa: F401 - registers the gb11643 format before any form is compiled

__all__ = [
    "FieldError",
    "FormSchemaError",
    "FormValidationError",
    "check_schema",
    "primary_type",
    "resolve_ref",
    "subschema_at",
    "validate_form",
]


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path, e.g. "members.0.name"; "" for the whole object
    code: str  # stable machine code ("required", "type", "undeclared", ...) that UIs translate
    message: str  # precise English message for the API


class FormValidationError(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(error.message for error in self.errors[:5])
        if len(self.errors) > 5:
            summary += f"; ... ({len(self.errors) - 5} more)"
        super().__init__(f"form data is invalid: {summary}")


class FormSchemaError(ValueError, SchemaError):
    """The form schema itself is unusable.

    Derives from both ``ValueError`` (what deploy-time callers catch) and ``jsonschema.SchemaError`` (so code that
    already handles jsonschema's own error keeps working). Only the message is stored, so ``str()`` stays short.
    """

    def __init__(self, message: str) -> None:
        SchemaError.__init__(self, message)


# --------------------------------------------------------------------------------------------------------------------
# Schema introspection, shared with the web layer so both sides agree on what a path such as "members.1.name" means.
# --------------------------------------------------------------------------------------------------------------------


def resolve_ref(root: Mapping[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers ("#/$defs/member") so callers see the schema that actually applies.

    Remote references are not followed: form schemas are deployed as self-contained documents.
    """
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"]
        if ref in seen:  # a reference cycle cannot describe a form field; stop instead of looping forever
            break
        seen.add(ref)
        if ref != "#" and not ref.startswith("#/"):
            break  # plain-name anchors ("#member") are not used by form schemas
        target: Any = root
        for raw in ref[2:].split("/") if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdecimal() and int(part) < len(target):
                target = target[int(part)]
            else:
                return node
        node = target
    return node


def subschema_at(root: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    """Return the schema describing the value at a dotted path, or None if the path is not declared."""
    node: Any = resolve_ref(root, root)
    if field == "":
        return node if isinstance(node, Mapping) else None
    for part in field.split("."):
        if not isinstance(node, Mapping):
            return None
        if part.isdecimal() and primary_type(node) == "array":
            prefix = node.get("prefixItems")
            index = int(part)
            if isinstance(prefix, list) and index < len(prefix):
                node = prefix[index]
            else:
                node = node.get("items")
        else:
            properties = node.get("properties")
            if not isinstance(properties, Mapping) or part not in properties:
                return None
            node = properties[part]
        node = resolve_ref(root, node)
    return node if isinstance(node, Mapping) else None


def primary_type(node: Mapping[str, Any]) -> str | None:
    """The JSON type a field is edited as: the first non-null ``type``, else one inferred from other keywords."""
    declared = node.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list):
        for candidate in declared:
            if candidate != "null":
                return str(candidate)
    if "properties" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    choices = node.get("enum")
    if isinstance(choices, list) and choices:
        return _json_type_name(choices[0])
    return None


# --------------------------------------------------------------------------------------------------------------------
# Deploy-time schema checks
# --------------------------------------------------------------------------------------------------------------------


def check_schema(schema: dict[str, Any]) -> None:
    """Raise FormSchemaError if ``schema`` cannot serve as a user-task form schema."""
    if not isinstance(schema, Mapping):
        raise FormSchemaError(f"form schema must be a JSON object, got {_json_type_name(schema)}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        location = "/".join(str(part) for part in exc.path) or "(root)"
        raise FormSchemaError(f"invalid form schema at {location}: {exc.message}") from exc

    if primary_type(schema) not in (None, "object"):
        raise FormSchemaError(f'form schema must have "type": "object", got {schema.get("type")!r}')
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        raise FormSchemaError('form schema "properties" must be an object')
    # Top-level keys are always restricted to "properties", so a required name missing from it could never be
    # submitted: every instance of the task would be stuck. Catch that at deploy time.
    for name in schema.get("required", []):
        if name not in properties:
            raise FormSchemaError(f"required field {name!r} is not declared in form schema properties")
    for path, node in _data_position_nodes(schema, ""):
        _check_node(path, node)


def _check_node(path: str, node: Mapping[str, Any]) -> None:
    where = path or "(root)"
    names = node.get("x-enumNames")
    if names is not None:
        choices = node.get("enum")
        if not isinstance(choices, list):
            raise FormSchemaError(f'{where}: "x-enumNames" requires "enum"')
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise FormSchemaError(f'{where}: "x-enumNames" must be a list of strings')
        if len(names) != len(choices):
            raise FormSchemaError(f'{where}: "x-enumNames" has {len(names)} labels for {len(choices)} enum values')
    properties = node.get("properties")
    if path and isinstance(properties, Mapping) and _closes_implicitly(node):
        for name in node.get("required", []):
            if name not in properties:
                raise FormSchemaError(f"{where}: required field {name!r} is not declared in properties")


# --------------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------------


def validate_form(schema: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate submitted form data; return a copy holding only declared fields or raise FormValidationError."""
    compiled = _compiled(schema)
    instance: Any = dict(data) if isinstance(data, Mapping) else data

    errors: dict[tuple[str, str], FieldError] = {}
    for error in compiled.validator.iter_errors(instance):
        for field_error in _to_field_errors(error):
            # "required" reports once per missing name but we expand each one to all missing names, so dedupe.
            errors.setdefault((field_error.field, field_error.code), field_error)
    if errors:
        raise FormValidationError(sorted(errors.values(), key=_sort_key))

    return {name: copy.deepcopy(value) for name, value in instance.items() if name in compiled.declared}


@dataclass(frozen=True)
class _CompiledForm:
    validator: Draft202012Validator
    declared: frozenset[str]


_IDENTITY_CACHE_SIZE = 256
_identity_cache: OrderedDict[int, tuple[Mapping[str, Any], _CompiledForm]] = OrderedDict()
_identity_lock = threading.Lock()


def _compiled(schema: Mapping[str, Any]) -> _CompiledForm:
    # Fast path keyed by id(): the cache keeps a reference to the schema so the id cannot be recycled by another
    # object while the entry lives. Schemas are treated as immutable once used. Callers that build a fresh dict per
    # request (json.loads) miss here and fall through to the content-keyed cache, which still skips recompilation.
    key = id(schema)
    with _identity_lock:
        hit = _identity_cache.get(key)
        if hit is not None and hit[0] is schema:
            _identity_cache.move_to_end(key)
            return hit[1]
    try:
        canonical = json.dumps(schema, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise FormSchemaError(f"form schema is not JSON-serialisable: {exc}") from exc
    compiled = _compile(canonical)
    with _identity_lock:
        _identity_cache[key] = (schema, compiled)
        _identity_cache.move_to_end(key)
        while len(_identity_cache) > _IDENTITY_CACHE_SIZE:
            _identity_cache.popitem(last=False)
    return compiled


@functools.lru_cache(maxsize=256)
def _compile(canonical: str) -> _CompiledForm:
    schema = json.loads(canonical)
    check_schema(schema)
    closed = _close_schema(schema)
    validator = Draft202012Validator(closed, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _CompiledForm(validator=validator, declared=frozenset(schema.get("properties", {})))


def _close_schema(schema: dict[str, Any]) -> dict[str, Any]:
    closed = copy.deepcopy(schema)
    for path, node in _data_position_nodes(closed, ""):
        if path == "":
            # The security rule: at the top level only "properties" count as declared, whatever else the schema
            # says, because these keys become process variables.
            node["additionalProperties"] = False
            node.pop("patternProperties", None)
        elif "properties" in node and _closes_implicitly(node):
            node["additionalProperties"] = False
    return closed


def _closes_implicitly(node: Mapping[str, Any]) -> bool:
    return not any(key in node for key in ("additionalProperties", "unevaluatedProperties", "patternProperties"))


def _data_position_nodes(node: Any, path: str) -> Iterable[tuple[str, Any]]:
    """Yield subschemas that describe a value (root, properties, items, $defs), with a readable location.

    Applicator subschemas (allOf/anyOf/oneOf/if/then/else/not/...) are deliberately skipped: they describe extra
    constraints on a value that is already described elsewhere, and closing them would reject the sibling properties
    they do not repeat (e.g. an "if": {"properties": {"decision": ...}} would never match).
    """
    if not isinstance(node, dict):
        return
    yield path, node
    for keyword in ("properties", "patternProperties", "$defs", "definitions"):
        children = node.get(keyword)
        if isinstance(children, dict):
            for name, child in children.items():
                child_path = f"{path}.{name}" if path else str(name)
                if keyword != "properties":
                    child_path = f"{path}/{keyword}/{name}" if path else f"{keyword}/{name}"
                yield from _data_position_nodes(child, child_path)
    for keyword in ("items", "additionalProperties", "additionalItems"):
        child = node.get(keyword)
        if isinstance(child, dict):
            yield from _data_position_nodes(child, f"{path}.*" if path else "*")
    prefix = node.get("prefixItems")
    if isinstance(prefix, list):
        for index, child in enumerate(prefix):
            yield from _data_position_nodes(child, f"{path}.{index}" if path else str(index))


def _to_field_errors(error: ValidationError) -> list[FieldError]:
    path = [str(part) for part in error.absolute_path]
    field = ".".join(path)
    keyword = error.validator if isinstance(error.validator, str) else ""
    value = error.validator_value
    instance = error.instance

    if keyword == "required" and isinstance(instance, Mapping):
        missing = [name for name in value if name not in instance]
        return [_required(_join(field, name)) for name in missing]
    if keyword == "dependentRequired" and isinstance(instance, Mapping):
        return [
            _required(_join(field, name), because=_join(field, trigger))
            for trigger, needed in value.items()
            if trigger in instance
            for name in needed
            if name not in instance
        ]
    if keyword == "additionalProperties" and value is False and isinstance(instance, Mapping):
        return [_undeclared(_join(field, name)) for name in _extra_keys(instance, error.schema)]
    if keyword == "unevaluatedProperties" and value is False:
        return [FieldError(field, "undeclared", f"{_subject(field)} contains undeclared fields: {error.message}")]
    return [FieldError(field, keyword or "invalid", _message(field, keyword, value, instance, error))]


def _extra_keys(instance: Mapping[str, Any], schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return sorted(str(key) for key in instance)
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return sorted(
        str(key)
        for key in instance
        if key not in properties and not any(re.search(pattern, str(key)) for pattern in patterns)
    )


def _required(field: str, because: str | None = None) -> FieldError:
    suffix = f" when '{because}' is present" if because else ""
    return FieldError(field, "required", f"Field '{field}' is required{suffix}.")


def _undeclared(field: str) -> FieldError:
    return FieldError(field, "undeclared", f"Field '{field}' is not declared in the form schema.")


def _message(field: str, keyword: str, value: Any, instance: Any, error: ValidationError) -> str:
    subject = _subject(field)
    if keyword == "type":
        expected = " or ".join(value) if isinstance(value, list) else str(value)
        return f"{subject} must be of type {expected}, got {_json_type_name(instance)}."
    if keyword == "enum":
        return f"{subject} must be one of {', '.join(_literal(choice) for choice in value)}."
    if keyword == "const":
        return f"{subject} must be {_literal(value)}."
    comparisons = {
        "minimum": "greater than or equal to",
        "maximum": "less than or equal to",
        "exclusiveMinimum": "greater than",
        "exclusiveMaximum": "less than",
    }
    if keyword in comparisons:
        return f"{subject} must be {comparisons[keyword]} {_literal(value)}."
    if keyword == "multipleOf":
        return f"{subject} must be a multiple of {_literal(value)}."
    if keyword == "minLength":
        return f"{subject} must be at least {value} characters long."
    if keyword == "maxLength":
        return f"{subject} must be at most {value} characters long."
    if keyword == "pattern":
        return f"{subject} must match the pattern {value!r}."
    if keyword == "format":
        hint = " (expected YYYY-MM-DD)" if value == "date" else ""
        if value == "gb11643" and error.cause:  # engine/idnumber.py says why: shape, birth date or check character
            hint = f": {error.cause}"
        return f"{subject} is not a valid {value}{hint}."
    if keyword == "minItems":
        return f"{subject} must contain at least {value} item{'s' if value != 1 else ''}."
    if keyword == "maxItems":
        return f"{subject} must contain at most {value} item{'s' if value != 1 else ''}."
    if keyword == "uniqueItems":
        return f"{subject} must not contain duplicate items."
    if keyword == "minProperties":
        return f"{subject} must have at least {value} fields."
    if keyword == "maxProperties":
        return f"{subject} must have at most {value} fields."
    # Combinators and rarer keywords: jsonschema's own wording is accurate enough and we do not want to guess.
    return f"{subject}: {error.message}"


def _subject(field: str) -> str:
    return f"Field '{field}'" if field else "Form data"


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else str(name)


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _sort_key(error: FieldError) -> tuple[tuple[tuple[int, int, str], ...], str]:
    # Numeric path segments sort numerically so "members.10" follows "members.2" rather than "members.1".
    parts = tuple((0, int(part), "") if part.isdecimal() else (1, 0, part) for part in error.field.split(".") if part)
    return parts, error.code
