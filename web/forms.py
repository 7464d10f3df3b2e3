"""HTML side of user-task forms: render a JSON Schema as form fields, turn a form post back into typed JSON, and
explain validation errors in Simplified Chinese.

Naming convention shared by ``render_form`` and ``coerce_form``:

* scalar fields post under their property name (``household_size``);
* nested objects post dotted names (``address.city``);
* arrays of objects post one name per cell, ``members.<row>.<field>`` (row indexes may have gaps, e.g. after a
  script adds rows, and blank rows are dropped);
* arrays of scalars post the same name repeatedly (checkbox group, multi-select or repeated inputs).

Validation itself is the engine's job (``engine.forms.validate_form``); coercion here never rejects anything, it
only converts what it can and hands the rest through untouched so the engine reports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from engine import idnumber
from engine.forms import FieldError, primary_type, resolve_ref, subschema_at

__all__ = ["coerce_form", "error_message_zh", "render_form"]

CSRF_FIELD = "csrf_token"
ROW_INDEX_PLACEHOLDER = "__INDEX__"
TEXTAREA_MIN_MAX_LENGTH = 200  # a string allowed to be longer than this gets a textarea

_TRUE_WORDS = frozenset({"on", "true", "1", "yes"})
_FALSE_WORDS = frozenset({"off", "false", "0", "no", ""})
_INTEGER_RE = re.compile(r"[+-]?\d+")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Omit:
    """Marker for "the user left this empty": the key is left out rather than stored as an empty string."""


_OMIT = _Omit()


# --------------------------------------------------------------------------------------------------------------------
# Coercion: posted strings -> typed JSON
# --------------------------------------------------------------------------------------------------------------------


def coerce_form(schema: Mapping[str, Any], form: Any) -> dict[str, Any]:
    """Convert an HTML form post into JSON typed per ``schema``.

    ``form`` is a multi-dict with ``getlist`` (Starlette/Werkzeug) or a plain mapping of name -> list of strings
    (a bare string is accepted as a single value). Keys the schema does not declare are kept as they are so that the
    engine rejects them as "undeclared"; only the CSRF token is removed.
    """
    fields = _as_multi(form)
    fields.pop(CSRF_FIELD, None)
    return _coerce_object(schema, resolve_ref(schema, schema), fields)


def _as_multi(form: Any) -> dict[str, list[Any]]:
    if hasattr(form, "getlist"):
        return {str(key): list(form.getlist(key)) for key in dict.fromkeys(form.keys())}
    result: dict[str, list[Any]] = {}
    for key, value in form.items():
        result[str(key)] = list(value) if isinstance(value, (list, tuple)) else [value]
    return result


def _coerce_object(root: Mapping[str, Any], node: Mapping[str, Any], fields: dict[str, list[Any]]) -> dict[str, Any]:
    properties = _properties(node)
    result: dict[str, Any] = {}
    consumed: set[str] = set()

    for name, raw_child in properties.items():
        child = resolve_ref(root, raw_child)
        if not isinstance(child, Mapping):
            continue
        kind = primary_type(child)
        prefix = f"{name}."

        if kind == "object" and isinstance(child.get("properties"), Mapping):
            nested = {key[len(prefix) :]: values for key, values in fields.items() if key.startswith(prefix)}
            if nested:
                consumed.update(prefix + key for key in nested)
                consumed.add(name)
                if not _all_blank(nested):
                    result[name] = _coerce_object(root, child, nested)
            elif name in fields:
                consumed.add(name)
                result[name] = _raw(fields[name])
            continue

        if kind == "array":
            items = resolve_ref(root, child.get("items", {}))
            items = items if isinstance(items, Mapping) else {}
            if primary_type(items) == "object":
                rows: dict[int, dict[str, list[Any]]] = {}
                for key, values in fields.items():
                    if not key.startswith(prefix):
                        continue
                    index, _, rest = key[len(prefix) :].partition(".")
                    if index.isdecimal() and rest:
                        rows.setdefault(int(index), {})[rest] = values
                        consumed.add(key)
                if rows:
                    # A table always posts at least its blank row; the list is rebuilt in index order so gaps left
                    # by added/removed rows do not matter, and untouched rows disappear instead of failing validation.
                    consumed.add(name)
                    result[name] = [
                        _coerce_object(root, items, row) for _, row in sorted(rows.items()) if not _all_blank(row)
                    ]
                elif name in fields:
                    consumed.add(name)
                    result[name] = _raw(fields[name])
            else:
                # Checkbox groups and multi-selects post nothing when nothing is chosen, so absence means "empty
                # list" (the same reasoning as an unticked checkbox meaning False).
                consumed.add(name)
                coerced = (_coerce_scalar(items, value) for value in fields.get(name, []))
                result[name] = [value for value in coerced if value is not _OMIT]
            continue

        if kind == "boolean" and not _choices(child):
            consumed.add(name)
            result[name] = _coerce_checkbox(fields.get(name, []))
            continue

        if name in fields:
            consumed.add(name)
            values = fields[name]
            if len(values) == 1:
                value = _coerce_scalar(child, values[0])
                if value is not _OMIT:
                    result[name] = value
            elif values:
                # Several values for a single-valued field cannot come from our own markup; pass them on as a list
                # so validation reports a type error instead of us silently picking one.
                result[name] = list(values)

    for key, values in fields.items():
        if key not in consumed and key not in result:
            result[key] = _raw(values)
    return result


def _coerce_checkbox(values: list[Any]) -> Any:
    if not values:
        return False
    words = [value.strip().lower() if isinstance(value, str) else value for value in values]
    if all(isinstance(word, str) and word in _TRUE_WORDS | _FALSE_WORDS for word in words):
        # A hidden "false" followed by the checkbox's "on" is a common pattern: any true value wins.
        return any(word in _TRUE_WORDS for word in words)
    return _raw(values)


def _coerce_scalar(node: Mapping[str, Any], value: Any) -> Any:
    if not isinstance(value, str):
        return value  # e.g. an uploaded file object: not ours to interpret
    text = value.replace("\r\n", "\n").strip()  # browsers post CRLF in textareas; maxLength should count one char
    if not text:
        return _OMIT

    choices = _choices(node)
    if choices:
        for choice, _label in choices:
            if _form_value(choice) == text:
                return choice
        return text

    kind = primary_type(node)
    if kind == "integer":
        if _INTEGER_RE.fullmatch(text):
            return int(text)
        if _NUMBER_RE.fullmatch(text) and float(text).is_integer():
            return int(float(text))
        return text  # keep what was typed: validation reports a type error and the form shows it back
    if kind == "number":
        if _INTEGER_RE.fullmatch(text):
            return int(text)
        if _NUMBER_RE.fullmatch(text):
            return float(text)
        return text
    if kind == "boolean":
        lowered = text.lower()
        if lowered in _TRUE_WORDS:
            return True
        if lowered in _FALSE_WORDS:
            return False
        return text
    return text


def _all_blank(fields: Mapping[str, list[Any]]) -> bool:
    return all(isinstance(value, str) and not value.strip() for values in fields.values() for value in values)


def _raw(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else list(values)


# --------------------------------------------------------------------------------------------------------------------
# Rendering: schema + data + errors -> HTML fields
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _RenderContext:
    root: Mapping[str, Any]
    errors: dict[str, list[FieldError]]
    initial: bool  # no data yet: schema defaults may prefill
    shown: set[str] = field(default_factory=set)

    def take_errors(self, path: str) -> list[str]:
        found = self.errors.get(path, [])
        if found:
            self.shown.add(path)
        return [error_message_zh(error, self.root) for error in found]


def render_form(
    schema: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    errors: Sequence[FieldError] | None = None,
) -> Markup:
    """Render the fields of a user-task form (without the ``<form>`` element, CSRF token or submit button).

    The markup is CSP-friendly: no inline scripts, handlers or styles. Array tables carry a ``<template
    data-row-template="...">`` and a ``<button data-add-row="..." data-next-index="...">`` for a page script to use.
    """
    by_field: dict[str, list[FieldError]] = {}
    for error in errors or ():
        by_field.setdefault(error.field, []).append(error)
    ctx = _RenderContext(root=schema, errors=by_field, initial=data is None)
    node = resolve_ref(schema, schema)
    body = _render_properties(ctx, node if isinstance(node, Mapping) else {}, data or {}, prefix="")
    return _render_summary(ctx, errors or ()) + body


def _render_summary(ctx: _RenderContext, errors: Sequence[FieldError]) -> Markup:
    # Lists every problem; those without an inline spot (whole-form errors, undeclared fields) only appear here.
    if not errors:
        return Markup("")
    items = []
    for error in errors:
        message = error_message_zh(error, ctx.root)
        if error.field in ctx.shown:
            items.append(_el("li", {}, _el("a", {"href": f"#{_field_id(error.field)}"}, message)))
        else:
            items.append(_el("li", {}, message))
    return _el(
        "div",
        {"class": "form-errors", "role": "alert"},
        _el("p", {}, f"请修改以下 {len(errors)} 处问题后再提交："),
        _el("ul", {}, *items),
    )


def _render_properties(ctx: _RenderContext, node: Mapping[str, Any], data: Mapping[str, Any], prefix: str) -> Markup:
    properties = _properties(node)
    required = set(node.get("required", []))
    parts = []
    for name, raw_child in properties.items():
        child = resolve_ref(ctx.root, raw_child)
        if not isinstance(child, Mapping):
            continue
        path = f"{prefix}{name}"
        if name in data:
            value = data[name]
        elif ctx.initial and "default" in child:
            value = child["default"]
        else:
            value = None
        parts.append(_render_field(ctx, path, str(name), child, value, name in required))
    return Markup("").join(parts)


def _render_field(
    ctx: _RenderContext, path: str, name: str, node: Mapping[str, Any], value: Any, required: bool
) -> Markup:
    kind = _widget_kind(ctx.root, node)
    if kind == "table":
        return _render_table(ctx, path, name, node, value, required)
    if kind in ("checkboxes", "multiselect", "list"):
        return _render_scalar_list(ctx, path, name, node, value, required, kind)
    if kind == "object":
        return _render_object(ctx, path, name, node, value, required)

    field_id = _field_id(path)
    messages = ctx.take_errors(path)
    title = _title(node, name)
    control = _render_control(kind, path, field_id, node, value, required, _describedby(field_id, node, messages))
    label = _el("label", {"for": field_id}, title, _required_mark(required))
    inner = [control, label] if kind == "checkbox" else [label, control]
    return _el(
        "div",
        {"class": _field_class(kind, messages)},
        *inner,
        _error_text(field_id, messages),
        _help_text(field_id, node),
    )


def _render_control(
    kind: str,
    path: str,
    field_id: str,
    node: Mapping[str, Any],
    value: Any,
    required: bool,
    describedby: Mapping[str, Any],
) -> Markup:
    common: dict[str, Any] = {"id": field_id, "name": path, **describedby}
    # aria-required rather than the HTML required attribute: the browser's own bubble would pre-empt the server's
    # Chinese messages and a blank table row must stay submittable.
    if required and kind != "checkbox":
        common["aria-required"] = "true"

    if kind == "select":
        return _render_select(common, node, value)
    if kind == "checkbox":
        return _el("input", {"type": "checkbox", **common, "value": "on", "checked": value is True})
    if kind == "textarea":
        text = _display(value)
        # The HTML parser drops one newline right after <textarea>; add one so a leading blank line survives.
        if text.startswith("\n"):
            text = "\n" + text
        return _el("textarea", {**common, "rows": "4", "maxlength": node.get("maxLength")}, text)
    if kind in ("integer", "number"):
        if value is None or _is_number(value):
            step = "1" if kind == "integer" else "any"
            return _el("input", {"type": "number", **common, "step": step, "value": _display(value)})
        # Browsers blank out a non-numeric value in a number input; a text input shows the user what they sent.
        inputmode = "numeric" if kind == "integer" else "decimal"
        return _el("input", {"type": "text", **common, "inputmode": inputmode, "value": _display(value)})
    if kind == "date":
        if value is None or _is_iso_date(value):
            return _el("input", {"type": "date", **common, "value": _display(value)})
        return _el("input", {"type": "text", **common, "placeholder": "YYYY-MM-DD", "value": _display(value)})
    input_type = {"email": "email", "uri": "url"}.get(str(node.get("format")), "text")
    return _el(
        "input",
        {"type": input_type, **common, "maxlength": node.get("maxLength"), "value": _display(value)},
    )


def _render_select(attrs: Mapping[str, Any], node: Mapping[str, Any], value: Any, multiple: bool = False) -> Markup:
    choices = _choices(node) or []
    chosen = {_form_value(item) for item in value} if multiple and isinstance(value, list) else set()
    if not multiple and value is not None:
        chosen = {_form_value(value)}
    options = []
    if not multiple:
        # Always offer an empty choice: pre-selecting the first option would turn "did not decide" into, say, 同意.
        options.append(_el("option", {"value": "", "selected": not chosen}, "请选择"))
    known = set()
    for choice, label in choices:
        option_value = _form_value(choice)
        known.add(option_value)
        options.append(_el("option", {"value": option_value, "selected": option_value in chosen}, label))
    for unknown in sorted(chosen - known - {""}):
        # Show back a value that is not a valid choice, so the user sees what was submitted.
        options.append(_el("option", {"value": unknown, "selected": True}, unknown))
    return _el("select", {**attrs, "multiple": multiple}, *options)


def _render_table(
    ctx: _RenderContext, path: str, name: str, node: Mapping[str, Any], value: Any, required: bool
) -> Markup:
    field_id = _field_id(path)
    messages = ctx.take_errors(path)
    items = resolve_ref(ctx.root, node.get("items", {}))
    resolved_columns = ((str(column), resolve_ref(ctx.root, raw)) for column, raw in _properties(items).items())
    columns = [(column, schema) for column, schema in resolved_columns if isinstance(schema, Mapping)]
    column_required = set(items.get("required", []))
    rows_data = value if isinstance(value, list) else []

    header = _el(
        "tr",
        {},
        *(
            _el("th", {"scope": "col"}, _title(schema, column), _required_mark(column in column_required))
            for column, schema in columns
        ),
    )
    body_rows = [
        _render_row(ctx, path, str(index), columns, column_required, row if isinstance(row, Mapping) else {})
        for index, row in enumerate([*rows_data, {}])
    ]
    template_row = _render_row(ctx, path, ROW_INDEX_PLACEHOLDER, columns, column_required, {}, live=False)
    title = _title(node, name)
    return _el(
        "div",
        {"class": _field_class("table", messages)},
        _el(
            "fieldset",
            {"id": field_id, **_describedby(field_id, node, messages)},
            _el("legend", {}, title, _required_mark(required)),
            _error_text(field_id, messages),
            _help_text(field_id, node),
            _el(
                "table",
                {"class": "form-rows"},
                _el("thead", {}, header),
                _el("tbody", {"data-rows": path}, *body_rows),
            ),
            _el("template", {"data-row-template": path}, template_row),
            _el(
                "button",
                {
                    "type": "button",
                    "class": "add-row",
                    "data-add-row": path,
                    "data-next-index": str(len(rows_data) + 1),
                    "aria-controls": field_id,
                },
                "添加一行",
            ),
        ),
    )


def _render_row(
    ctx: _RenderContext,
    table_path: str,
    index: str,
    columns: list[tuple[str, Mapping[str, Any]]],
    column_required: set[str],
    row: Mapping[str, Any],
    live: bool = True,
) -> Markup:
    cells = []
    for column, schema in columns:
        path = f"{table_path}.{index}.{column}"
        field_id = _field_id(path)
        messages = ctx.take_errors(path) if live else []
        kind = _widget_kind(ctx.root, schema)
        if kind not in _CELL_KINDS:
            kind = "text"  # nested structures do not fit in a cell; a text box at least shows and posts the value
        row_label = f"第 {int(index) + 1} 行" if index.isdecimal() else "新行"
        label = _el("label", {"for": field_id, "class": "visually-hidden"}, f"{_title(schema, column)}（{row_label}）")
        control = _render_control(
            kind,
            path,
            field_id,
            schema,
            row.get(column),
            # Cells never claim required-ness to assistive tech on the spare blank row, which may be left empty.
            column in column_required and bool(row),
            _describedby(field_id, {}, messages),
        )
        cells.append(
            _el(
                "td",
                {},
                _el("div", {"class": _field_class(kind, messages)}, label, control, _error_text(field_id, messages)),
            )
        )
    return _el("tr", {"data-row-index": index}, *cells)


def _render_scalar_list(
    ctx: _RenderContext, path: str, name: str, node: Mapping[str, Any], value: Any, required: bool, kind: str
) -> Markup:
    field_id = _field_id(path)
    messages = ctx.take_errors(path)
    items = resolve_ref(ctx.root, node.get("items", {}))
    items = items if isinstance(items, Mapping) else {}
    values = value if isinstance(value, list) else ([] if value is None else [value])
    title = _title(node, name)
    describedby = _describedby(field_id, node, messages)

    if kind == "multiselect":
        control = _render_select({"id": field_id, "name": path, **describedby}, items, values, multiple=True)
        return _el(
            "div",
            {"class": _field_class(kind, messages)},
            _el("label", {"for": field_id}, title, _required_mark(required)),
            control,
            _error_text(field_id, messages),
            _help_text(field_id, node),
        )

    entries: list[Markup] = []
    extra: list[Markup] = []
    if kind == "checkboxes":
        chosen = {_form_value(item) for item in values}
        for index, (choice, label) in enumerate(_choices(items) or []):
            option_id = f"{field_id}-{index}"
            option_value = _form_value(choice)
            entries.append(
                _el(
                    "div",
                    {"class": "choice"},
                    _el(
                        "input",
                        {
                            "type": "checkbox",
                            "id": option_id,
                            "name": path,
                            "value": option_value,
                            "checked": option_value in chosen,
                        },
                    ),
                    _el("label", {"for": option_id}, label),
                )
            )
    else:
        item_kind = _widget_kind(ctx.root, items)
        item_kind = item_kind if item_kind in _CELL_KINDS else "text"
        # Offer as many inputs as minItems asks for, and always one spare, so the common case needs no script.
        count = max(len(values) + 1, int(node.get("minItems", 0) or 0))
        for index in range(count):
            entries.append(_render_list_entry(ctx, path, str(index), title, items, item_kind, _at(values, index)))
        extra = [
            _el(
                "template",
                {"data-row-template": path},
                _render_list_entry(ctx, path, ROW_INDEX_PLACEHOLDER, title, items, item_kind, None, live=False),
            ),
            _el(
                "button",
                {
                    "type": "button",
                    "class": "add-row",
                    "data-add-row": path,
                    "data-next-index": str(count),
                    "aria-controls": field_id,
                },
                "添加一行",
            ),
        ]
    return _el(
        "div",
        {"class": _field_class(kind, messages)},
        _el(
            "fieldset",
            {"id": field_id, **describedby},
            _el("legend", {}, title, _required_mark(required)),
            _error_text(field_id, messages),
            _help_text(field_id, node),
            _el("div", {"class": "choices" if kind == "checkboxes" else "list-items", "data-rows": path}, *entries),
            *extra,
        ),
    )


def _render_list_entry(
    ctx: _RenderContext,
    path: str,
    index: str,
    title: str,
    items: Mapping[str, Any],
    kind: str,
    value: Any,
    live: bool = True,
) -> Markup:
    entry_path = f"{path}.{index}"  # only for ids and error lookup: every entry posts under the list's own name
    field_id = _field_id(entry_path)
    messages = ctx.take_errors(entry_path) if live else []
    position = f"第 {int(index) + 1} 项" if index.isdecimal() else "新项"
    control = _render_control(kind, path, field_id, items, value, False, _describedby(field_id, {}, messages))
    return _el(
        "div",
        {"class": _field_class(kind, messages), "data-row-index": index},
        _el("label", {"for": field_id, "class": "visually-hidden"}, f"{title}（{position}）"),
        control,
        _error_text(field_id, messages),
    )


def _render_object(
    ctx: _RenderContext, path: str, name: str, node: Mapping[str, Any], value: Any, required: bool
) -> Markup:
    field_id = _field_id(path)
    messages = ctx.take_errors(path)
    return _el(
        "div",
        {"class": _field_class("object", messages)},
        _el(
            "fieldset",
            {"id": field_id, **_describedby(field_id, node, messages)},
            _el("legend", {}, _title(node, name), _required_mark(required)),
            _error_text(field_id, messages),
            _help_text(field_id, node),
            _render_properties(ctx, node, value if isinstance(value, Mapping) else {}, prefix=f"{path}."),
        ),
    )


_CELL_KINDS = frozenset({"text", "textarea", "date", "integer", "number", "select", "checkbox"})


def _widget_kind(root: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    kind = primary_type(node)
    widget = node.get("x-widget")
    if kind == "array":
        items = resolve_ref(root, node.get("items", {}))
        items = items if isinstance(items, Mapping) else {}
        if primary_type(items) == "object":
            return "table"
        if _choices(items):
            return "multiselect" if widget == "select" else "checkboxes"
        return "list"
    if kind == "object":
        return "object"
    if _choices(node):
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return kind
    if node.get("format") == "date":
        return "date"
    max_length = node.get("maxLength")
    if widget == "textarea" or (isinstance(max_length, int) and max_length > TEXTAREA_MIN_MAX_LENGTH):
        return "textarea"
    return "text"


def _choices(node: Mapping[str, Any]) -> list[tuple[Any, str]] | None:
    """(value, display label) pairs from ``enum`` + ``x-enumNames`` or from ``oneOf``/``anyOf`` consts."""
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        names = node.get("x-enumNames")
        labels = names if isinstance(names, list) and len(names) == len(enum) else [_form_value(v) for v in enum]
        return [(choice, str(label)) for choice, label in zip(enum, labels)]
    for keyword in ("oneOf", "anyOf"):
        options = node.get(keyword)
        if isinstance(options, list) and options and all(isinstance(o, Mapping) and "const" in o for o in options):
            return [(option["const"], str(option.get("title", _form_value(option["const"])))) for option in options]
    return None


def _describedby(field_id: str, node: Mapping[str, Any], messages: list[str]) -> dict[str, Any]:
    ids = []
    if messages:
        ids.append(f"{field_id}-error")
    if node.get("description"):
        ids.append(f"{field_id}-help")
    return {"aria-invalid": "true" if messages else None, "aria-describedby": " ".join(ids) or None}


def _error_text(field_id: str, messages: list[str]) -> Markup:
    if not messages:
        return Markup("")
    return _el("p", {"class": "field-error", "id": f"{field_id}-error"}, "；".join(messages))


def _help_text(field_id: str, node: Mapping[str, Any]) -> Markup:
    description = node.get("description")
    if not description:
        return Markup("")
    return _el("p", {"class": "field-help", "id": f"{field_id}-help"}, str(description))


def _required_mark(required: bool) -> Markup:
    if not required:
        return Markup("")
    # Colour comes from the stylesheet (.required): the CSP forbids inline styles. The hidden text is for screen
    # readers, which would otherwise read a bare asterisk.
    return _el("span", {"class": "required", "aria-hidden": "true"}, "*") + _el(
        "span", {"class": "visually-hidden"}, "（必填）"
    )


def _field_class(kind: str, messages: list[str]) -> str:
    return f"field field-{kind}" + (" has-error" if messages else "")


def _field_id(path: str) -> str:
    return "f-" + re.sub(r"\s", "_", path.replace(".", "-"))


def _properties(node: Any) -> Mapping[str, Any]:
    properties = node.get("properties") if isinstance(node, Mapping) else None
    return properties if isinstance(properties, Mapping) else {}


def _title(node: Mapping[str, Any], name: str) -> str:
    title = node.get("title")
    return str(title) if title else name


_VOID_ELEMENTS = frozenset({"input"})


def _el(tag: str, attrs: Mapping[str, Any], *children: Any) -> Markup:
    """Build one element; attribute values and text children are escaped, Markup children are trusted."""
    rendered = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        if value is True:
            rendered.append(Markup(" {}").format(key))
        else:
            rendered.append(Markup(' {}="{}"').format(key, value))
    opening = Markup("<{}{}>").format(Markup(tag), Markup("").join(rendered))
    if tag in _VOID_ELEMENTS:
        return opening
    return opening + Markup("").join(escape(child) for child in children) + Markup(f"</{tag}>")


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return _form_value(value)


def _form_value(value: Any) -> str:
    """How a JSON value travels through an HTML form (option values, input values)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or not _ISO_DATE_RE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


# --------------------------------------------------------------------------------------------------------------------
# Chinese error messages
# --------------------------------------------------------------------------------------------------------------------


_TYPE_PHRASES = {
    "integer": "必须是整数",
    "number": "必须是数字",
    "string": "必须是文本",
    "boolean": "只能选择是或否",
    "array": "的格式不正确（应为多项）",
    "object": "的格式不正确",
}

_FORMAT_PHRASES = {
    "date": "不是有效日期(格式 YYYY-MM-DD)",
    "date-time": "不是有效的日期时间",
    "time": "不是有效时间(格式 HH:MM:SS)",
    "email": "不是有效的电子邮箱地址",
    "uri": "不是有效的网址",
}

# 公民身份号码 (format gb11643): the reason engine/idnumber.py gives, in Chinese.
_ID_NUMBER_PHRASES = {
    idnumber.BAD_CHECK_CHARACTER: "校验位不正确(第 18 位与前 17 位不符),请核对号码",
    idnumber.BAD_BIRTH_DATE: "中的出生日期不存在,请核对号码",
    idnumber.BAD_SHAPE: "应为 18 位(前 17 位为数字,末位为数字或大写 X)",
}


def error_message_zh(error: FieldError, schema: Mapping[str, Any]) -> str:
    """A Simplified Chinese message naming the field by its schema title."""
    if error.code == "undeclared":
        return f"表单中包含未声明的字段 {error.field}"
    if error.code == "domain":  # a domain rule (engine step listener) already speaks Chinese
        return error.message
    node = subschema_at(schema, error.field) or {}
    label = _label_zh(schema, error.field)
    code = error.code

    if not error.field and code != "required":
        return "表单内容不符合要求，请检查后重新提交"
    if code == "required":
        return f"请填写{label}"
    if code == "type":
        if _choices(node):
            return f"{label}的取值无效"
        phrase = _TYPE_PHRASES.get(primary_type(node) or "", "的格式不正确")
        return f"{label}{phrase}"
    if code in ("enum", "const"):
        return f"{label}的取值无效"
    limits = {
        "minimum": "不能小于",
        "maximum": "不能大于",
        "exclusiveMinimum": "必须大于",
        "exclusiveMaximum": "必须小于",
    }
    if code in limits and _is_number(node.get(code)):
        return f"{label}{limits[code]} {_form_value(node[code])}"
    if code == "multipleOf" and _is_number(node.get(code)):
        return f"{label}必须是 {_form_value(node[code])} 的整数倍"
    if code == "format" and node.get("format") == "gb11643":
        return label + next((p for reason, p in _ID_NUMBER_PHRASES.items() if reason in error.message), "的格式不正确")
    if code == "format":
        return f"{label}{_FORMAT_PHRASES.get(str(node.get('format')), '的格式不正确')}"
    if code == "minLength" and isinstance(node.get("minLength"), int):
        if node["minLength"] <= 1:
            return f"请填写{label}"
        return f"{label}至少需要 {node['minLength']} 个字符"
    if code == "maxLength" and isinstance(node.get("maxLength"), int):
        return f"{label}不能超过 {node['maxLength']} 个字符"
    if code == "pattern":
        return f"{label}的格式不正确"
    if code == "minItems" and isinstance(node.get("minItems"), int):
        return f"{label}至少需要 {node['minItems']} 项"
    if code == "maxItems" and isinstance(node.get("maxItems"), int):
        return f"{label}最多只能有 {node['maxItems']} 项"
    if code == "uniqueItems":
        return f"{label}中有重复的项"
    return f"{label}的填写内容不符合要求"


def _label_zh(schema: Mapping[str, Any], field_path: str) -> str:
    """「家庭成员」第 2 行的「月收入」: titles joined along the path, with 1-based row numbers."""
    if not field_path:
        return "表单"
    text = ""
    node: Any = resolve_ref(schema, schema)
    for part in field_path.split("."):
        if isinstance(node, Mapping) and part.isdecimal() and primary_type(node) == "array":
            item = resolve_ref(schema, node.get("items", {}))
            unit = "行" if isinstance(item, Mapping) and primary_type(item) == "object" else "项"
            text += f"第 {int(part) + 1} {unit}"
            node = item
            continue
        properties = node.get("properties") if isinstance(node, Mapping) else None
        child = resolve_ref(schema, properties.get(part)) if isinstance(properties, Mapping) else None
        title = _title(child, part) if isinstance(child, Mapping) else part
        text += f"{'的' if text else ''}「{title}」"
        node = child
    return text
