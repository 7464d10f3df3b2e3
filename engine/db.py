"""Database configuration, migrations and connection lifecycle (Tortoise ORM 1.x)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as _migrate

# Each package that owns tables adds (label, models module, migrations module) here via `apps=`.
ENGINE_APP: tuple[str, str, str] = ("engine", "engine.models", "engine.migrations")


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    return url


def _connection(url: str) -> str | dict[str, Any]:
    """PostgreSQL as a URL; SQLite expanded to Tortoise's dict form with our backend (one-hop BEGIN)."""
    url = normalize_url(url)
    if not url.startswith("sqlite://"):
        return url
    info = expand_db_url(url)
    info["engine"] = "engine.sqlite_backend"
    return info


def tortoise_config(
    url: str, apps: Sequence[tuple[str, str, str]] = (ENGINE_APP,), connection: str = "default"
) -> dict[str, Any]:
    """Build a Tortoise config; `connection` lets tests give PostgreSQL its own name (SQL is cached per name)."""
    return {
        "connections": {connection: _connection(url)},
        "apps": {
            label: {"models": [models], "migrations": migrations, "default_connection": connection}
            for label, models, migrations in apps
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For the `tortoise` command line (makemigrations); the app runs with its own config.
TORTOISE_ORM = tortoise_config(os.environ.get("CIVICFLOW_DATABASE_URL", "sqlite://data/civicflow.db"))


async def migrate_database(config: dict[str, Any]) -> None:
    """Apply the committed migrations (both SQLite and PostgreSQL run the same files)."""
    async with TortoiseContext():
        await _migrate(config=config)
        await Tortoise.close_connections()


async def init_database(config: dict[str, Any], *, global_fallback: bool = False) -> None:
    await Tortoise.init(config=config, _enable_global_fallback=global_fallback)


async def close_database() -> None:
    await Tortoise.close_connections()


def is_postgres(config: dict[str, Any]) -> bool:
    return any(isinstance(url, str) and url.startswith("postgres") for url in config["connections"].values())


class CachedUpdate:
    """A hot-path UPDATE whose SQL text is written once per dialect instead of built by Tortoise's query builder on
    every call (that costs 0.2-0.7 ms of CPU per statement, more than SQLite takes to run it). Values are converted
    exactly as Tortoise's `filter(...).update(...)` converts them: each field's `to_db_value`.

    `where` is SQL with `{name}` for each parameter, `name` being a field of the model, e.g.
    `"id"={id} AND "version"={version}`. Returns the number of rows changed, like `QuerySet.update`."""

    def __init__(self, model: type[Any], fields: Sequence[str], where: str, params: Sequence[str]) -> None:
        self.model, self.fields, self.where, self.params = model, tuple(fields), where, tuple(params)
        self._sql: dict[str, str] = {}

    def sql(self, dialect: str) -> str:
        text = self._sql.get(dialect)
        if text is None:
            meta = self.model._meta
            marks = iter(f"${n}" if dialect == "postgres" else "?" for n in range(1, 1 + len(self.fields)
                                                                                 + len(self.params)))
            sets = ",".join(f'"{meta.fields_db_projection[f]}"={next(marks)}' for f in self.fields)
            where = self.where.format(**{p: next(marks) for p in self.params})
            text = self._sql[dialect] = f'UPDATE "{meta.db_table}" SET {sets} WHERE {where}'
        return text

    def values(self, values: dict[str, Any], params: dict[str, Any]) -> list[Any]:
        fields = self.model._meta.fields_map
        return ([fields[f].to_db_value(values[f], None) for f in self.fields]
                + [fields[p].to_db_value(params[p], None) for p in self.params])

    async def run(self, conn: Any, values: dict[str, Any], **params: Any) -> int:
        count, _ = await conn.execute_query(self.sql(conn.capabilities.dialect), self.values(values, params))
        return int(count)
