"""Shared fixtures: a real database per test, SQLite and PostgreSQL.

`db` is parametrized: every test that uses it runs against a fresh SQLite file (schema from the
committed migrations) and against PostgreSQL (one database per session, migrated once, tables
truncated before each test). PostgreSQL comes from CIVICFLOW_TEST_PG_URL (default: the local
server); if it is unreachable the PG variants are skipped, unless CIVICFLOW_REQUIRE_PG=1 (CI),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from engine.clock import FakeClock
from engine.db import close_database, init_database, migrate_database
from engine.models import OrgUnit
from engine.runtime import Engine
from engine.specs import read_directory, validate_bundle
from web.composition import db_config as tortoise_config

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
        # DELETE with FK triggers off is much faster than TRUNCATE on small tables.
        statements = "".join(f'DELETE FROM "{t["tablename"]}";' for t in tables)
        if statements:
            await conn.execute(f"SET session_replication_role = replica;{statements}"
                               "SET session_replication_role = DEFAULT;")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated once with the real migrations; each test gets a copy (fresh, and fast)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    await migrate_database(tortoise_config(f"sqlite://{path}"))
    return path


@pytest.fixture(params=["sqlite", "pg"])
async def db(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None,
             sqlite_template: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "test.db")
        url = f"sqlite://{tmp_path / 'test.db'}"
        config = tortoise_config(url)
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



# -- web -------------------------------------------------------------------------------------------

TEST_PASSWORD = "correct-horse-9"
WEB_USERS = [
    ("admin", "管理员", "511400", ["admin"]),
    ("city_mgr", "市级管理", "511400", ["city_manager"]),
    ("dp_county", "东坡区审核", "511402", ["county_reviewer"]),
    ("rs_county", "仁寿县审核", "511421", ["county_reviewer"]),
    ("th_clerk", "通惠经办", "511402001", ["township_clerk"]),
    ("th_reviewer", "通惠审核", "511402001", ["township_reviewer"]),
    ("dsq_clerk", "大石桥经办", "511402002", ["township_clerk"]),
    ("wl_clerk", "文林经办", "511421001", ["township_clerk"]),
]


@pytest.fixture(scope="session")
def password_hash() -> str:
    from web.security import hash_password

    return hash_password(TEST_PASSWORD)  # hashed once: argon2 is deliberately slow


async def seed_web_users(password_hash: str) -> None:
    from engine.models import User

    for username, name, org, roles in WEB_USERS:
        await User.create(username=username, display_name=name, org_unit_id=org, roles=roles,
                          password_hash=password_hash)


@pytest.fixture
async def web_app(engine: Engine, db: Database, password_hash: str, tmp_path: Path) -> Any:
    """The real app on the test database (no lifespan: the `db` fixture owns the connection)."""
    from engine.config import Settings
    from web.app import create_app

    await seed_web_users(password_hash)
    settings = Settings(data_dir=tmp_path, database_url=db.url, bpmn_dir=FIXTURES / "bpmn" / "showcase",
                        secret_key_value="test-secret-key")
    return create_app(settings, engine=engine, db_config=db.config, scheduler_interval=None, manage_db=False)


@pytest.fixture
async def client(web_app: Any) -> AsyncIterator[Any]:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://testserver") as c:
        yield c


async def api_token(client: Any, username: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"username": username, "password": TEST_PASSWORD})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def csrf_from(html: str) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)


async def browser_login(client: Any, username: str) -> str:
    """Log in through the HTML form; returns the session's CSRF token."""
    page = await client.get("/login")
    token = csrf_from(page.text)
    r = await client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    inbox = await client.get("/inbox")
    return csrf_from(inbox.text)
