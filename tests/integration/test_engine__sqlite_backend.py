"""The SQLite backend (engine/sqlite_backend.py) opens a transaction with BEGIN alone; the transactions keep
Tortoise's behaviour: atomic, rolled back on error, and still working if a transaction was left open."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from engine.models import CalendarDay
from engine.sqlite_backend import SqliteClient
from tests.conftest import Database


class _Boom(Exception):
    pass


def _sqlite_only(db: Database) -> None:
    if db.kind != "sqlite":
        pytest.skip("the SQLite backend only")


async def test_the_app_config_uses_the_backend_and_commits(db: Database) -> None:
    _sqlite_only(db)
    assert type(connections.get("default")) is SqliteClient
    async with in_transaction() as conn:
        await CalendarDay.create(day="2026-10-01", is_working=False, note="国庆节", using_db=conn)
    assert [d.note for d in await CalendarDay.all()] == ["国庆节"]


async def test_an_error_rolls_everything_back(db: Database) -> None:
    _sqlite_only(db)
    with pytest.raises(_Boom):
        async with in_transaction() as conn:
            await CalendarDay.create(day="2026-10-01", is_working=False, note="国庆节", using_db=conn)
            raise _Boom
    assert await CalendarDay.all().count() == 0


async def test_a_transaction_left_open_is_committed_first_as_tortoise_does(db: Database) -> None:
    _sqlite_only(db)
    client = connections.get("default")
    await client.execute_query("SELECT 1")  # connects
    raw = client._connection  # type: ignore[attr-defined]
    await raw.execute("BEGIN")
    await raw.execute("INSERT INTO calendar_day (day, is_working, note) VALUES ('2026-10-02', 0, 'left open')")
    async with in_transaction() as conn:  # BEGIN alone fails here: commit, then BEGIN
        await CalendarDay.create(day="2026-10-03", is_working=False, note="国庆节", using_db=conn)
    assert not raw._conn.in_transaction
    assert sorted(d.note for d in await CalendarDay.all()) == ["left open", "国庆节"]
