"""The JSON API under /api/v1, endpoint by endpoint, each with its error statuses.

Every response is checked for status, body shape and (for writes that must not happen) the persisted state.
Runs on SQLite and PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from engine.models import ApiToken, HumanTask, ProcessInstance, User
from tests.conftest import TEST_PASSWORD, WEB_USERS, api_token
from web.security import issue_token

API = "/api/v1"
ACCEPT_OK = {"applicant_name": "张三", "members": [{"name": "张三", "monthly_income": 120},
                                                  {"name": "李四", "monthly_income": 80}], "delegated": False}


def assert_error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a JSON error `{"error": {"code", "message", "fields"?}}` with this status."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers.get("content-type")
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err, dict) and set(err) <= {"code", "message", "fields"}, err
    assert isinstance(err["code"], str) and err["code"], err
    assert isinstance(err["message"], str) and err["message"], err
    if "fields" in err:
        assert isinstance(err["fields"], list)
        for f in err["fields"]:
            assert set(f) == {"field", "code", "message"} and all(isinstance(v, str) for v in f.values()), f
    if code is not None:
        assert err["code"] == code, err
    return err


async def start(client: Any, headers: dict[str, str], business_key: str = "B-1", **extra: Any) -> dict[str, Any]:
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": business_key, **extra},
                          headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def auth(username: str) -> dict[str, str]:
    """A bearer token issued directly (POST /auth/token is tested on its own; argon2 is slow on purpose)."""
    token, _ = await issue_token(await User.get(username=username))
    return {"Authorization": f"Bearer {token}"}


async def task_row(task_id: str) -> HumanTask:
    return await HumanTask.get(id=task_id)


async def instance_version(instance_id: str) -> int:
    return (await ProcessInstance.get(id=instance_id)).version


# -- POST/DELETE /auth/token -------------------------------------------------------------------------------------


async def test_token_issued_for_correct_password_and_stored_hashed(client: Any) -> None:
    r = await client.post(f"{API}/auth/token", json={"username": "th_clerk", "password": TEST_PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["token"].startswith("cf_")
    rows = await ApiToken.filter(user__username="th_clerk")
    assert len(rows) == 1 and rows[0].revoked_at is None
    assert body["token"] not in rows[0].token_hash  # only a digest is stored
    r = await client.get(f"{API}/processes", headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 200


async def test_token_wrong_password_is_401_and_issues_nothing(client: Any) -> None:
    r = await client.post(f"{API}/auth/token", json={"username": "th_clerk", "password": "wrong-password"})
    assert_error(r, 401, "invalid_credentials")
    r = await client.post(f"{API}/auth/token", json={"username": "nobody", "password": TEST_PASSWORD})
    assert_error(r, 401, "invalid_credentials")
    assert await ApiToken.all().count() == 0


@pytest.mark.parametrize("body, missing", [
    ({}, ["username", "password"]),
    ({"username": "th_clerk"}, ["password"]),
    ({"password": TEST_PASSWORD}, ["username"]),
    ({"username": 5, "password": TEST_PASSWORD}, ["username"]),
])
async def test_token_missing_fields_is_422(client: Any, body: dict[str, Any], missing: list[str]) -> None:
    err = assert_error(await client.post(f"{API}/auth/token", json=body), 422, "validation_failed")
    assert sorted(f["field"] for f in err["fields"]) == sorted(missing)
    assert await ApiToken.all().count() == 0


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"'])
async def test_token_invalid_json_or_non_object_is_400(client: Any, content: bytes) -> None:
    r = await client.post(f"{API}/auth/token", content=content, headers={"content-type": "application/json"})
    assert_error(r, 400)
    assert await ApiToken.all().count() == 0


async def test_token_throttled_after_five_failures_even_with_correct_password(client: Any) -> None:
    for _ in range(5):
        r = await client.post(f"{API}/auth/token", json={"username": "th_clerk", "password": "bad-password"})
        assert_error(r, 401, "invalid_credentials")
    r = await client.post(f"{API}/auth/token", json={"username": "th_clerk", "password": "bad-password"})
    assert_error(r, 429, "too_many_attempts")
    r = await client.post(f"{API}/auth/token", json={"username": "th_clerk", "password": TEST_PASSWORD})
    assert_error(r, 429, "too_many_attempts")
    assert await ApiToken.all().count() == 0


async def test_delete_token_revokes_it(client: Any) -> None:
    headers = await api_token(client, "th_clerk")
    other = await api_token(client, "th_clerk")
    r = await client.delete(f"{API}/auth/token", headers=headers)
    assert r.status_code == 204 and r.content == b""
    assert_error(await client.get(f"{API}/processes", headers=headers), 401, "unauthenticated")
    assert_error(await client.delete(f"{API}/auth/token", headers=headers), 401, "unauthenticated")
    rows = await ApiToken.filter(user__username="th_clerk").order_by("id")
    assert [row.revoked_at is not None for row in rows] == [True, False]
    assert (await client.get(f"{API}/processes", headers=other)).status_code == 200  # only that token


# -- 401 on every protected endpoint, 405 as JSON ------------------------------------------------------------------

PROTECTED = [
    ("DELETE", "/auth/token"),
    ("GET", "/processes"),
    ("GET", "/processes/showcase"),
    ("POST", "/instances"),
    ("GET", f"/instances/{uuid.uuid4()}"),
    ("GET", "/tasks"),
    ("GET", f"/tasks/{uuid.uuid4()}"),
    ("POST", f"/tasks/{uuid.uuid4()}/claim"),
    ("POST", f"/tasks/{uuid.uuid4()}/unclaim"),
    ("POST", f"/tasks/{uuid.uuid4()}/complete"),
    ("POST", "/users"),
    ("GET", "/org-units"),
]


BAD_AUTH = [None, "Bearer cf_garbage-token", "Bearer ", "Basic dGhfY2xlcms6eA==", "cf_x", "Bearer cf_x extra"]


@pytest.mark.parametrize("method, path", PROTECTED, ids=[f"{m} {p.split('/')[1]}{p.count('/')}" for m, p in PROTECTED])
async def test_protected_endpoints_need_a_valid_token(client: Any, method: str, path: str) -> None:
    body = {"process_key": "showcase", "username": "x_new", "display_name": "x", "password": "p" * 10,
            "org_unit": "511400", "roles": ["admin"], "data": {}}
    for bad in BAD_AUTH:
        headers = {"Authorization": bad} if bad is not None else {}
        r = await client.request(method, f"{API}{path}", json=body, headers=headers)
        assert_error(r, 401, "unauthenticated")
        assert r.headers.get("www-authenticate") == "Bearer"
    assert await ProcessInstance.all().count() == 0
    assert not await User.exists(username="x_new")
    # a revoked token is refused the same way
    headers = await auth("admin")
    await client.delete(f"{API}/auth/token", headers=headers)
    assert_error(await client.request(method, f"{API}{path}", json=body, headers=headers), 401, "unauthenticated")
    assert await ProcessInstance.all().count() == 0


@pytest.mark.parametrize("method, path, allow", [
    ("PUT", "/processes", "GET, HEAD"), ("GET", "/auth/token", "DELETE, POST"), ("DELETE", "/instances", "POST"),
    ("GET", f"/tasks/{uuid.uuid4()}/claim", "POST"), ("PATCH", "/users", "POST"), ("TRACE", "/org-units", "GET, HEAD"),
    ("POST", "/openapi.json", "GET, HEAD"),
])
async def test_wrong_method_is_405_json_with_allow(client: Any, method: str, path: str, allow: str) -> None:
    headers = await auth("admin")
    before = await ProcessInstance.all().count()
    for h in (headers, {}):  # the method is wrong whether or not the caller is authenticated
        r = await client.request(method, f"{API}{path}", headers=h, json={"process_key": "showcase"})
        assert_error(r, 405, "method_not_allowed")
        assert "<html" not in r.text
        assert r.headers["allow"] == allow
    assert await ProcessInstance.all().count() == before


async def test_unknown_api_path_is_404_json(client: Any) -> None:
    headers = await auth("admin")
    assert_error(await client.get(f"{API}/no-such-thing", headers=headers), 404)


# -- processes ------------------------------------------------------------------------------------------------------


async def test_list_processes(client: Any) -> None:
    headers = await auth("wl_clerk")
    r = await client.get(f"{API}/processes", headers=headers)
    assert r.status_code == 200
    assert r.json() == {"items": [{"key": "showcase", "name": "引擎演示流程", "latest_version": 1}]}


async def test_get_process_with_versions_and_start_form(client: Any) -> None:
    headers = await auth("th_clerk")
    r = await client.get(f"{API}/processes/showcase", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["key"] == "showcase" and body["name"] == "引擎演示流程" and body["latest_version"] == 1
    assert [v["version"] for v in body["versions"]] == [1]
    assert len(body["versions"][0]["content_hash"]) >= 32 and body["versions"][0]["deployed_at"]
    assert "start_form" in body and body["start_form"] is None  # showcase starts without a form


async def test_get_unknown_process_is_404(client: Any) -> None:
    headers = await auth("th_clerk")
    err = assert_error(await client.get(f"{API}/processes/nope", headers=headers), 404, "not_found")
    assert "nope" in err["message"]


# -- POST /instances ------------------------------------------------------------------------------------------------


async def test_start_instance_returns_it_with_ready_tasks(client: Any) -> None:
    headers = await auth("th_clerk")
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": "B-9"},
                          headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["process_key"] == "showcase" and body["version"] == 1 and body["status"] == "running"
    assert body["org_unit"] == "511402001" and body["business_key"] == "B-9" and body["lock_version"] == 1
    [task] = body["ready_tasks"]
    assert (task["bpmn_id"], task["candidate_role"], task["org_unit"], task["state"], task["title"]) == (
        "Task_accept", "township_clerk", "511402001", "READY", "受理 · B-9")
    row = await ProcessInstance.get(id=body["id"])
    assert (row.org_unit, row.business_key, row.started_by) == ("511402001", "B-9", "th_clerk")
    assert [str(t.id) for t in await HumanTask.filter(instance_id=row.id)] == [task["id"]]


async def test_start_instance_in_a_sub_unit_of_own_scope(client: Any) -> None:
    headers = await auth("dp_county")
    body = await start(client, headers, org_unit="511402002")
    assert body["org_unit"] == "511402002" and body["ready_tasks"][0]["org_unit"] == "511402002"


async def test_start_instance_unknown_org_unit_is_422(client: Any) -> None:
    headers = await auth("admin")
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "org_unit": "999999"}, headers=headers)
    err = assert_error(r, 422, "validation_failed")
    assert [f["field"] for f in err["fields"]] == ["org_unit"]
    assert await ProcessInstance.all().count() == 0


async def test_start_instance_undeclared_data_field_is_422(client: Any) -> None:
    headers = await auth("th_clerk")
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "data": {"standard": 1, "foo": "x"}},
                          headers=headers)
    err = assert_error(r, 422, "validation_failed")
    assert sorted((f["field"], f["code"]) for f in err["fields"]) == [("foo", "undeclared"), ("standard", "undeclared")]
    assert await ProcessInstance.all().count() == 0 and await HumanTask.all().count() == 0


@pytest.mark.parametrize("username, org_unit", [("th_clerk", "511402002"), ("th_clerk", "511400"),
                                                ("dp_county", "511421001"), ("rs_county", "511402")])
async def test_start_instance_outside_scope_is_403(client: Any, username: str, org_unit: str) -> None:
    headers = await auth(username)
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "org_unit": org_unit},
                          headers=headers)
    assert_error(r, 403, "forbidden")
    assert await ProcessInstance.all().count() == 0


async def test_start_instance_unknown_process_is_404(client: Any) -> None:
    headers = await auth("th_clerk")
    assert_error(await client.post(f"{API}/instances", json={"process_key": "nope"}, headers=headers), 404,
                 "not_found")
    assert await ProcessInstance.all().count() == 0


START_BAD_BODIES = [
    (b"[]", 400, None),
    (b'"showcase"', 400, None),
    (b"{", 400, None),
    (b"", 400, None),
    (b"{}", 422, ["process_key"]),
    (b'{"process_key": "showcase", "data": [1]}', 422, ["data"]),
    (b'{"process_key": "showcase", "org_unit": 511402001}', 422, ["org_unit"]),
    (b'{"process_key": "showcase", "business_key": 7}', 422, ["business_key"]),
    (b'{"process_key": "showcase", "business_key": "' + b"x" * 101 + b'"}', 422, ["business_key"]),
]


async def test_start_instance_bad_body(client: Any) -> None:
    headers = {**await auth("th_clerk"), "content-type": "application/json"}
    for body, status, fields in START_BAD_BODIES:
        err = assert_error(await client.post(f"{API}/instances", content=body, headers=headers), status)
        if fields is not None:
            assert [f["field"] for f in err["fields"]] == fields, body
    assert await ProcessInstance.all().count() == 0


# -- GET /instances/{id} --------------------------------------------------------------------------------------------


async def test_get_instance(client: Any) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    r = await client.get(f"{API}/instances/{started['id']}", headers=headers)
    assert r.status_code == 200
    assert r.json() == started
    # read-only visibility up the tree
    r = await client.get(f"{API}/instances/{started['id']}", headers=await auth("city_mgr"))
    assert r.status_code == 200 and r.json()["id"] == started["id"]


async def test_get_unknown_instance_is_404(client: Any) -> None:
    headers = await auth("admin")
    await start(client, await auth("th_clerk"))
    for instance_id in (str(uuid.uuid4()), "not-a-uuid", "1", "%20", "00000000-0000-0000-0000-00000000000g"):
        assert_error(await client.get(f"{API}/instances/{instance_id}", headers=headers), 404, "not_found")


@pytest.mark.parametrize("username", ["dsq_clerk", "rs_county", "wl_clerk"])
async def test_get_instance_out_of_scope_is_403(client: Any, username: str) -> None:
    started = await start(client, await auth("th_clerk"))
    r = await client.get(f"{API}/instances/{started['id']}", headers=await auth(username))
    err = assert_error(r, 403, "forbidden")
    assert "B-1" not in err["message"] and "511402001" not in r.text


# -- GET /tasks -----------------------------------------------------------------------------------------------------


async def _accept(client: Any, headers: dict[str, str], instance: dict[str, Any]) -> dict[str, Any]:
    task_id = instance["ready_tasks"][0]["id"]
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": ACCEPT_OK}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_list_tasks_filters_and_paging(client: Any) -> None:
    clerk = await auth("th_clerk")
    dsq = await auth("dsq_clerk")
    first = await start(client, clerk, "B-1")
    await start(client, clerk, "B-2")
    await start(client, dsq, "B-3")
    after = await _accept(client, clerk, first)  # B-1: accept DONE, home visit + 2 member checks READY
    assert len(after["ready_tasks"]) == 3

    async def get(headers: dict[str, str], query: str = "") -> dict[str, Any]:
        r = await client.get(f"{API}/tasks{query}", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    all_clerk = await get(clerk)
    assert all_clerk["total"] == 5 and all_clerk["page"] == 1 and all_clerk["page_size"] == 50
    assert {t["org_unit"] for t in all_clerk["items"]} == {"511402001"}  # never dsq's task
    assert sorted(t["state"] for t in all_clerk["items"]) == ["DONE", "READY", "READY", "READY", "READY"]
    mine = await get(clerk, "?mine=true")
    assert mine["total"] == 4 and all(t["state"] == "READY" for t in mine["items"])
    assert (await get(clerk, "?state=DONE"))["total"] == 1
    assert (await get(clerk, "?state=DONE"))["items"][0]["bpmn_id"] == "Task_accept"
    assert (await get(clerk, "?process_key=showcase"))["total"] == 5
    assert (await get(clerk, "?process_key=other"))["total"] == 0
    # the county sees both townships, read only
    county = await auth("dp_county")
    assert (await get(county))["total"] == 6
    assert (await get(county, "?mine=true"))["total"] == 0
    # paging: items are a stable slice, total is the whole count
    ids = [t["id"] for t in all_clerk["items"]]
    p1 = await get(clerk, "?page_size=2")
    p2 = await get(clerk, "?page_size=2&page=2")
    p3 = await get(clerk, "?page_size=2&page=3")
    p4 = await get(clerk, "?page_size=2&page=4")
    assert [p["total"] for p in (p1, p2, p3, p4)] == [5, 5, 5, 5]
    assert [t["id"] for p in (p1, p2, p3) for t in p["items"]] == ids
    assert [len(p["items"]) for p in (p1, p2, p3, p4)] == [2, 2, 1, 0]
    assert (p2["page"], p2["page_size"]) == (2, 2)


async def test_list_tasks_bad_parameters_are_400(client: Any) -> None:
    headers = await auth("th_clerk")
    for query in ("page_size=0", "page_size=201", "page_size=abc", "page=0", "page=x", "mine=maybe", "state=OPEN",
                  "page_size=-1", "state=ready"):
        err = assert_error(await client.get(f"{API}/tasks?{query}", headers=headers), 400, "invalid_parameter")
        assert query.split("=")[0] in err["message"], query
    assert (await client.get(f"{API}/tasks?page_size=200&page=1&mine=1", headers=headers)).status_code == 200


# -- GET /tasks/{id} ------------------------------------------------------------------------------------------------


async def test_get_task_includes_form_schema(client: Any) -> None:
    headers = await auth("th_clerk")
    task_id = (await start(client, headers))["ready_tasks"][0]["id"]
    r = await client.get(f"{API}/tasks/{task_id}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == task_id and body["bpmn_id"] == "Task_accept" and body["actionable"] is True
    assert body["form"]["title"] == "受理"
    assert body["form"]["required"] == ["applicant_name", "members"]
    assert set(body["form"]["properties"]) == {"applicant_name", "members", "delegated"}
    r = await client.get(f"{API}/tasks/{task_id}", headers=await auth("admin"))
    assert r.status_code == 200 and r.json()["actionable"] is False


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_get_unknown_task_is_404(client: Any, task_id: str) -> None:
    headers = await auth("th_clerk")
    await start(client, headers)
    assert_error(await client.get(f"{API}/tasks/{task_id}", headers=headers), 404, "not_found")


async def test_get_task_out_of_scope_is_403(client: Any) -> None:
    task_id = (await start(client, await auth("th_clerk")))["ready_tasks"][0]["id"]
    r = await client.get(f"{API}/tasks/{task_id}", headers=await auth("wl_clerk"))
    assert_error(r, 403, "forbidden")
    assert "受理" not in r.text


# -- claim / unclaim ------------------------------------------------------------------------------------------------


async def _second_clerk(client: Any) -> dict[str, str]:
    """Another township clerk at 通惠 (same role, same org unit as th_clerk)."""
    admin = await auth("admin")
    r = await client.post(f"{API}/users", json={"username": "th_clerk2", "display_name": "通惠经办二",
                                                "password": TEST_PASSWORD, "org_unit": "511402001",
                                                "roles": ["township_clerk"]}, headers=admin)
    assert r.status_code == 201, r.text
    return await auth("th_clerk2")


async def test_claim_then_another_eligible_user_gets_409(client: Any) -> None:
    clerk = await auth("th_clerk")
    clerk2 = await _second_clerk(client)
    task_id = (await start(client, clerk))["ready_tasks"][0]["id"]
    r = await client.post(f"{API}/tasks/{task_id}/claim", headers=clerk)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["assignee"]) == ("CLAIMED", "th_clerk")
    row = await task_row(task_id)
    assert (row.state, row.assignee) == ("CLAIMED", "th_clerk") and row.claimed_at is not None

    assert_error(await client.post(f"{API}/tasks/{task_id}/claim", headers=clerk2), 409, "conflict")
    assert_error(await client.post(f"{API}/tasks/{task_id}/claim", headers=clerk), 409, "conflict")
    row = await task_row(task_id)
    assert (row.state, row.assignee) == ("CLAIMED", "th_clerk")
    # the other clerk can no longer act on it either
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": ACCEPT_OK}, headers=clerk2)
    assert_error(r, 403, "forbidden")
    assert (await task_row(task_id)).state == "CLAIMED"


async def test_claim_by_ineligible_user_is_403(client: Any) -> None:
    clerk = await auth("th_clerk")
    task_id = (await start(client, clerk))["ready_tasks"][0]["id"]
    r = await client.post(f"{API}/tasks/{task_id}/claim", headers=await auth("th_reviewer"))
    assert_error(r, 403, "forbidden")
    row = await task_row(task_id)
    assert (row.state, row.assignee) == ("READY", None)


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_claim_unknown_task_is_404(client: Any, task_id: str) -> None:
    headers = await auth("th_clerk")
    assert_error(await client.post(f"{API}/tasks/{task_id}/claim", headers=headers), 404, "not_found")


async def test_unclaim(client: Any) -> None:
    clerk = await auth("th_clerk")
    clerk2 = await _second_clerk(client)
    task_id = (await start(client, clerk))["ready_tasks"][0]["id"]
    assert (await client.post(f"{API}/tasks/{task_id}/claim", headers=clerk)).status_code == 200
    for other in (clerk2, await auth("admin"), await auth("dp_county")):
        assert_error(await client.post(f"{API}/tasks/{task_id}/unclaim", headers=other), 403, "forbidden")
        row = await task_row(task_id)
        assert (row.state, row.assignee) == ("CLAIMED", "th_clerk")
    assert_error(await client.post(f"{API}/tasks/{task_id}/unclaim", headers=await auth("wl_clerk")),
                 403, "forbidden")
    r = await client.post(f"{API}/tasks/{task_id}/unclaim", headers=clerk)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["assignee"]) == ("READY", None)
    row = await task_row(task_id)
    assert (row.state, row.assignee, row.claimed_at) == ("READY", None, None)
    # now the second clerk can claim it
    r = await client.post(f"{API}/tasks/{task_id}/claim", headers=clerk2)
    assert r.status_code == 200 and r.json()["assignee"] == "th_clerk2"


async def test_unclaim_unknown_task_is_404(client: Any) -> None:
    headers = await auth("th_clerk")
    assert_error(await client.post(f"{API}/tasks/{uuid.uuid4()}/unclaim", headers=headers), 404, "not_found")


# -- complete -------------------------------------------------------------------------------------------------------


async def test_complete_returns_updated_instance_with_next_tasks(client: Any) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    task_id = started["ready_tasks"][0]["id"]
    r = await client.post(f"{API}/tasks/{task_id}/complete",
                          json={"data": ACCEPT_OK, "lock_version": started["lock_version"]}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == started["id"] and body["lock_version"] == started["lock_version"] + 1
    assert body["status"] == "running" and body["data"]["applicant_name"] == "张三"
    assert sorted(t["bpmn_id"] for t in body["ready_tasks"]) == [
        "Task_home_visit", "Task_member_check", "Task_member_check"]
    assert all(t["state"] == "READY" and t["org_unit"] == "511402001" for t in body["ready_tasks"])
    row = await task_row(task_id)
    assert (row.state, row.completed_by) == ("DONE", "th_clerk")
    assert await instance_version(started["id"]) == body["lock_version"]
    # a DONE task cannot be completed again
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": ACCEPT_OK}, headers=headers)
    assert r.status_code in (403, 409)
    assert_error(r, r.status_code)
    assert await instance_version(started["id"]) == body["lock_version"]


async def test_complete_with_invalid_data_is_422_per_field_and_changes_nothing(client: Any) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    task_id = started["ready_tasks"][0]["id"]
    data = {"applicant_name": "", "members": [{"name": "张三", "monthly_income": "abc"}, {"monthly_income": -1}],
            "delegated": "yes", "standard": 9999}
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers)
    err = assert_error(r, 422, "validation_failed")
    assert sorted((f["field"], f["code"]) for f in err["fields"]) == [
        ("applicant_name", "minLength"), ("delegated", "type"), ("members.0.monthly_income", "type"),
        ("members.1.monthly_income", "minimum"), ("members.1.name", "required"), ("standard", "undeclared")]
    row = await task_row(task_id)
    assert (row.state, row.assignee, row.completed_at) == ("READY", None, None)
    assert await instance_version(started["id"]) == started["lock_version"]
    assert (await ProcessInstance.get(id=started["id"])).data == {"case_org_unit": "511402001"}  # only the start
    assert await HumanTask.filter(instance_id=started["id"]).count() == 1


@pytest.mark.parametrize("body, status", [
    ({"data": []}, 422), ({"data": "x"}, 422), ({"data": ACCEPT_OK, "lock_version": "1"}, 422),
    ({}, 422), (["data"], 400),
])
async def test_complete_bad_body(client: Any, body: Any, status: int) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    task_id = started["ready_tasks"][0]["id"]
    assert_error(await client.post(f"{API}/tasks/{task_id}/complete", json=body, headers=headers), status)
    assert (await task_row(task_id)).state == "READY"
    assert await instance_version(started["id"]) == started["lock_version"]


async def test_complete_with_stale_lock_version_is_409(client: Any) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    task_id = started["ready_tasks"][0]["id"]
    for stale in (started["lock_version"] - 1, started["lock_version"] + 1):
        r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": ACCEPT_OK, "lock_version": stale},
                              headers=headers)
        assert_error(r, 409, "conflict")
        assert (await task_row(task_id)).state == "READY"
        assert await instance_version(started["id"]) == started["lock_version"]


@pytest.mark.parametrize("username", ["th_reviewer", "dp_county", "admin", "city_mgr"])
async def test_complete_by_wrong_role_is_403(client: Any, username: str) -> None:
    started = await start(client, await auth("th_clerk"))
    task_id = started["ready_tasks"][0]["id"]
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": ACCEPT_OK},
                          headers=await auth(username))
    assert_error(r, 403, "forbidden")
    row = await task_row(task_id)
    assert (row.state, row.completed_by) == ("READY", None)
    assert await instance_version(started["id"]) == started["lock_version"]


async def test_complete_unknown_task_is_404(client: Any) -> None:
    headers = await auth("th_clerk")
    r = await client.post(f"{API}/tasks/{uuid.uuid4()}/complete", json={"data": ACCEPT_OK}, headers=headers)
    assert_error(r, 404, "not_found")


# -- POST /users ----------------------------------------------------------------------------------------------------

NEW_USER = {"username": "new.clerk", "display_name": "新经办", "password": "long-enough-1",
            "org_unit": "511402002", "roles": ["township_clerk"]}


async def test_create_user_as_admin(client: Any) -> None:
    r = await client.post(f"{API}/users", json=NEW_USER, headers=await auth("admin"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("username", "display_name", "org_unit", "roles")} == {
        "username": "new.clerk", "display_name": "新经办", "org_unit": "511402002", "roles": ["township_clerk"]}
    user = await User.get(username="new.clerk")
    assert user.id == body["id"] and user.password_hash != NEW_USER["password"]
    # the new user can log in and works in their township
    r = await client.post(f"{API}/auth/token", json={"username": "new.clerk", "password": "long-enough-1"})
    assert r.status_code == 201
    token = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await start(client, token))["org_unit"] == "511402002"


@pytest.mark.parametrize("username", [u[0] for u in WEB_USERS if u[0] != "admin"])
async def test_create_user_as_non_admin_is_403(client: Any, username: str) -> None:
    r = await client.post(f"{API}/users", json=NEW_USER, headers=await auth(username))
    assert_error(r, 403, "forbidden")
    assert not await User.exists(username="new.clerk")


USER_PROBLEMS: list[tuple[dict[str, Any], list[str]]] = [
    ({"username": "th_clerk"}, ["username"]),  # duplicate
    ({"username": "bad name!"}, ["username"]),
    ({"roles": ["superuser"]}, ["roles"]),
    ({"roles": ["township_clerk", "superuser"]}, ["roles"]),
    ({"roles": []}, ["roles"]),
    ({"password": "short"}, ["password"]),
    ({"password": "seven77"}, ["password"]),
    ({"display_name": "  "}, ["display_name"]),
    ({"org_unit": "000000"}, ["org_unit"]),
    ({"roles": "admin"}, ["roles"]),
    ({"password": None, "org_unit": 5}, ["org_unit", "password"]),
]


async def test_create_user_invalid_is_422(client: Any) -> None:
    headers = await auth("admin")
    before = await User.all().count()
    for change, fields in USER_PROBLEMS:
        r = await client.post(f"{API}/users", json={**NEW_USER, **change}, headers=headers)
        err = assert_error(r, 422, "validation_failed")
        assert sorted(f["field"] for f in err["fields"]) == fields, change
    assert await User.all().count() == before
    th = await User.get(username="th_clerk")
    assert (th.display_name, th.org_unit_id, th.roles) == ("通惠经办", "511402001", ["township_clerk"])  # untouched


async def test_create_user_bad_body_is_400(client: Any) -> None:
    headers = {**await auth("admin"), "content-type": "application/json"}
    assert_error(await client.post(f"{API}/users", content=b"[]", headers=headers), 400)
    assert_error(await client.post(f"{API}/users", content=b"{{", headers=headers), 400)


# -- GET /org-units -------------------------------------------------------------------------------------------------


async def test_org_units_scoped_to_admin_subtree(client: Any) -> None:
    admin = await auth("admin")
    r = await client.get(f"{API}/org-units", headers=admin)
    assert r.status_code == 200
    assert [(o["code"], o["parent"]) for o in r.json()["items"]] == [
        ("511400", None), ("511402", "511400"), ("511402001", "511402"), ("511402002", "511402"),
        ("511421", "511400"), ("511421001", "511421")]
    assert r.json()["items"][0] == {"code": "511400", "name": "眉山市", "level": "city", "parent": None}

    r = await client.post(f"{API}/users", json={"username": "rs_admin", "display_name": "仁寿管理员",
                                                "password": TEST_PASSWORD, "org_unit": "511421", "roles": ["admin"]},
                          headers=admin)
    assert r.status_code == 201, r.text
    county_admin = await auth("rs_admin")
    r = await client.get(f"{API}/org-units", headers=county_admin)
    assert r.status_code == 200
    assert [o["code"] for o in r.json()["items"]] == ["511421", "511421001"]
    # and a county admin cannot create users outside the county
    r = await client.post(f"{API}/users", json={**NEW_USER, "org_unit": "511402002"}, headers=county_admin)
    assert [f["field"] for f in assert_error(r, 422)["fields"]] == ["org_unit"]
    assert not await User.exists(username="new.clerk")
    r = await client.post(f"{API}/users", json={**NEW_USER, "org_unit": "511421001"}, headers=county_admin)
    assert r.status_code == 201 and r.json()["org_unit"] == "511421001"


@pytest.mark.parametrize("username", ["city_mgr", "dp_county", "th_clerk"])
async def test_org_units_non_admin_is_403(client: Any, username: str) -> None:
    assert_error(await client.get(f"{API}/org-units", headers=await auth(username)), 403, "forbidden")


# -- values the database cannot hold: refused with 4xx, never a 500 ---------------------------------------------------

LONG = "k" * 101


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", f"/processes/{LONG}", None, 404),
    ("GET", "/processes/a%00b", None, 404),
    ("GET", f"/tasks?process_key={LONG}", None, 400),
    ("GET", "/tasks?process_key=a%00b", None, 400),
    ("POST", "/instances", {"process_key": LONG}, 422),
    ("POST", "/instances", {"process_key": "showcase", "org_unit": "1" * 33}, 422),
    ("POST", "/instances", {"process_key": "showcase", "business_key": "a\x00b"}, 400),
    ("POST", "/instances", {"process_key": "show\x00case"}, 400),
    ("POST", "/instances", {"process_key": "showcase", "data": {"k\x00": 1}}, 400),
    ("POST", "/users", {**NEW_USER, "display_name": "名" * 101}, 422),
    ("POST", "/users", {**NEW_USER, "org_unit": "1" * 33}, 422),
    ("POST", "/users", {**NEW_USER, "password": "long-enough\x00"}, 400),
    ("POST", "/auth/token", {"username": "u" * 65, "password": "x"}, 401),
    ("POST", "/auth/token", {"username": "th_\x00clerk", "password": TEST_PASSWORD}, 400),
])
async def test_values_the_database_cannot_hold_are_4xx(client: Any, method: str, path: str, body: Any,
                                                       status: int) -> None:
    headers = await auth("admin")
    before = (await ProcessInstance.all().count(), await User.all().count())
    assert_error(await client.request(method, f"{API}{path}", json=body, headers=headers), status)
    assert (await ProcessInstance.all().count(), await User.all().count()) == before


async def test_complete_with_nul_in_form_data_is_400(client: Any) -> None:
    headers = await auth("th_clerk")
    started = await start(client, headers)
    task_id = started["ready_tasks"][0]["id"]
    data = {**ACCEPT_OK, "applicant_name": "张\x00三"}
    err = assert_error(await client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers), 400)
    assert "NUL" in err["message"]
    assert (await task_row(task_id)).state == "READY"
    assert await instance_version(started["id"]) == started["lock_version"]


async def test_deeply_nested_body_is_400(client: Any) -> None:
    headers = {**await auth("th_clerk"), "content-type": "application/json"}
    body = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_error(await client.post(f"{API}/instances", content=body, headers=headers), 400, "invalid_json")
