"""Form schema validation (engine/forms.py) and HTML form handling (web/forms.py), against the real jsonschema."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
from markupsafe import Markup

from engine.forms import FieldError, FormSchemaError, FormValidationError, check_schema, validate_form
from web.forms import coerce_form, error_message_zh, render_form

# A 低保 (minimum living allowance) intake form, shaped like the real ones the bureau deploys.
DIBAO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "低保申请受理",
    "required": ["applicant_name", "members", "decision"],
    "properties": {
        "applicant_name": {"type": "string", "title": "申请人姓名", "minLength": 2, "maxLength": 20},
        "household_size": {"type": "integer", "title": "家庭人口", "minimum": 1},
        "monthly_income": {"type": "number", "title": "月收入", "minimum": 0, "description": "家庭月收入合计（元）"},
        "accept_date": {"type": "string", "title": "受理日期", "format": "date"},
        "decision": {
            "type": "string",
            "title": "审核意见",
            "enum": ["approve", "refuse"],
            "x-enumNames": ["同意", "不同意"],
        },
        "is_registered_separately": {"type": "boolean", "title": "是否单独立户"},
        "remarks": {"type": "string", "title": "备注", "x-widget": "textarea", "maxLength": 500},
        "members": {
            "type": "array",
            "title": "家庭成员",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "title": "姓名"},
                    "relation": {
                        "type": "string",
                        "title": "与申请人关系",
                        "enum": ["self", "spouse", "child", "parent"],
                        "x-enumNames": ["本人", "配偶", "子女", "父母"],
                    },
                    "monthly_income": {"type": "number", "title": "月收入", "minimum": 0},
                },
            },
        },
        "investigators": {
            "type": "array",
            "title": "入户调查人员",
            "minItems": 2,
            "items": {"type": "string"},
        },
    },
}

VALID_DATA: dict[str, Any] = {
    "applicant_name": "王秀英",
    "household_size": 3,
    "monthly_income": 1250.5,
    "accept_date": "2024-03-18",
    "decision": "approve",
    "is_registered_separately": False,
    "remarks": "已核实户籍。",
    "members": [
        {"name": "王秀英", "relation": "self", "monthly_income": 800},
        {"name": "李强", "relation": "child", "monthly_income": 450.5},
    ],
    "investigators": ["张敏", "刘洋"],
}


def errors_of(data: dict[str, Any], schema: dict[str, Any] = DIBAO_SCHEMA) -> list[FieldError]:
    with pytest.raises(FormValidationError) as caught:
        validate_form(schema, data)
    return caught.value.errors


def codes_by_field(errors: list[FieldError]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for error in errors:
        result.setdefault(error.field, set()).add(error.code)
    return result


class FakeMultiDict:
    """Starlette-like form data: ordered (key, value) pairs with duplicates, exposing keys() and getlist()."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def keys(self) -> list[str]:
        return list(dict.fromkeys(key for key, _ in self._pairs))

    def getlist(self, key: str) -> list[str]:
        return [value for name, value in self._pairs if name == key]


# --------------------------------------------------------------------------------------------------------------------
# engine: check_schema
# --------------------------------------------------------------------------------------------------------------------


def test_check_schema_accepts_the_intake_form() -> None:
    check_schema(DIBAO_SCHEMA)


def test_check_schema_rejects_invalid_json_schema_with_a_location() -> None:
    broken = {"type": "object", "properties": {"household_size": {"type": "int"}}}
    with pytest.raises(FormSchemaError) as caught:
        check_schema(broken)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, jsonschema.SchemaError)
    assert "properties/household_size/type" in str(caught.value)


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "array"}, '"type": "object"'),
        ({"type": "object", "required": ["ghost"], "properties": {}}, "'ghost'"),
        ({"type": "object", "properties": {"d": {"enum": ["a", "b"], "x-enumNames": ["甲"]}}}, "x-enumNames"),
        (
            {
                "type": "object",
                "properties": {
                    "rows": {"type": "array", "items": {"type": "object", "required": ["x"], "properties": {}}}
                },
            },
            "'x'",
        ),
    ],
)
def test_check_schema_rejects_unusable_form_schemas(schema: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        check_schema(schema)


def test_validate_form_refuses_an_invalid_schema() -> None:
    with pytest.raises(FormSchemaError):
        validate_form({"type": "object", "properties": {"a": {"type": "nope"}}}, {"a": 1})


# --------------------------------------------------------------------------------------------------------------------
# engine: validate_form
# --------------------------------------------------------------------------------------------------------------------


def test_valid_data_passes_and_returns_a_copy_of_declared_fields() -> None:
    result = validate_form(DIBAO_SCHEMA, VALID_DATA)
    assert result == VALID_DATA
    result["members"][0]["name"] = "changed"
    assert VALID_DATA["members"][0]["name"] == "王秀英"


def test_optional_fields_may_be_absent() -> None:
    minimal = {"applicant_name": "王秀英", "decision": "refuse", "members": [{"name": "王秀英"}]}
    assert validate_form(DIBAO_SCHEMA, minimal) == minimal


def test_undeclared_top_level_field_is_rejected_and_nothing_returned() -> None:
    # The attack this rule exists for: overwriting the process variable holding the allowance standard.
    errors = errors_of({**VALID_DATA, "standard": 99999})
    assert errors == [FieldError("standard", "undeclared", "Field 'standard' is not declared in the form schema.")]


def test_top_level_is_closed_even_if_schema_allows_additional_properties() -> None:
    schema = {**DIBAO_SCHEMA, "additionalProperties": True, "patternProperties": {"^std": {}}}
    assert codes_by_field(errors_of({**VALID_DATA, "standard": 1})) == {"standard": {"undeclared"}}
    assert codes_by_field(errors_of({**VALID_DATA, "std_amount": 1}, schema)) == {"std_amount": {"undeclared"}}


def test_undeclared_key_inside_a_member_is_rejected() -> None:
    data = copy.deepcopy(VALID_DATA)
    data["members"][1]["is_disabled"] = True
    assert codes_by_field(errors_of(data)) == {"members.1.is_disabled": {"undeclared"}}


def test_nested_object_explicit_additional_properties_is_respected() -> None:
    schema = copy.deepcopy(DIBAO_SCHEMA)
    schema["properties"]["members"]["items"]["additionalProperties"] = {"type": "string"}
    data = copy.deepcopy(VALID_DATA)
    data["members"][0]["note"] = "ok"
    assert validate_form(schema, data)["members"][0]["note"] == "ok"
    data["members"][0]["note"] = 5
    assert codes_by_field(errors_of(data, schema)) == {"members.0.note": {"type"}}


def test_conditional_subschemas_are_not_closed() -> None:
    # An "if" that declares one property must still match objects with other properties.
    schema = copy.deepcopy(DIBAO_SCHEMA)
    schema["properties"]["refuse_reason"] = {"type": "string", "title": "不予受理原因"}
    schema["if"] = {"properties": {"decision": {"const": "refuse"}}}
    schema["then"] = {"required": ["refuse_reason"]}
    assert codes_by_field(errors_of({**VALID_DATA, "decision": "refuse"}, schema)) == {"refuse_reason": {"required"}}


def test_items_defined_through_local_ref_are_closed_coerced_and_rendered() -> None:
    schema = {
        "type": "object",
        "$defs": {"member": {"type": "object", "properties": {"name": {"type": "string", "title": "姓名"}}}},
        "properties": {"members": {"type": "array", "title": "家庭成员", "items": {"$ref": "#/$defs/member"}}},
    }
    check_schema(schema)
    assert codes_by_field(errors_of({"members": [{"name": "甲", "x": 1}]}, schema)) == {"members.0.x": {"undeclared"}}
    assert coerce_form(schema, {"members.4.name": ["甲"]}) == {"members": [{"name": "甲"}]}
    assert 'name="members.0.name" value="甲"' in str(render_form(schema, {"members": [{"name": "甲"}]}))
    message = error_message_zh(FieldError("members.0.name", "required", ""), schema)
    assert message == "请填写「家庭成员」第 1 行的「姓名」"


def test_missing_required_reports_the_missing_field_path() -> None:
    data = copy.deepcopy(VALID_DATA)
    del data["applicant_name"]
    del data["decision"]
    del data["members"][1]["name"]
    errors = errors_of(data)
    assert [(error.field, error.code) for error in errors] == [
        ("applicant_name", "required"),
        ("decision", "required"),
        ("members.1.name", "required"),
    ]
    assert errors[2].message == "Field 'members.1.name' is required."


def test_wrong_types_are_reported_at_the_dotted_path() -> None:
    data = copy.deepcopy(VALID_DATA)
    data["members"][1]["monthly_income"] = "abc"
    data["household_size"] = "3"
    data["is_registered_separately"] = "on"
    errors = errors_of(data)
    assert codes_by_field(errors) == {
        "household_size": {"type"},
        "is_registered_separately": {"type"},
        "members.1.monthly_income": {"type"},
    }
    by_field = {error.field: error for error in errors}
    assert by_field["members.1.monthly_income"].message == (
        "Field 'members.1.monthly_income' must be of type number, got string."
    )


def test_all_errors_are_collected_and_sorted_by_field() -> None:
    data = {
        "applicant_name": "王",
        "household_size": 0,
        "monthly_income": -1,
        "accept_date": "2024-02-30",
        "decision": "maybe",
        "members": [{"relation": "cousin", "monthly_income": -5}] + [{"name": f"成员{i}"} for i in range(10)],
        "investigators": ["张敏"],
        "standard": 99999,
    }
    data["members"][10]["monthly_income"] = "x"
    errors = errors_of(data)
    assert [(error.field, error.code) for error in errors] == [
        ("accept_date", "format"),
        ("applicant_name", "minLength"),
        ("decision", "enum"),
        ("household_size", "minimum"),
        ("investigators", "minItems"),
        ("members.0.monthly_income", "minimum"),
        ("members.0.name", "required"),
        ("members.0.relation", "enum"),
        ("members.10.monthly_income", "type"),
        ("monthly_income", "minimum"),
        ("standard", "undeclared"),
    ]
    assert "YYYY-MM-DD" in errors[0].message


def test_min_items_and_email_format() -> None:
    schema = {
        "type": "object",
        "properties": {"contact": {"type": "string", "format": "email"}, "tags": {"type": "array", "minItems": 1}},
    }
    assert codes_by_field(errors_of({"contact": "not-an-address", "tags": []}, schema)) == {
        "contact": {"format"},
        "tags": {"minItems"},
    }


def test_non_object_data_is_a_whole_form_type_error() -> None:
    errors = errors_of(["not", "an", "object"])  # type: ignore[arg-type]
    assert [(error.field, error.code) for error in errors] == [("", "type")]


def test_equal_schema_dicts_share_a_compiled_validator() -> None:
    # Schemas loaded afresh per request (json.loads) must not be recompiled every time.
    from engine import forms

    before = forms._compile.cache_info()
    for _ in range(3):
        validate_form(copy.deepcopy(DIBAO_SCHEMA), VALID_DATA)
    after = forms._compile.cache_info()
    assert after.misses - before.misses <= 1


# --------------------------------------------------------------------------------------------------------------------
# web: coerce_form
# --------------------------------------------------------------------------------------------------------------------


def test_coerce_form_builds_typed_data_from_a_post() -> None:
    form = FakeMultiDict(
        [
            ("csrf_token", "tok"),
            ("applicant_name", "  王秀英 "),
            ("household_size", "3"),
            ("monthly_income", "1250.50"),
            ("accept_date", "2024-03-18"),
            ("decision", "approve"),
            ("is_registered_separately", "on"),
            ("remarks", "第一行\r\n第二行"),
            ("members.0.name", "王秀英"),
            ("members.0.relation", "self"),
            ("members.0.monthly_income", "800"),
            ("members.3.name", "李强"),
            ("members.3.relation", "child"),
            ("members.3.monthly_income", ""),
            ("members.7.name", ""),
            ("members.7.relation", ""),
            ("members.7.monthly_income", " "),
            ("investigators", "张敏"),
            ("investigators", ""),
            ("investigators", "刘洋"),
        ]
    )
    assert coerce_form(DIBAO_SCHEMA, form) == {
        "applicant_name": "王秀英",
        "household_size": 3,
        "monthly_income": 1250.5,
        "accept_date": "2024-03-18",
        "decision": "approve",
        "is_registered_separately": True,
        "remarks": "第一行\n第二行",
        "members": [
            {"name": "王秀英", "relation": "self", "monthly_income": 800},
            {"name": "李强", "relation": "child"},
        ],
        "investigators": ["张敏", "刘洋"],
    }


def test_coerce_form_member_rows_follow_index_order_not_post_order() -> None:
    form = {"members.12.name": ["丙"], "members.2.name": ["甲"], "members.5.name": ["乙"]}
    assert [member["name"] for member in coerce_form(DIBAO_SCHEMA, form)["members"]] == ["甲", "乙", "丙"]


def test_coerce_form_keeps_invalid_numbers_raw_for_validation() -> None:
    form = {"household_size": ["abc"], "monthly_income": ["1,200"], "members.0.name": ["甲"]}
    form["members.0.monthly_income"] = ["十元"]
    data = coerce_form(DIBAO_SCHEMA, form)
    assert data["household_size"] == "abc"
    assert data["monthly_income"] == "1,200"
    assert data["members"] == [{"name": "甲", "monthly_income": "十元"}]
    assert codes_by_field(errors_of({**VALID_DATA, **data}))["household_size"] == {"type"}


def test_coerce_form_number_edge_cases() -> None:
    data = coerce_form(DIBAO_SCHEMA, {"household_size": ["2.0"], "monthly_income": ["-0.5"]})
    assert data["household_size"] == 2 and isinstance(data["household_size"], int)
    assert data["monthly_income"] == -0.5
    assert coerce_form(DIBAO_SCHEMA, {"monthly_income": ["nan"]})["monthly_income"] == "nan"


def test_coerce_form_checkbox_absent_is_false_and_empty_strings_are_omitted() -> None:
    data = coerce_form(DIBAO_SCHEMA, {"applicant_name": [""], "accept_date": ["  "], "decision": [""]})
    assert data == {"is_registered_separately": False, "investigators": []}


def test_coerce_form_removes_csrf_but_keeps_unknown_keys() -> None:
    form = {
        "csrf_token": ["tok"],
        "standard": ["99999"],
        "members.0.name": ["甲"],
        "members.0.is_disabled": ["on"],
        "members.x.name": ["乙"],
    }
    data = coerce_form(DIBAO_SCHEMA, form)
    assert "csrf_token" not in data
    assert data["standard"] == "99999"
    assert data["members.x.name"] == "乙"
    assert data["members"] == [{"name": "甲", "is_disabled": "on"}]
    # ...so that the engine rejects every one of them.
    fields = codes_by_field(errors_of({**VALID_DATA, **data}))
    assert fields["standard"] == {"undeclared"}
    assert fields["members.x.name"] == {"undeclared"}
    assert fields["members.0.is_disabled"] == {"undeclared"}


def test_coerce_form_duplicate_values_for_a_scalar_become_a_type_error() -> None:
    data = coerce_form(DIBAO_SCHEMA, FakeMultiDict([("decision", "approve"), ("decision", "refuse")]))
    assert data["decision"] == ["approve", "refuse"]


def test_coerce_form_maps_enum_values_of_other_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "kinds": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
    }
    form = FakeMultiDict([("level", "2"), ("kinds", "a"), ("kinds", "b")])
    assert coerce_form(schema, form) == {"level": 2, "kinds": ["a", "b"]}


def test_coerced_post_validates_end_to_end() -> None:
    form = FakeMultiDict(
        [
            ("applicant_name", "王秀英"),
            ("decision", "refuse"),
            ("members.0.name", "王秀英"),
            ("members.1.name", ""),
            ("investigators", "张敏"),
            ("investigators", "刘洋"),
        ]
    )
    assert validate_form(DIBAO_SCHEMA, coerce_form(DIBAO_SCHEMA, form)) == {
        "applicant_name": "王秀英",
        "decision": "refuse",
        "is_registered_separately": False,
        "members": [{"name": "王秀英"}],
        "investigators": ["张敏", "刘洋"],
    }


# --------------------------------------------------------------------------------------------------------------------
# web: render_form
# --------------------------------------------------------------------------------------------------------------------


def field_html(html: str, field_id: str) -> str:
    """The <div class="field ..."> block that contains the element with ``field_id``."""
    position = html.index(f'id="{field_id}"')
    start = html.rindex('<div class="field', 0, position)
    end = html.index("</div>", position)
    return html[start : end + len("</div>")]


def test_render_form_returns_markup_without_form_or_script() -> None:
    html = render_form(DIBAO_SCHEMA)
    assert isinstance(html, Markup)
    assert "<form" not in html and "<script" not in html and "onclick" not in html and "style=" not in html
    assert 'type="submit"' not in html


def test_render_form_widgets() -> None:
    html = str(render_form(DIBAO_SCHEMA))
    assert '<label for="f-applicant_name">申请人姓名' in html
    assert 'id="f-applicant_name" name="applicant_name" aria-required="true"' in html
    assert '<input type="number" id="f-household_size" name="household_size" step="1"' in html
    assert '<input type="number" id="f-monthly_income" name="monthly_income" aria-describedby' in html
    assert 'step="any"' in field_html(html, "f-monthly_income")
    assert '<input type="date" id="f-accept_date" name="accept_date"' in html
    assert '<textarea id="f-remarks" name="remarks" rows="4" maxlength="500">' in html
    assert '<input type="checkbox" id="f-is_registered_separately" name="is_registered_separately" value="on">' in html
    assert '<p class="field-help" id="f-monthly_income-help">家庭月收入合计（元）</p>' in html
    assert 'aria-describedby="f-monthly_income-help"' in html


def test_render_form_required_marks() -> None:
    html = str(render_form(DIBAO_SCHEMA))
    mark = '<span class="required" aria-hidden="true">*</span>'
    assert mark in field_html(html, "f-applicant_name")
    assert mark not in field_html(html, "f-household_size")
    assert '<th scope="col">姓名' + mark in html


def test_render_form_escapes_titles_descriptions_and_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "x": {"type": "string", "title": "<script>alert(1)</script>", "description": 'a "quoted" <b>help</b>'},
            "y": {"type": "string", "enum": ["<i>"], "x-enumNames": ["<img src=x>"]},
        },
    }
    html = str(render_form(schema, {"x": '"><script>evil()</script>'}))
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="&#34;&gt;&lt;script&gt;evil()&lt;/script&gt;"' in html
    assert '<option value="&lt;i&gt;">&lt;img src=x&gt;</option>' in html


def test_render_form_select_uses_chinese_labels_and_marks_selection() -> None:
    html = str(render_form(DIBAO_SCHEMA, {"decision": "refuse"}))
    select = field_html(html, "f-decision")
    assert '<option value="" selected>' not in select
    assert '<option value="approve">同意</option>' in select
    assert '<option value="refuse" selected>不同意</option>' in select
    # A fresh form never pre-selects a decision.
    assert '<option value="" selected>请选择</option>' in field_html(str(render_form(DIBAO_SCHEMA)), "f-decision")


def test_render_form_select_labels_from_one_of() -> None:
    schema = {
        "type": "object",
        "properties": {"level": {"type": "integer", "oneOf": [{"const": 1, "title": "一级"}, {"const": 2}]}},
    }
    html = str(render_form(schema, {"level": 2}))
    assert '<option value="1">一级</option>' in html
    assert '<option value="2" selected>2</option>' in html


def test_render_form_prefills_including_raw_invalid_values() -> None:
    data = {
        "applicant_name": "王秀英",
        "household_size": "abc",
        "monthly_income": 1250.0,
        "accept_date": "2024-02-30",
        "is_registered_separately": True,
        "remarks": "\n第一行",
        "decision": "maybe",
    }
    html = str(render_form(DIBAO_SCHEMA, data))
    assert 'value="王秀英"' in field_html(html, "f-applicant_name")
    # A number input would blank out "abc"; it is shown back in a text input instead.
    household = field_html(html, "f-household_size")
    assert 'type="text"' in household and 'value="abc"' in household and 'inputmode="numeric"' in household
    assert 'type="number"' in field_html(html, "f-monthly_income") and 'value="1250"' in html
    accept = field_html(html, "f-accept_date")
    assert 'type="text"' in accept and 'value="2024-02-30"' in accept
    assert 'name="is_registered_separately" value="on" checked>' in html
    assert '<textarea id="f-remarks" name="remarks" rows="4" maxlength="500">\n\n第一行</textarea>' in html
    assert '<option value="maybe" selected>maybe</option>' in html


def test_render_form_shows_chinese_error_next_to_the_right_field() -> None:
    data = {"household_size": "abc", "members": [{"name": "甲"}, {"name": "乙", "monthly_income": "x"}]}
    errors = [
        FieldError("applicant_name", "required", "Field 'applicant_name' is required."),
        FieldError("household_size", "type", "..."),
        FieldError("members.1.monthly_income", "type", "..."),
        FieldError("standard", "undeclared", "..."),
    ]
    html = str(render_form(DIBAO_SCHEMA, data, errors))

    name_field = field_html(html, "f-applicant_name")
    assert name_field.startswith('<div class="field field-text has-error">')
    assert 'aria-invalid="true" aria-describedby="f-applicant_name-error"' in name_field
    assert '<p class="field-error" id="f-applicant_name-error">请填写「申请人姓名」</p>' in name_field

    size_field = field_html(html, "f-household_size")
    assert "「家庭人口」必须是整数" in size_field and 'aria-invalid="true"' in size_field

    cell = field_html(html, "f-members-1-monthly_income")
    assert "「家庭成员」第 2 行的「月收入」必须是数字" in cell and 'aria-invalid="true"' in cell
    assert "必须是数字" not in field_html(html, "f-members-0-monthly_income")
    assert "aria-invalid" not in field_html(html, "f-monthly_income")

    # Errors without a field of their own still reach the user, in the summary at the top.
    summary = html[: html.index('<div class="field')]
    assert 'role="alert"' in summary and "表单中包含未声明的字段 standard" in summary
    assert '<a href="#f-applicant_name">请填写「申请人姓名」</a>' in summary


def test_render_form_members_table_has_a_row_per_member_plus_blank_row() -> None:
    data = {"members": [{"name": "王秀英", "relation": "self", "monthly_income": 800}, {"name": "李强"}]}
    html = str(render_form(DIBAO_SCHEMA, data, [FieldError("members", "minItems", "...")]))
    tbody = html[html.index('<tbody data-rows="members">') : html.index("</tbody>")]
    assert re.findall(r'<tr data-row-index="(\d+)">', tbody) == ["0", "1", "2"]
    assert 'name="members.0.name" aria-required="true" value="王秀英"' in tbody
    assert '<option value="self" selected>本人</option>' in tbody
    assert 'name="members.0.monthly_income" step="any" value="800"' in tbody
    assert 'name="members.1.name" aria-required="true" value="李强"' in tbody
    assert 'id="f-members-2-name" name="members.2.name" value=""' in tbody  # spare row is not required
    assert '<label for="f-members-2-name" class="visually-hidden">姓名（第 3 行）</label>' in tbody
    # Rows are added by a page script from a <template>; no inline code.
    assert '<template data-row-template="members"><tr data-row-index="__INDEX__">' in html
    assert 'name="members.__INDEX__.relation"' in html
    assert '<button type="button" class="add-row" data-add-row="members" data-next-index="3"' in html
    assert "添加一行" in html
    assert "「家庭成员」至少需要 1 项" in field_html(html, "f-members")


def test_render_form_string_list_offers_min_items_inputs() -> None:
    html = str(render_form(DIBAO_SCHEMA, {"investigators": ["张敏"]}, [FieldError("investigators", "minItems", "")]))
    block = html[html.index('id="f-investigators"') :]
    assert len(re.findall(r'<input type="text" id="f-investigators-\d" name="investigators"', block)) == 2
    assert 'value="张敏"' in block
    assert "「入户调查人员」至少需要 2 项" in block


def test_render_form_checkbox_group_for_enum_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "aid": {
                "type": "array",
                "title": "救助类型",
                "items": {"type": "string", "enum": ["medical", "edu"], "x-enumNames": ["医疗救助", "教育救助"]},
            }
        },
    }
    html = str(render_form(schema, {"aid": ["edu"]}))
    assert '<input type="checkbox" id="f-aid-0" name="aid" value="medical"><label for="f-aid-0">医疗救助' in html
    assert 'name="aid" value="edu" checked>' in html
    assert coerce_form(schema, FakeMultiDict([("aid", "edu")])) == {"aid": ["edu"]}


def test_render_form_uses_defaults_only_on_a_fresh_form() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "title": "城市", "default": "杭州"}}}
    assert 'value="杭州"' in str(render_form(schema))
    assert 'value="杭州"' not in str(render_form(schema, {}))


def test_render_and_coerce_round_trip() -> None:
    """What render_form names its fields is exactly what coerce_form reads back."""
    html = str(render_form(DIBAO_SCHEMA, VALID_DATA))
    pairs: list[tuple[str, str]] = []
    live_html = re.sub(r"<template.*?</template>", "", html, flags=re.S)  # templates are not submitted
    for tag in re.findall(r"<(?:input|textarea|select)[^>]*>", live_html):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if tag.startswith("<input") and 'type="checkbox"' in tag and " checked" not in tag:
            continue
        if tag.startswith("<input"):
            pairs.append((name.group(1), value.group(1) if value else ""))
    # Selects and textareas: take the selected option / text from the source data for brevity.
    pairs += [("decision", "approve"), ("remarks", VALID_DATA["remarks"])]
    pairs += [("members.0.relation", "self"), ("members.1.relation", "child")]
    assert validate_form(DIBAO_SCHEMA, coerce_form(DIBAO_SCHEMA, FakeMultiDict(pairs))) == VALID_DATA


# --------------------------------------------------------------------------------------------------------------------
# web: error_message_zh
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "code", "expected"),
    [
        ("applicant_name", "required", "请填写「申请人姓名」"),
        ("household_size", "type", "「家庭人口」必须是整数"),
        ("monthly_income", "type", "「月收入」必须是数字"),
        ("monthly_income", "minimum", "「月收入」不能小于 0"),
        ("household_size", "minimum", "「家庭人口」不能小于 1"),
        ("decision", "enum", "「审核意见」的取值无效"),
        ("decision", "type", "「审核意见」的取值无效"),
        ("accept_date", "format", "「受理日期」不是有效日期(格式 YYYY-MM-DD)"),
        ("applicant_name", "minLength", "「申请人姓名」至少需要 2 个字符"),
        ("applicant_name", "maxLength", "「申请人姓名」不能超过 20 个字符"),
        ("investigators", "minItems", "「入户调查人员」至少需要 2 项"),
        ("members", "minItems", "「家庭成员」至少需要 1 项"),
        ("members.1.name", "required", "请填写「家庭成员」第 2 行的「姓名」"),
        ("members.0.relation", "enum", "「家庭成员」第 1 行的「与申请人关系」的取值无效"),
        ("investigators.1", "type", "「入户调查人员」第 2 项必须是文本"),
        ("standard", "undeclared", "表单中包含未声明的字段 standard"),
        ("members.0.is_disabled", "undeclared", "表单中包含未声明的字段 members.0.is_disabled"),
        ("applicant_name", "oneOf", "「申请人姓名」的填写内容不符合要求"),
        ("", "type", "表单内容不符合要求，请检查后重新提交"),
    ],
)
def test_error_message_zh(field: str, code: str, expected: str) -> None:
    assert error_message_zh(FieldError(field, code, "english"), DIBAO_SCHEMA) == expected


def test_error_message_zh_other_limits() -> None:
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "number", "title": "评分", "maximum": 100, "exclusiveMinimum": 0.5},
            "code": {"type": "string", "pattern": "^[0-9]{18}$"},
            "tags": {"type": "array", "title": "标签", "maxItems": 3, "uniqueItems": True},
        },
    }
    assert error_message_zh(FieldError("score", "maximum", ""), schema) == "「评分」不能大于 100"
    assert error_message_zh(FieldError("score", "exclusiveMinimum", ""), schema) == "「评分」必须大于 0.5"
    assert error_message_zh(FieldError("code", "pattern", ""), schema) == "「code」的格式不正确"
    assert error_message_zh(FieldError("tags", "maxItems", ""), schema) == "「标签」最多只能有 3 项"
    assert error_message_zh(FieldError("tags", "uniqueItems", ""), schema) == "「标签」中有重复的项"


def test_every_engine_error_gets_a_specific_chinese_message() -> None:
    data = {
        "applicant_name": "王",
        "household_size": "abc",
        "monthly_income": -1,
        "accept_date": "2024-13-01",
        "decision": "maybe",
        "members": [],
        "investigators": ["张敏"],
        "standard": 1,
    }
    messages = [error_message_zh(error, DIBAO_SCHEMA) for error in errors_of(data)]
    assert messages == [
        "「受理日期」不是有效日期(格式 YYYY-MM-DD)",
        "「申请人姓名」至少需要 2 个字符",
        "「审核意见」的取值无效",
        "「家庭人口」必须是整数",
        "「入户调查人员」至少需要 2 项",
        "「家庭成员」至少需要 1 项",
        "「月收入」不能小于 0",
        "表单中包含未声明的字段 standard",
    ]
