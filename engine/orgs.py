"""The org tree as paths: "/511400/511402/511402001/" lists a unit's ancestors, city first, itself last."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient

from engine.models import OrgUnit


def path_codes(org_path: str) -> list[str]:
    return [code for code in org_path.strip("/").split("/") if code]


async def ancestors_by_level(org_path: str, levels: Iterable[str],
                             conn: BaseDBAsyncClient | None = None) -> dict[str, str]:
    """level → code of the nearest unit at that level on the path (the unit itself included); one query."""
    codes = path_codes(org_path)
    if not codes:
        return {}
    query = OrgUnit.filter(code__in=codes, level__in=sorted(set(levels)))
    rows = await (query.using_db(conn) if conn is not None else query).values_list("code", "level")
    found: dict[str, str] = {}
    for code, level in sorted(rows, key=lambda r: codes.index(str(r[0]))):  # deeper units overwrite
        found[str(level)] = str(code)
    return found
