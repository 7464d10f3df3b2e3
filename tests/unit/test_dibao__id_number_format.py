"""The gb11643 form format: known to engine/forms.py whatever was imported first, and failing values get a
precise reason (English for the API, Chinese on the form) instead of a generic format error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.forms import FormValidationError, validate_form
from web.forms import error_message_zh

SCHEMA = {"type": "object", "properties": {"applicant_id_number": {
    "type": "string", "title": "申请人公民身份号码", "format": "gb11643"}}}
GOOD = "511402196503120024"


def test_registered_without_importing_any_procedure() -> None:
    code = ("import sys\nfrom engine.forms import validate_form, FormValidationError\n"
            "assert not any(m.startswith('workflows') for m in sys.modules)\n"
            f"schema = {SCHEMA!r}\n"
            f"validate_form(schema, {{'applicant_id_number': {GOOD!r}}})\n"
            "try:\n    validate_form(schema, {'applicant_id_number': '511402196503120025'})\n"
            "except FormValidationError as exc:\n    print(exc.errors[0].code)\n")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "format"


@pytest.mark.parametrize("value, english, chinese", [
    ("511402196503120025", "check character", "「申请人公民身份号码」校验位不正确"),
    ("511402196502300021", "birth date", "「申请人公民身份号码」中的出生日期不存在"),
    ("51140219650312002", "18 characters", "「申请人公民身份号码」应为 18 位"),
])
def test_each_failure_has_its_own_message(value: str, english: str, chinese: str) -> None:
    with pytest.raises(FormValidationError) as caught:
        validate_form(SCHEMA, {"applicant_id_number": value})
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("applicant_id_number", "format")
    assert english in error.message
    assert error_message_zh(error, SCHEMA).startswith(chinese)
    assert validate_form(SCHEMA, {"applicant_id_number": GOOD}) == {"applicant_id_number": GOOD}
