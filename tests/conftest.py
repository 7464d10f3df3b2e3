"""Shared fixtures: a real database per test, SQLite and PostgreSQL.

`db` is parametrized: every test that uses it runs against a fresh SQLite file (schema from the
committed migrations) and against PostgreSQL (one database per session, migrated once, tables
truncated before each test). PostgreSQL comes from CIVICFLOW_TEST_PG_URL (default: the local
server); if it is unreachable the PG variants are skipped, unless CIVICFLOW_REQUIRE_PG=1 (CI),
where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from engine.clock import FakeClock
from engine.db import close_database, init_database, migrate_database, tortoise_config
from engine.models import OrgUnit
from engine.runtime import Engine
from engine.specs import read_directory, validate_bundle

FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN_URL = os.environ.get("CIVICFLOW_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


@dataclass
class Database:
    kind: str  # "sqlite" | "pg"
    config: dict[str, Any]
    url: str


async def _pg_admin() -> asyncpg.Connection | None:
    try:
        return await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str | None]:
    admin = await _pg_admin()
    if admin is None:
        if os.environ.get("CIVICFLOW_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_ADMIN_URL}")
        yield None
        return
    name = f"civicflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    await migrate_database(tortoise_config(url, connection="pg"))
    yield url
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def _truncate_pg(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename NOT LIKE 'tortoise%'")
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        if names:
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "pg"])
async def db(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'test.db'}"
        config = tortoise_config(url)
        await migrate_database(config)
    else:
        if pg_url is None:
            pytest.skip("PostgreSQL unreachable")
        url = pg_url
        await _truncate_pg(url)
        config = tortoise_config(url, connection="pg")
    await init_database(config)
    try:
        yield Database(request.param, config, url)
    finally:
        await close_database()


async def seed_orgs() -> None:
    """A tiny org tree: city → two counties → townships."""
    rows = [
        ("511400", "眉山市", "city", None),
        ("511402", "东坡区", "county", "511400"),
        ("511421", "仁寿县", "county", "511400"),
        ("511402001", "通惠街道", "township", "511402"),
        ("511402002", "大石桥街道", "township", "511402"),
        ("511421001", "文林街道", "township", "511421"),
    ]
    paths: dict[str, str] = {}
    for code, name, level, parent in rows:
        paths[code] = (paths[parent] if parent else "/") + code + "/"
        await OrgUnit.create(code=code, name=name, level=level, parent_id=parent, path=paths[code])


async def deploy_dir(engine: Engine, directory: Path, filename: str) -> None:
    bpmn, dmn, forms = read_directory(directory)
    await engine.specs.deploy(validate_bundle(filename, bpmn[filename], dmn, forms), clock=engine.clock)


@pytest.fixture
async def engine(db: Database) -> Engine:
    """An engine on a fake clock with the org tree and the showcase diagram deployed."""
    await seed_orgs()
    eng = Engine(clock=FakeClock())
    await deploy_dir(eng, FIXTURES / "bpmn" / "showcase", "showcase.bpmn")
    return eng

