"""Tortoise's SQLite backend with a one-round-trip BEGIN.

Tortoise 1.x opens every SQLite transaction with `commit()` then `BEGIN`: two hops through aiosqlite's thread,
the first a no-op (the connection runs in autocommit mode, isolation_level=None, so no transaction is ever open
between Tortoise's transactions). Here BEGIN is sent alone; if SQLite reports a transaction still open, the old
commit-then-BEGIN is done, so the behaviour is Tortoise's in every case. Selected by `engine.db.tortoise_config`
for sqlite:// URLs through Tortoise's documented `engine` connection key.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import SqliteClient as _SqliteClient
from tortoise.backends.sqlite.client import SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class _TransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.execute("BEGIN")
        except sqlite3.OperationalError as exc:
            if "within a transaction" not in str(exc):
                raise TransactionManagementError(exc) from exc
            await super().begin()  # a transaction left open: commit it and begin, as Tortoise always does


class SqliteClient(_SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_TransactionWrapper(self), self._lock)


client_class = SqliteClient
