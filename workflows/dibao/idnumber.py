"""公民身份号码 (GB 11643-1999): 18 characters, the last an ISO 7064 MOD 11-2 check character; and masking.

Importing this module registers the JSON Schema format ``gb11643`` on jsonschema's draft 2020-12 format checker
(the one engine/forms.py validates with), so a form field ``{"format": "gb11643"}`` rejects a wrong check digit.
The forms also carry the pattern, so length and characters are checked even where the format is not registered.
"""

from __future__ import annotations

import re
from datetime import date

from jsonschema import Draft202012Validator

PATTERN = re.compile(r"^[1-9][0-9]{5}(18|19|20)[0-9]{2}[0-9]{2}[0-9]{2}[0-9]{3}[0-9X]$")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # index: weighted sum mod 11


def check_character(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: object) -> bool:
    """18 characters, a plausible birth date and the right check character (upper-case X only)."""
    if not isinstance(value, str) or not PATTERN.match(value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return check_character(value[:17]) == value[17]


def mask_id_number(value: str | None) -> str:
    """510102********1234: the first 6 (region) and last 4 characters; anything else shows only stars."""
    if not value:
        return ""
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


@Draft202012Validator.FORMAT_CHECKER.checks("gb11643")
def _gb11643(value: object) -> bool:
    return not isinstance(value, str) or is_valid_id_number(value)
