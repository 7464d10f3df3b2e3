"""Role × org-unit matrix: who may see and who may act on a task, through the JSON API and the HTML pages.

Rule under test (engine/authz.py): a task is actionable only with the task's candidate role AND the task's org
unit; it is visible (read-only) to anyone whose org unit is the task's org unit or an ancestor of it; nobody else
sees it. Refusals must leave the task row and the instance exactly as they were.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.models import HumanTask, ProcessInstance, User
from tests.conftest import WEB_USERS, browser_login, csrf_from
from web.security import issue_token

API = "/api/v1"
ALL_USERS = [u[0] for u in WEB_USERS]
ACCEPT_OK = {"applicant_name": "张三", "members": [{"name": "张三", "monthly_income": 120}], "delegated": False}

# township task at 通惠 (511402001), candidate role township_clerk: user → (sees, acts)
TOWNSHIP_MATRIX = {
    "admin": (True, False),        # city admin: sees everything, acts on nothing
    "city_mgr": (True, False),
    "dp_county": (True, False),    # parent county, wrong role
    "rs_county": (False, False),   # other county
    "th_clerk": (True, True),      # the only one who can act
    "th_reviewer": (True, False),  # same township, wrong role
    "dsq_clerk": (False, False),   # same role, sibling township
    "wl_clerk": (False, False),    # same role, other county
}
# county confirm task at 东坡区 (511402), candidate role county_reviewer
COUNTY_MATRIX = {
    "admin": (True, False),
    "city_mgr": (True, False),
    "dp_county": (True, True),
    "rs_county": (False, False),
    "th_clerk": (False, False),    # a township is below the county: it does not see county tasks
    "th_reviewer": (False, False),
    "dsq_clerk": (False, False),
    "wl_clerk": (False, False),
}
assert set(TOWNSHIP_MATRIX) == set(COUNTY_MATRIX) == set(ALL_USERS)


async def auth(username: str) -> dict[str, str]:
    token, _ = await issue_token(await User.get(username=username))
    return {"Authorization": f"Bearer {token}"}


async def snapshot(task_id: str) -> tuple[Any, ...]:
    task = await HumanTask.get(id=task_id)
    instance = await ProcessInstance.get(id=task.instance_id)
    return task.state, task.assignee, task.claimed_at, task.completed_by, instance.version, instance.status


async def start_township_task(client: Any, business_key: str = "M-1") -> tuple[str, str]:
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": business_key},
                          headers=await auth("th_clerk"))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["ready_tasks"][0]["id"]


async def complete(client: Any, headers: dict[str, str], task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def drive_to_county_confirm(client: Any) -> tuple[str, str]:
    """Run the showcase (not delegated) until 县级审核确认 is ready; returns (instance id, task id)."""
    clerk = await auth("th_clerk")
    instance_id, accept_id = await start_township_task(client, "M-COUNTY")
    body = await complete(client, clerk, accept_id, ACCEPT_OK)
    for task in body["ready_tasks"]:
        if task["bpmn_id"] == "Task_home_visit":
            body = await complete(client, clerk, task["id"], {"home_visit": {"investigators": ["王五", "赵六"],
                                                                             "has_large_assets": False}})
    for task in [t for t in body["ready_tasks"] if t["bpmn_id"] == "Task_member_check"]:
        body = await complete(client, clerk, task["id"], {"member_check": {"verified_income": 120}})
    [prelim] = body["ready_tasks"]
    assert prelim["bpmn_id"] == "Task_township_prelim" and prelim["org_unit"] == "511402001"
    body = await complete(client, clerk, prelim["id"], {"prelim_opinion": "符合条件,报县级审核"})
    [county] = body["ready_tasks"]
    assert (county["bpmn_id"], county["candidate_role"], county["org_unit"]) == (
        "Task_county_confirm", "county_reviewer", "511402")
    return instance_id, county["id"]


def assert_forbidden(r: Any) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden" and r.json()["error"]["message"]


# -- API ------------------------------------------------------------------------------------------------------------


async def check_api_matrix(client: Any, username: str, task_id: str, instance_id: str, sees: bool, acts: bool,
                           data: dict[str, Any], sees_instance: bool | None = None) -> None:
    headers = await auth(username)
    before = await snapshot(task_id)

    r = await client.get(f"{API}/tasks/{task_id}", headers=headers)
    if sees:
        assert r.status_code == 200, r.text
        assert r.json()["id"] == task_id and r.json()["actionable"] is acts
    else:
        assert_forbidden(r)
    r = await client.get(f"{API}/instances/{instance_id}", headers=headers)
    if sees if sees_instance is None else sees_instance:
        assert r.status_code == 200 and r.json()["id"] == instance_id
    else:
        assert_forbidden(r)
    listed = await client.get(f"{API}/tasks?state=READY", headers=headers)
    assert (task_id in [t["id"] for t in listed.json()["items"]]) is sees
    mine = await client.get(f"{API}/tasks?mine=true", headers=headers)
    assert (task_id in [t["id"] for t in mine.json()["items"]]) is acts

    if not acts:
        assert_forbidden(await client.post(f"{API}/tasks/{task_id}/claim", headers=headers))
        assert_forbidden(await client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers))
        assert await snapshot(task_id) == before
        return
    r = await client.post(f"{API}/tasks/{task_id}/claim", headers=headers)
    assert r.status_code == 200 and r.json()["assignee"] == username
    body = await complete(client, headers, task_id, data)
    assert body["lock_version"] == before[4] + 1
    task = await HumanTask.get(id=task_id)
    assert (task.state, task.completed_by) == ("DONE", username)


@pytest.mark.parametrize("username", ALL_USERS)
async def test_township_task_api_matrix(client: Any, username: str) -> None:
    instance_id, task_id = await start_township_task(client)
    sees, acts = TOWNSHIP_MATRIX[username]
    await check_api_matrix(client, username, task_id, instance_id, sees, acts, ACCEPT_OK)


async def test_county_confirm_task_api_matrix(client: Any) -> None:
    instance_id, task_id = await drive_to_county_confirm(client)
    for username, (sees, acts) in COUNTY_MATRIX.items():
        if not acts:
            # the instance itself belongs to 通惠, so its township users still see the case (not the county task)
            sees_instance = TOWNSHIP_MATRIX[username][0]
            await check_api_matrix(client, username, task_id, instance_id, sees, acts,
                                   {"approved": True, "opinion": "同意"}, sees_instance)
    # rs_county has the right role, but at the other county
    assert_forbidden(await client.post(f"{API}/tasks/{task_id}/claim", headers=await auth("rs_county")))
    await check_api_matrix(client, "dp_county", task_id, instance_id, True, True,
                           {"approved": False, "opinion": "家庭收入超标,不予批准"})
    instance = await ProcessInstance.get(id=instance_id)
    assert instance.status == "completed"


async def test_sibling_township_clerk_cannot_act_even_after_claim_attempts(client: Any) -> None:
    """dsq_clerk (same role, other township): 403 on GET, claim, unclaim and complete; nothing changes."""
    instance_id, task_id = await start_township_task(client)
    dsq = await auth("dsq_clerk")
    before = await snapshot(task_id)
    for method, path, body in [("GET", "", None), ("POST", "/claim", None), ("POST", "/unclaim", None),
                               ("POST", "/complete", {"data": ACCEPT_OK}),
                               ("POST", "/complete", {"data": ACCEPT_OK, "lock_version": before[4]})]:
        r = await client.request(method, f"{API}/tasks/{task_id}{path}", json=body, headers=dsq)
        assert_forbidden(r)
    assert await snapshot(task_id) == before
    # and once th_clerk claimed it, still nothing for dsq_clerk
    assert (await client.post(f"{API}/tasks/{task_id}/claim", headers=await auth("th_clerk"))).status_code == 200
    claimed = await snapshot(task_id)
    assert_forbidden(await client.post(f"{API}/tasks/{task_id}/unclaim", headers=dsq))
    assert_forbidden(await client.post(f"{API}/tasks/{task_id}/complete", json={"data": ACCEPT_OK}, headers=dsq))
    assert await snapshot(task_id) == claimed
    assert claimed[:2] == ("CLAIMED", "th_clerk")
    assert instance_id


# -- HTML -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["dsq_clerk", "wl_clerk", "rs_county"])
async def test_html_out_of_scope_user_gets_403_and_changes_nothing(client: Any, username: str) -> None:
    _, task_id = await start_township_task(client)
    before = await snapshot(task_id)
    csrf = await browser_login(client, username)
    r = await client.get(f"/tasks/{task_id}")
    assert r.status_code == 403
    assert "无权访问" in r.text and "您无权查看该事项。" in r.text and "<html" in r.text
    assert "M-1" not in r.text  # nothing about the task leaks
    form = {"csrf_token": csrf, "applicant_name": "张三", "members.0.name": "张三", "members.0.monthly_income": "120"}
    r = await client.post(f"/tasks/{task_id}", data=form)
    assert r.status_code == 403 and "您无权查看该事项。" in r.text
    r = await client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf})
    assert r.status_code == 403
    assert await snapshot(task_id) == before
    r = await client.get(f"/instances/{(await HumanTask.get(id=task_id)).instance_id}")
    assert r.status_code == 403 and "您无权查看该办件。" in r.text


@pytest.mark.parametrize("username", ["th_reviewer", "dp_county", "city_mgr", "admin"])
async def test_html_read_only_user_sees_but_cannot_act(client: Any, username: str) -> None:
    _, task_id = await start_township_task(client)
    before = await snapshot(task_id)
    csrf = await browser_login(client, username)
    r = await client.get(f"/tasks/{task_id}")
    assert r.status_code == 200 and "受理 · M-1" in r.text
    assert "您可以查看该事项,但不能办理" in r.text
    assert f'action="/tasks/{task_id}"' not in r.text and f'action="/tasks/{task_id}/claim"' not in r.text
    form = {"csrf_token": csrf, "applicant_name": "张三", "members.0.name": "张三", "members.0.monthly_income": "120"}
    r = await client.post(f"/tasks/{task_id}", data=form)
    assert r.status_code == 403 and "您无权办理该事项。" in r.text
    r = await client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf})
    assert r.status_code == 403 and "您不能签收该事项" in r.text
    assert await snapshot(task_id) == before


async def test_html_actor_can_claim_and_complete(client: Any) -> None:
    _, task_id = await start_township_task(client)
    csrf = await browser_login(client, "th_clerk")
    r = await client.get(f"/tasks/{task_id}")
    assert r.status_code == 200 and f'action="/tasks/{task_id}"' in r.text
    r = await client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert (await snapshot(task_id))[:2] == ("CLAIMED", "th_clerk")
    form = {"csrf_token": csrf, "applicant_name": "张三", "members.0.name": "张三", "members.0.monthly_income": "120"}
    r = await client.post(f"/tasks/{task_id}", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert (await snapshot(task_id))[0] == "DONE"


async def test_instance_list_visibility(client: Any) -> None:
    """GET /instances lists exactly the instances in the user's subtree (and the detail page agrees)."""
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": "V-TH"},
                          headers=await auth("th_clerk"))
    th_id = r.json()["id"]
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": "V-DSQ"},
                          headers=await auth("dsq_clerk"))
    dsq_id = r.json()["id"]
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": "V-WL"},
                          headers=await auth("wl_clerk"))
    wl_id = r.json()["id"]
    expected = {
        "admin": {"V-TH", "V-DSQ", "V-WL"}, "city_mgr": {"V-TH", "V-DSQ", "V-WL"},
        "dp_county": {"V-TH", "V-DSQ"}, "rs_county": {"V-WL"}, "th_clerk": {"V-TH"}, "th_reviewer": {"V-TH"},
        "dsq_clerk": {"V-DSQ"}, "wl_clerk": {"V-WL"},
    }
    ids = {"V-TH": th_id, "V-DSQ": dsq_id, "V-WL": wl_id}
    for username, visible in expected.items():
        client.cookies.clear()
        await browser_login(client, username)
        r = await client.get("/instances")
        assert r.status_code == 200
        assert {k for k in ids if k in r.text} == visible, username
        headers = await auth(username)
        for key, instance_id in ids.items():
            api = await client.get(f"{API}/instances/{instance_id}", headers=headers)
            page = await client.get(f"/instances/{instance_id}")
            want = 200 if key in visible else 403
            assert (api.status_code, page.status_code) == (want, want), (username, key)


async def test_html_county_task_only_for_the_right_county(client: Any) -> None:
    _, task_id = await drive_to_county_confirm(client)
    before = await snapshot(task_id)
    csrf = await browser_login(client, "rs_county")
    r = await client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf})
    assert r.status_code == 403
    r = await client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "approved": "on", "opinion": "同意"})
    assert r.status_code == 403
    assert await snapshot(task_id) == before
    client.cookies.clear()
    csrf = await browser_login(client, "dp_county")
    inbox = await client.get("/inbox")
    assert "县级审核确认 · M-COUNTY" in inbox.text
    r = await client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "approved": "on", "opinion": "同意救助"})
    assert r.status_code == 303, r.text
    task = await HumanTask.get(id=task_id)
    assert (task.state, task.completed_by) == ("DONE", "dp_county")
    assert csrf_from((await client.get("/inbox")).text)
