"""Property-based contract test of /api/v1 against its own OpenAPI document (schemathesis 4.x).

The app runs exactly as in production: `manage_db=True`, so schemathesis' ASGI client runs the lifespan, which
opens the database with Tortoise's global fallback. The database is a fresh migrated SQLite file, seeded (orgs,
users, the showcase deployment, one running instance) on its own event loop before the app starts. SQLite only:
this checks the HTTP contract, the per-database behaviour is covered by the other API tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tortoise.context import TortoiseContext

from engine.clock import FakeClock
from engine.config import Settings
from engine.db import close_database, init_database, migrate_database
from engine.models import User
from engine.runtime import Engine
from tests.conftest import FIXTURES, deploy_dir, seed_orgs, seed_web_users
from web import projects_openapi, social_org_openapi
from web.app import create_app
from web.composition import db_config
from web.openapi import OPENAPI
from web.security import issue_token

DELETE_TOKEN_POOL = 300  # DELETE /auth/token revokes the token it is called with: each call gets a fresh one


def run_on_own_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a worker thread: works whether or not the test session's loop is running here."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def seed_database(config: dict[str, Any], password_hash: str) -> dict[str, Any]:
    await migrate_database(config)
    async with TortoiseContext():
        await init_database(config)
        try:
            await seed_orgs()
            await seed_web_users(password_hash)
            engine = Engine(clock=FakeClock())
            await deploy_dir(engine, FIXTURES / "bpmn" / "showcase", "showcase.bpmn")
            instance = await engine.start("showcase", org_unit="511402001", actor="th_clerk", business_key="ST-1")
            admin = await User.get(username="admin")
            token, _ = await issue_token(admin)
            pool = [(await issue_token(admin))[0] for _ in range(DELETE_TOKEN_POOL)]
            return {"token": token, "pool": pool, "instance_id": str(instance.id)}
        finally:
            await close_database()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> dict[str, Any]:
    directory: Path = tmp_path_factory.mktemp("schemathesis")
    config = db_config(f"sqlite://{directory / 'api.db'}")
    seed = run_on_own_loop(seed_database(config, password_hash))
    TOKENS.update(seed)
    return {**seed, "config": config, "dir": directory}


@pytest.fixture(scope="module")
def app(seeded: dict[str, Any]) -> Iterator[Any]:
    settings_ = Settings(data_dir=seeded["dir"], database_url="unused", bpmn_dir=FIXTURES / "bpmn" / "showcase",
                         secret_key_value="schemathesis-secret")
    application = create_app(settings_, db_config=seeded["config"], scheduler_interval=None, manage_db=True)
    try:
        yield application
    finally:
        shutdown_lifespans()  # closes the database, which also releases the global fallback for other apps


# `schemathesis.pytest.from_fixture` (the lazy loader) fails under pytest 9.2 (it sets `request.node._nodeid`,
# which pytest no longer has). So the schema is loaded from the very document the app serves (asserted equal in
# `test_served_document_is_the_tested_one`) and each operation is pointed at the app fixture at run time.
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_served_document_is_the_tested_one(app: Any) -> None:
    served = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    assert served.raw_schema == OPENAPI
    assert len(list(served.get_all_operations())) == 53


TOKENS: dict[str, Any] = {}  # filled by the `seeded` fixture, read by the auth provider
LATER = "cf_resolved-at-run-time"  # coverage cases are built at collection, before the database exists


def fresh_token(case: Any) -> str:
    if case.method.upper() == "DELETE" and case.path == "/auth/token":
        return str(TOKENS["pool"].pop())  # DELETE /auth/token revokes what it is sent
    return str(TOKENS["token"])


@schema.auth(refresh_interval=None)
class SeededBearer:
    """A real bearer token (the admin's), applied the schemathesis way, so that negative cases that drop or break
    the Authorization header stay unauthenticated."""

    def get(self, case: Any, ctx: Any) -> str:
        return fresh_token(case) if TOKENS else LATER

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# Semantic refusals a schema cannot express: the referenced org unit does not exist (or is outside the caller's
# scope), the username is taken, or `data` holds fields the deployed process does not declare.
SEMANTIC_CODES = {"unknown", "undeclared", "order", "blank"}  # org units, undeclared data, date order, blank text
SEMANTIC_CODES |= projects_openapi.SEMANTIC_CODES  # project library: sums, banned uses, preconditions, indicators
SEMANTIC_CODES |= social_org_openapi.SEMANTIC_CODES  # social-org findings and checklists
SEMANTIC_USER_MESSAGES = {("org_unit", "所属单位不存在。"), ("username", "该用户名已存在。")}


def positive_data_acceptance_or_semantic_422(ctx: Any, response: Any, case: Any) -> None:
    """Schemathesis' `positive_data_acceptance`, but stricter about auth and precise about 422.

    A schema-valid request carries a valid token, so 401 only counts as acceptance for wrong credentials at
    POST /auth/token (and 429 for its throttle). A 422 passes only if every field error is one of the semantic
    refusals above; any other 422 (a type or length rule the schema does not state) fails."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    accepted = {200, 201, 204, 403, 404, 409} | ({401, 429} if case.path == "/auth/token" else set())
    if response.status_code in accepted:
        return
    if response.status_code == 400 and "\\u0000" in json.dumps([case.body, case.query], default=str):
        # the documented storage limit (PostgreSQL): a free-form `data` object cannot be constrained by the schema
        assert "NUL" in response.json()["error"]["message"], response.text
        return
    problem = f"Schema-valid request to {case.method} {case.path} rejected with {response.status_code}"
    assert response.status_code == 422, f"{problem}: {response.text[:300]}"
    fields = response.json()["error"].get("fields") or []
    assert fields, f"{problem} without field errors"
    for f in fields:
        semantic = f["code"] in SEMANTIC_CODES or (case.path == "/users" and (f["field"], f["message"])
                                                   in SEMANTIC_USER_MESSAGES)
        assert semantic, f"{problem}: {f}"


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_openapi(case: Any, app: Any, seeded: dict[str, Any]) -> None:
    # the requests, and the follow-up probes of checks such as `ignored_auth`, go to the app fixture
    case.operation.app = case.operation.schema.app = app
    if (case.headers or {}).get("Authorization") == f"Bearer {LATER}":
        case.headers["Authorization"] = f"Bearer {fresh_token(case)}"
    case.call_and_validate(excluded_checks=[positive_data_acceptance],
                           additional_checks=[positive_data_acceptance_or_semantic_422])


def test_the_run_was_authenticated_and_delete_really_revoked(app: Any, seeded: dict[str, Any]) -> None:
    """Guards the run above: the main token still works, and DELETE /auth/token was exercised."""
    assert len(seeded["pool"]) < DELETE_TOKEN_POOL
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    response = schema["/tasks"]["GET"].Case(query={"page_size": 5}).call(headers=headers, app=app)
    assert response.status_code == 200, response.text
    assert response.json()["total"] >= 1
    case = schema["/instances/{instance_id}"]["GET"].Case(path_parameters={"instance_id": seeded["instance_id"]})
    response = case.call(headers=headers, app=app)
    assert response.status_code == 200 and response.json()["business_key"] == "ST-1"
    revoked = schema["/processes"]["GET"].Case().call(headers={"Authorization": "Bearer cf_nope"}, app=app)
    assert revoked.status_code == 401
