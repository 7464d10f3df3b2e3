"""低保 privacy: ID numbers validated at intake (GB 11643), masked in every list, absent from the 公示 list; the full
household file only for actors on the case and supervisors in scope, each view logged and shown to supervisors.

Runs on SQLite and PostgreSQL (the `db` fixture), through the HTTP API and the pages.
"""

from __future__ import annotations

import pytest

from engine.models import HumanTask
from tests.bpmn.test_dibao__paths import ACCEPT, APPROVE, CHECK_PASS, HOME, POST, PRELIM
from tests.conftest import browser_login
from tests.integration.test_dibao__api_scenarios import TH, Api, api_fixture  # noqa: F401 - the `api` fixture
from web.privacy import mask_id_numbers
from workflows.dibao.idnumber import is_valid_id_number, mask_id_number
from workflows.dibao.models import CaseFileView, DibaoCase

APPLICANT_ID = "511402196503120024"
MEMBER_ID = "51140219900606001X"
MEMBERS = [{"name": "张秀英", "relation": "applicant", "id_number": APPLICANT_ID},
           {"name": "李建国", "relation": "spouse", "id_number": MEMBER_ID},
           {"name": "李小明", "relation": "child"}]


@pytest.mark.parametrize("value, valid", [
    (APPLICANT_ID, True), (MEMBER_ID, True),
    ("511402196503120025", False),  # wrong check digit
    ("51140219900606001x", False),  # lower-case x
    ("511402196513120024", False),  # month 13
    ("51140219650312002", False),  # 17 characters
    ("011402196503120024", False),  # region cannot start with 0
])
def test_gb11643_check_digit(value: str, valid: bool) -> None:
    assert is_valid_id_number(value) is valid


def test_mask_keeps_region_and_last_four() -> None:
    assert mask_id_number("510102199001011234") == "510102********1234"
    assert mask_id_number(None) == "" and mask_id_number("12345") == "*****"
    data = {"applicant_id_number": APPLICANT_ID, "n": 1,
            "members": [{"name": "甲", "id_number": MEMBER_ID}, {"name": "乙"}]}
    assert mask_id_numbers(data) == {"applicant_id_number": "511402********0024", "n": 1,
                                     "members": [{"name": "甲", "id_number": "511402********001X"}, {"name": "乙"}]}


async def _accepted_case(api: Api, key: str = "DB-P-1") -> str:
    case = await api.start(TH, key)
    await api.complete("th_clerk", case, "Task_accept", {**ACCEPT, "applicant_id_number": APPLICANT_ID,
                                                         "members": MEMBERS})
    return case


async def test_intake_rejects_bad_id_numbers_and_keeps_the_task(api: Api) -> None:
    case = await api.start(TH, "DB-P-0")
    task = await api.my_task("th_clerk", case, "Task_accept")
    bad = {**ACCEPT, "applicant_id_number": "511402196503120025",
           "members": [{**MEMBERS[0]}, {**MEMBERS[1], "id_number": "51140219900606001"}]}
    r = await api.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": bad},
                              headers=await api.auth("th_clerk"))
    assert r.status_code == 422, r.text
    fields = {(f["field"], f["code"]) for f in r.json()["error"]["fields"]}
    assert ("applicant_id_number", "format") in fields
    assert any(f == "members.1.id_number" for f, _ in fields)
    missing = {k: v for k, v in ACCEPT.items() if k != "applicant_id_number"}
    r = await api.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": missing},
                              headers=await api.auth("th_clerk"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "applicant_id_number"
    assert (await HumanTask.get(id=task["id"])).state == "READY"  # nothing lost, nothing moved on
    case_row = await DibaoCase.get(instance_id=case)
    assert case_row.applicant_id_number is None and case_row.accepted_at is None
    # The web form says it in Chinese.
    await browser_login(api.client, "th_clerk")
    page = await api.client.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and "公民身份号码" in page.text


async def test_lists_mask_and_publication_shows_no_id_number(api: Api) -> None:
    case = await _accepted_case(api)
    body = await api.get("th_clerk", "/dibao/cases")
    row = next(i for i in body["items"] if i["id"] == case)
    assert row["applicant_id_number"] == "511402********0024" and "members" not in row
    listing = await api.client.get("/api/v1/dibao/cases?view=open", headers=await api.auth("dp_county"))
    assert APPLICANT_ID not in listing.text and MEMBER_ID not in listing.text
    assert (await api.get("wl_clerk", "/dibao/cases"))["items"] == []  # another county: nothing
    generic = await api.get("th_clerk", f"/instances/{case}")  # the generic instance API masks them as well
    assert generic["data"]["applicant_id_number"] == "511402********0024"
    raw = await api.client.get(f"/api/v1/instances/{case}", headers=await api.auth("dp_county"))
    assert APPLICANT_ID not in raw.text and MEMBER_ID not in raw.text
    await api.get("th_clerk", "/dibao/cases?view=bogus", 400)

    await browser_login(api.client, "dp_county")
    html = (await api.client.get("/dibao/cases")).text
    assert "511402********0024" in html and APPLICANT_ID not in html
    case_row = await DibaoCase.get(instance_id=case)  # approved: on the public list
    case_row.decision, case_row.closed_at, case_row.monthly_amount = "approve", api.clock.now(), 990
    await case_row.save()
    public = (await api.client.get("/dibao/publication")).text
    assert "张秀英" in public and "990" in public
    assert APPLICANT_ID not in public and "511402****" not in public and "0024" not in public


async def test_full_file_for_actors_and_supervisors_each_view_logged(api: Api) -> None:
    case = await _accepted_case(api)
    full = await api.get("th_clerk", f"/dibao/cases/{case}")  # completed 受理: an actor on the case
    assert full["applicant_id_number"] == APPLICANT_ID
    assert [m["id_number"] for m in full["members"]] == [APPLICANT_ID, MEMBER_ID, ""]
    assert "views" not in full  # the log is for supervisors
    await api.get("th_reviewer", f"/dibao/cases/{case}", 403)  # in scope, but no task of this case
    await api.get("wl_clerk", f"/dibao/cases/{case}", 404)  # outside the org subtree
    await api.get("th_clerk", "/dibao/cases/no-such-case", 404)
    sup = await api.get("dp_county", f"/dibao/cases/{case}")  # supervisor in scope
    assert sup["applicant_id_number"] == APPLICANT_ID
    assert [(v["viewer"], v["basis"], v["channel"]) for v in sup["views"]] == [
        ("dp_county", "supervisor", "api"), ("th_clerk", "actor", "api")]

    await browser_login(api.client, "th_clerk")
    page = await api.client.get(f"/dibao/cases/{case}")
    assert page.status_code == 200 and APPLICANT_ID in page.text and MEMBER_ID in page.text
    assert "档案查看记录" not in page.text
    await browser_login(api.client, "th_reviewer")
    assert (await api.client.get(f"/dibao/cases/{case}")).status_code == 403
    await browser_login(api.client, "dp_county")
    page = await api.client.get(f"/dibao/cases/{case}")
    assert "档案查看记录" in page.text and "th_clerk" in page.text and "本案经办" in page.text
    views = await CaseFileView.filter(case_id=case).order_by("id").values_list("viewer", "channel", "basis")
    assert views == [("th_clerk", "api", "actor"), ("dp_county", "api", "supervisor"),
                     ("th_clerk", "web", "actor"), ("dp_county", "web", "supervisor")]  # refusals leave no row


async def test_the_confirming_township_reviewer_becomes_an_actor(api: Api) -> None:
    case = await _accepted_case(api)
    await api.get("th_reviewer", f"/dibao/cases/{case}", 403)
    await api.complete("th_clerk", case, "Task_home_investigation", HOME)
    await api.complete("dp_county", case, "Task_info_check", CHECK_PASS)
    await api.complete("th_clerk", case, "Task_prelim", PRELIM)
    await api.complete("th_village", case, "Task_post_publicity", POST)
    await api.end_publicity()
    assert (await api.get("th_reviewer", f"/dibao/cases/{case}"))["applicant_id_number"] == APPLICANT_ID
    await api.complete("th_reviewer", case, "Task_confirm", APPROVE)
    assert (await api.get("th_reviewer", f"/dibao/cases/{case}"))["decision"] == "approve"  # completed it


async def test_only_dibao_staff_see_the_ledger_notices_and_files(api: Api) -> None:
    """Other staff of the same units (a project manager at the city, an inspector at the county) see no 低保 case,
    not even masked: the ledger, the list API, the notices and the file are refused to them."""
    from engine.models import User
    from web.security import hash_password

    case = await _accepted_case(api)
    from tests.conftest import TEST_PASSWORD

    digest = hash_password(TEST_PASSWORD)
    await User.create(username="city_pm", display_name="市项目管理", org_unit_id="511400", roles=["project_manager"],
                      password_hash=digest)
    await User.create(username="dp_insp", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=digest)
    for outsider in ("city_pm", "dp_insp"):
        listing = await api.client.get("/api/v1/dibao/cases", headers=await api.auth(outsider))
        assert listing.status_code == 403 and "张秀英" not in listing.text
        await api.get(outsider, f"/dibao/cases/{case}", 404)
        await browser_login(api.client, outsider)
        for path in ("/dibao/cases", f"/dibao/cases/{case}", f"/dibao/cases/{case}/notice/accept"):
            r = await api.client.get(path)
            assert r.status_code in (403, 404) and "张秀英" not in r.text, path
        assert 'href="/dibao/cases"' not in (await api.client.get("/inbox")).text  # no 低保 menu entry either
    await browser_login(api.client, "dp_county")  # the county's reviewer still sees it, and its 受理通知书
    assert "张秀英" in (await api.client.get("/dibao/cases")).text
    assert "张秀英" in (await api.client.get(f"/dibao/cases/{case}/notice/accept")).text
