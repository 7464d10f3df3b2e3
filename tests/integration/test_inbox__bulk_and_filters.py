from __future__ import annotations

from typing import Any

from engine.models import HumanTask
from engine.runtime import Engine
from tests.conftest import browser_login
from web.models import SavedFilter

ACCEPT = {"applicant_name": "张三", "members": [{"name": "张三", "monthly_income": 100}], "delegated": False}


async def _at_county_confirm(engine: Engine, n: int, org: str = "511402001") -> list[str]:
    """Drive `n` showcase cases to the county confirmation task; returns those task ids."""
    ids = []
    for i in range(n):
        inst = await engine.start("showcase", org_unit=org, actor="th_clerk", business_key=f"BK-{org}-{i}")
        for _ in range(6):
            task = await HumanTask.filter(instance_id=inst.id, state="READY").order_by("created_at").first()
            assert task is not None
            if task.bpmn_id == "Task_county_confirm":
                ids.append(str(task.id))
                break
            data = {"Task_accept": ACCEPT, "Task_township_prelim": {"prelim_opinion": "同意上报"},
                    "Task_home_visit": {"home_visit": {"investigators": ["甲", "乙"]}},
                    "Task_member_check": {"member_check": {"verified_income": 100}}}[task.bpmn_id]
            await engine.complete_task(task.id, data, actor="th_clerk")
    return ids


async def test_bulk_complete_with_one_decision_reports_each_item(engine: Engine, client: Any) -> None:
    ours = await _at_county_confirm(engine, 3)
    theirs = await _at_county_confirm(engine, 1, org="511421001")  # 仁寿县: outside 东坡区's scope
    csrf = await browser_login(client, "dp_county")
    await engine.claim(ours[2], actor="dp_county")
    await engine.unclaim(ours[2], actor="dp_county")
    other = await HumanTask.get(id=ours[1])
    other.assignee, other.state = "someone_else", "CLAIMED"
    await other.save()
    step1 = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "complete",
                                                   "task_ids": [*ours, *theirs]})
    assert step1.status_code == 200 and "全部办理" in step1.text and "审核意见" in step1.text
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "complete", "confirm": "yes",
                                               "task_ids": [*ours, *theirs], "approved": "on",
                                               "opinion": "符合条件,同意"})
    assert r.status_code == 200
    assert "成功 2 项,失败 2 项" in r.text
    assert "您不能办理该事项" in r.text and "不在您的范围内" in r.text
    states = {str(t.id): t.state for t in await HumanTask.filter(id__in=[*ours, *theirs])}
    assert [states[i] for i in ours] == ["DONE", "CLAIMED", "DONE"] and states[theirs[0]] == "READY"


async def test_bulk_complete_with_invalid_shared_data_fails_each_item_and_changes_nothing(
        engine: Engine, client: Any) -> None:
    ours = await _at_county_confirm(engine, 2)
    csrf = await browser_login(client, "dp_county")
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "complete", "confirm": "yes",
                                               "task_ids": ours, "opinion": "x"})
    assert "成功 0 项,失败 2 项" in r.text and "审核意见" in r.text
    assert {t.state for t in await HumanTask.filter(id__in=ours)} == {"READY"}


async def test_bulk_claim_and_mixed_forms_refused(engine: Engine, client: Any) -> None:
    ours = await _at_county_confirm(engine, 2)
    csrf = await browser_login(client, "dp_county")
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "claim", "task_ids": ours})
    assert "成功 2 项" in r.text
    assert {t.assignee for t in await HumanTask.filter(id__in=ours)} == {"dp_county"}
    inst = await engine.start("showcase", org_unit="511402001", actor="th_clerk")
    accept = await HumanTask.get(instance_id=inst.id)  # visible to the county, a different step
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "complete",
                                               "task_ids": [str(accept.id), ours[0]]})
    assert r.status_code == 303  # two different steps cannot share one form
    assert (await client.get("/inbox")).text.count("同一环节") == 1


async def test_saved_filters_personal_and_shared_with_counts(engine: Engine, client: Any) -> None:
    await _at_county_confirm(engine, 2)
    csrf = await browser_login(client, "th_clerk")
    await engine.start("showcase", org_unit="511402001", actor="th_clerk", business_key="FIND-ME")
    r = await client.post("/inbox/filters", data={"csrf_token": csrf, "name": "找编号", "view": "todo",
                                                  "q": "FIND-ME", "sort": "bogus"})
    assert r.status_code == 303
    mine = await SavedFilter.get(name="找编号")
    assert mine.owner == "th_clerk" and mine.params["sort"] == "due"  # invalid values are cleaned
    page = await client.get(f"/inbox?f={mine.id}")
    assert "FIND-ME" in page.text and "BK-511402001-0" not in page.text.split("task-list")[1]
    assert '找编号 <span class="badge">1</span>' in page.text
    await client.post("/inbox/filters", data={"csrf_token": csrf, "name": "本街道全部", "view": "scope",
                                              "shared": "on"})
    reviewer = await browser_login(client, "th_reviewer")  # same township: sees the shared one only
    text = (await client.get("/inbox")).text
    assert "本街道全部" in text and "找编号" not in text
    other = await browser_login(client, "dsq_clerk")  # another township: sees neither
    text = (await client.get("/inbox")).text
    assert "本街道全部" not in text
    r = await client.post(f"/inbox/filters/{mine.id}/delete", data={"csrf_token": other})
    assert r.status_code == 404 and await SavedFilter.exists(id=mine.id)
    assert reviewer


async def test_bulk_reassign_and_inbox_export(engine: Engine, client: Any, password_hash: str) -> None:
    import io

    from openpyxl import load_workbook

    from engine.models import User

    await User.create(username="dp_county2", display_name="东坡区审核二", org_unit_id="511402",
                      roles=["county_reviewer"], password_hash=password_hash)
    ours = await _at_county_confirm(engine, 2)
    csrf = await browser_login(client, "dp_county")
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "reassign", "to": "dp_county2",
                                               "task_ids": ours})
    assert "成功 2 项" in r.text
    assert {t.assignee for t in await HumanTask.filter(id__in=ours)} == {"dp_county2"}
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "reassign", "to": "th_clerk",
                                               "task_ids": ours[:1]})
    assert "失败 1 项" in r.text  # a township clerk cannot act on a county task
    x = await client.get("/inbox/export.xlsx?view=scope")
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "事项" and {row[5] for row in rows[1:]} >= {"dp_county2"}
