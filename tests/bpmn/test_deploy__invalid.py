"""Invalid deployments are refused with a message naming the file and the element or line; nothing is stored.

Fixtures: tests/fixtures/bpmn/invalid/ (one diagram per defect, a DMN file, forms/). `control_valid.bpmn`
uses the same building blocks correctly and must deploy, so a refusal below is about the defect only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.errors import DeploymentError
from engine.models import ProcessDefinition
from engine.runtime import Engine
from engine.specs import read_directory, validate_bundle
from tests.support import FIXTURES

INVALID_DIR = FIXTURES / "bpmn" / "invalid"
BPMN, DMN, FORMS = read_directory(INVALID_DIR)


@dataclass(frozen=True)
class Case:
    filename: str
    element: str | None
    line: int | None
    message: str  # the whole message must start with this
    detail: str = ""  # ... and contain this


CASES = [
    Case("not_well_formed.bpmn", None, 9,
         "file not_well_formed.bpmn, line 9: not well-formed XML: Opening and ending tag mismatch: endEvent line 8 "
         "and process"),
    Case("not_bpmn.bpmn", None, None,
         "file not_bpmn.bpmn: not a BPMN 2.0 document (root must be bpmn:definitions)"),
    Case("xsd_violation.bpmn", None, 9,
         "file xsd_violation.bpmn, line 9: does not match the BPMN 2.0 schema: "
         "Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask': This element is not expected.",
         "conditionExpression"),
    Case("unknown_decision.bpmn", "businessRuleTask Task_decide", None,
         "file unknown_decision.bpmn, element businessRuleTask Task_decide: "
         "calls unknown DMN decision 'no_such_decision'"),
    Case("bad_condition.bpmn", "sequenceFlow Flow_yes", None,
         "file bad_condition.bpmn, element sequenceFlow Flow_yes: unparsable expression 'approved =='"),
    Case("forbidden_script.bpmn", "scriptTask Task_evil", None,
         "file forbidden_script.bpmn, element scriptTask Task_evil: expression ",
         "is not allowed: name '__import__' is not allowed (names starting with '_') (line 2)"),
    Case("missing_form.bpmn", "userTask Task_fill", None,
         "file missing_form.bpmn, element userTask Task_fill: form 'no_such_form.json' not found"),
    Case("invalid_form_schema.bpmn", "userTask Task_fill", None,
         "file invalid_form_schema.bpmn, element userTask Task_fill: form 'bad_schema.json' is not a valid JSON "
         "Schema: invalid form schema at properties/amount/type:"),
    Case("invalid_form_json.bpmn", "userTask Task_fill", None,
         "file invalid_form_json.bpmn, element userTask Task_fill: form 'not_json.json' is not a valid JSON Schema: ",
         "Expecting property name enclosed in double quotes: line 1"),
    Case("reserved_id.bpmn", "startEvent Start", None,
         "file reserved_id.bpmn, element startEvent Start: id 'Start' is reserved by the workflow engine"),
    Case("not_executable.bpmn", None, None,
         'file not_executable.bpmn: contains no executable process (isExecutable="true")'),
]


def test_every_invalid_fixture_has_a_case() -> None:
    assert sorted(c.filename for c in CASES) == sorted(set(BPMN) - {"control_valid.bpmn"})


@pytest.mark.parametrize("case", CASES, ids=[c.filename.removesuffix(".bpmn") for c in CASES])
def test_invalid_bundle_is_refused_naming_file_and_element_or_line(case: Case) -> None:
    with pytest.raises(DeploymentError) as caught:
        validate_bundle(case.filename, BPMN[case.filename], DMN, FORMS)
    err = caught.value
    assert (err.filename, err.element, err.line) == (case.filename, case.element, case.line)
    assert str(err).startswith(case.message), str(err)
    assert case.detail in str(err)


async def test_refused_deployments_store_nothing_and_the_control_deploys(engine: Engine) -> None:
    stored = [(d.key, d.version) for d in await ProcessDefinition.all()]
    assert stored == [("showcase", 1)]
    for case in CASES:
        with pytest.raises(DeploymentError):
            await engine.specs.deploy(validate_bundle(case.filename, BPMN[case.filename], DMN, FORMS),
                                      clock=engine.clock)
        assert [(d.key, d.version) for d in await ProcessDefinition.all()] == stored, case.filename

    [(row, created)] = await engine.specs.deploy(validate_bundle("control_valid.bpmn", BPMN["control_valid.bpmn"],
                                                                 DMN, FORMS), clock=engine.clock)
    assert (created, row.key, row.version) == (True, "control_valid", 1)
    # Only what the diagram references is part of the definition.
    assert (sorted(row.dmn_sources), sorted(row.forms)) == (["some_decision.dmn"], ["good.json"])
    assert await ProcessDefinition.all().count() == 2
