"""Path convertors: `{name:int}` in a page route matches only ids a database row can have.

Starlette's own `int` convertor matches any run of digits; an id above the 32-bit integer range then reached the
query and failed in the driver (SQLite: OverflowError, PostgreSQL: DataError) as an HTTP 500. Ids are 32-bit
serial columns, so a path whose number lies outside 0..2**31-1 names no row: the route does not match and the
request gets the ordinary 404. Registered from `web/__init__.py`, before any route is compiled.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

from engine.models import MAX_DB_INT


def _up_to(limit: str) -> str:
    """A regex matching the decimal numbers 0..int(limit) without leading zeros (limit has no leading zero)."""
    parts = [f"[1-9][0-9]{{0,{len(limit) - 2}}}" if len(limit) > 2 else "[1-9]" if len(limit) == 2 else "", "0"]
    for i, digit in enumerate(limit):
        rest = len(limit) - i - 1
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            parts.append(f"{limit[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    parts.append(limit)
    return "|".join(p for p in parts if p)


class DbIntConvertor(IntegerConvertor):
    regex = f"(?:{_up_to(str(MAX_DB_INT))})"


def install() -> None:
    register_url_convertor("int", DbIntConvertor())
