"""公民身份号码 (GB 11643-1999): 18 characters, the last an ISO 7064 MOD 11-2 check character; and masking.

Importing this module registers the JSON Schema format ``gb11643`` on jsonschema's draft 2020-12 format checker, the
one engine/forms.py validates with; engine/forms.py imports it, so the format is known wherever forms are validated,
whatever else was imported first. A failing value reports why (``problem``): the web layer turns the reason into a
precise Chinese message (校验位不正确 / 出生日期不存在) and the API carries it in the English message.
"""

from __future__ import annotations

import re
from datetime import date

from jsonschema import Draft202012Validator

PATTERN = re.compile(r"^[1-9][0-9]{5}(18|19|20)[0-9]{2}[0-9]{2}[0-9]{2}[0-9]{3}[0-9X]$")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # index: weighted sum mod 11
# The reasons a value fails (English, part of the API message; the web layer maps them to Chinese).
BAD_SHAPE = "not 18 characters of the GB 11643 form (17 digits, then a digit or X)"
BAD_BIRTH_DATE = "the birth date in characters 7-14 does not exist"
BAD_CHECK_CHARACTER = "the check character (the 18th) does not match the first 17"


def check_character(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def problem(value: object) -> str | None:
    """Why `value` is not a valid 公民身份号码 (one of the BAD_* reasons), or None when it is valid."""
    if not isinstance(value, str) or not PATTERN.match(value):
        return BAD_SHAPE
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return BAD_BIRTH_DATE
    return BAD_CHECK_CHARACTER if check_character(value[:17]) != value[17] else None


def is_valid_id_number(value: object) -> bool:
    """18 characters, a plausible birth date and the right check character (upper-case X only)."""
    return problem(value) is None


def mask_id_number(value: str | None) -> str:
    """510102********1234: the first 6 (region) and last 4 characters; anything else shows only stars."""
    if not value:
        return ""
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


@Draft202012Validator.FORMAT_CHECKER.checks("gb11643", raises=ValueError)
def _gb11643(value: object) -> bool:
    if not isinstance(value, str):
        return True  # "format" applies to strings only; the type keyword reports the rest
    reason = problem(value)
    if reason is not None:
        raise ValueError(reason)
    return True
