"""The register: import with bad rows (XLSX and CSV), export, scoping by authority, CSRF, credit-list rules, KPIs."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook, load_workbook

from engine.models import OrgUnit
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import make_org, seed_so_users
from workflows.social_org import credit, kpi
from workflows.social_org.importing import COLUMNS, import_register
from workflows.social_org.models import CreditListEntry, SocialOrganization, SpotCheckPlan
from workflows.social_org.uscc import make_uscc

HEADERS = [h for h, _ in COLUMNS]
GOOD_1 = make_uscc("1", "511402", 1)
GOOD_2 = make_uscc("3", "511400", 2)
RS_CODE = make_uscc("2", "511421", 3)


def rows() -> list[list[Any]]:
    return [
        [GOOD_1, "东坡区书法家协会", "社会团体", "511402", "东坡区文联", "2019-04-02", "张三", "028-1", "东坡区"],
        [GOOD_1[:17] + ("1" if GOOD_1[17] != "1" else "2"), "校验位错", "社会团体", "511402", "", "2019-04-02"],
        [GOOD_2, "眉山市慈善基金会", "基金会", "511400", "", date(2012, 9, 1), "李四", "", ""],
        [make_uscc("2", "511402", 4), "类型不符的协会", "社会团体", "511402", "", "2019-01-01"],
        [make_uscc("1", "511402", 5), "", "社团", "599999", "", "明天"],
        [GOOD_1, "重复行", "社会团体", "511402", "", "2019-04-02"],
        [None, None, None, None, None, None],
        [RS_CODE, "仁寿县养老院", "民办非企业单位", "511421", "", "2020/3/4"],
    ]


def xlsx(data: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in data:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_import_keeps_good_rows_and_reports_bad_ones(engine: Engine) -> None:
    report = await import_register("register.xlsx", xlsx(rows()), scope_path="/511400/", today=date(2026, 3, 2))
    assert (report.created, report.updated) == (3, 0)
    by_row = dict(report.errors)
    assert sorted(by_row) == [3, 5, 6, 7]
    assert by_row[3] == ["统一社会信用代码校验位错误"]
    assert "与组织类型「社会团体」(应为 1)不符" in by_row[5][0]
    assert set(by_row[6]) == {"组织类型应为 社会团体、民办非企业单位 或 基金会", "请填写社会组织名称(2-200 字)",
                              "登记管理机关代码无效或不在您的管理范围内", "登记日期格式无效(应为 YYYY-MM-DD)"}
    assert by_row[7] == ["统一社会信用代码与第 2 行重复"]
    org = await SocialOrganization.get(uscc=GOOD_1)
    assert (org.authority_code, org.authority_path, org.supervisor_unit) == ("511402", "/511400/511402/", "东坡区文联")
    assert (await SocialOrganization.get(uscc=RS_CODE)).registration_date == date(2020, 3, 4)
    # a county importer cannot touch another county's registration, and re-import updates its own
    csv_text = (",".join(HEADERS) + "\n" + f"{RS_CODE},改名,民办非企业单位,511402,,2020-03-04\n"
                f"{GOOD_1},东坡区书法家协会(更名),社会团体,511402,,2019-04-02\n")
    again = await import_register("again.csv", csv_text.encode("gb18030"), scope_path="/511400/511402/",
                                  today=date(2026, 3, 2))
    assert (again.created, again.updated) == (0, 1)
    assert again.errors == [(2, ["该统一社会信用代码已由其他登记管理机关登记,不能修改"])]
    assert (await SocialOrganization.get(uscc=GOOD_1)).name == "东坡区书法家协会(更名)"


async def test_import_page_template_and_export(client: Any, engine: Engine, password_hash: str) -> None:
    await seed_so_users(password_hash)
    csrf = await browser_login(client, "so_city")
    template = await client.get("/social-org/orgs/template.xlsx")
    assert template.status_code == 200
    assert [c.value for c in load_workbook(io.BytesIO(template.content)).active[1]] == HEADERS
    wrong = await client.post("/social-org/orgs/import", data={"csrf_token": csrf},
                              files={"file": ("x.txt", b"hello", "text/plain")})
    assert wrong.status_code == 422 and "只支持 .xlsx 或 .csv 文件" in wrong.text
    r = await client.post("/social-org/orgs/import", data={"csrf_token": csrf},
                          files={"file": ("register.xlsx", xlsx(rows()), "application/octet-stream")})
    assert r.status_code == 200 and "新增 <strong>3</strong>" in r.text and "第 3 行" in r.text
    exported = await client.get("/social-org/orgs/export.xlsx")
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == sorted([GOOD_1, GOOD_2, RS_CODE])


async def test_county_user_sees_only_its_own_registrations(client: Any, engine: Engine, password_hash: str) -> None:
    await seed_so_users(password_hash)
    mine = await make_org("511402", name="东坡区围棋协会")
    theirs = await make_org("511421", name="仁寿县钓鱼协会")
    await browser_login(client, "so_dp")
    listing = await client.get("/social-org/orgs")
    assert mine.name in listing.text and theirs.name not in listing.text
    assert (await client.get(f"/social-org/orgs/{theirs.id}")).status_code == 404
    assert (await client.get(f"/social-org/orgs/{mine.id}")).status_code == 200
    exported = await client.get("/social-org/orgs/export.xlsx")
    codes = [r[0] for r in load_workbook(io.BytesIO(exported.content)).active.iter_rows(min_row=2, values_only=True)]
    assert codes == [mine.uscc]
    found = await client.get("/social-org/orgs", params={"q": theirs.uscc})
    assert theirs.name not in found.text


async def test_forms_require_csrf_and_roles(client: Any, engine: Engine, password_hash: str) -> None:
    await seed_so_users(password_hash)
    csrf = await browser_login(client, "so_dp")
    data = {"uscc": make_uscc("1", "511402", 77), "name": "东坡区摄影家协会", "org_type": "social_group",
            "authority_code": "511402", "registration_date": "2021-05-05"}
    assert (await client.post("/social-org/orgs/new", data=data)).status_code == 403
    assert (await client.post("/social-org/campaigns", data={"year": "2025", "authority_code": "511402"}
                              )).status_code == 403
    assert not await SocialOrganization.exists()
    bad = await client.post("/social-org/orgs/new", data={**data, "csrf_token": csrf, "authority_code": "511421"})
    assert bad.status_code == 422 and "不在您的管理范围内" in bad.text
    ok = await client.post("/social-org/orgs/new", data={**data, "csrf_token": csrf})
    assert ok.status_code == 303
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await browser_login(client, "th_clerk")  # no social-organization role
    assert (await client.get("/social-org/orgs")).status_code == 403
    assert (await client.post("/social-org/orgs/new", data={**data, "csrf_token": csrf})).status_code == 403


async def test_credit_list_transitions(engine: Engine) -> None:
    org = await make_org("511402")
    assert await credit.list_abnormal(org.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 7, 2))
    assert not await credit.list_abnormal(org.id, "重复", "annual_report:2025", date(2026, 7, 3))
    assert await credit.list_abnormal(org.id, "住所无法联系", "unreachable", date(2026, 8, 1))
    first, second = await CreditListEntry.filter(organization_id=org.id).order_by("entered_on")
    after = await credit.remove_abnormal(first.id, "已补报年度工作报告", date(2026, 9, 1))
    assert (after.credit_status, after.abnormal_since, after.abnormal_reason) == ("abnormal", date(2026, 8, 1),
                                                                                  "住所无法联系")
    assert await credit.sweep(date(2028, 7, 31)) == (0, 0)  # two years after 8-1 not yet reached
    assert await credit.sweep(date(2028, 8, 1)) == (1, 0)
    org = await SocialOrganization.get(id=org.id)
    assert (org.credit_status, org.serious_since) == ("serious", date(2028, 8, 1))
    assert (await CreditListEntry.get(id=second.id)).removal_reason == "转入严重违法失信名单"
    try:
        await credit.remove_serious_early(org.id, date(2029, 1, 1))
    except credit.CreditRuleError as exc:
        assert "未满 2 年" in str(exc)
    else:
        raise AssertionError("early removal from the serious list must be refused")
    assert await credit.sweep(date(2030, 8, 1)) == (0, 1)
    org = await SocialOrganization.get(id=org.id)
    assert org.credit_status == "normal"
    history = await CreditListEntry.filter(organization_id=org.id).order_by("id")
    assert [(e.list_type, e.removed_on is not None) for e in history] == [("abnormal", True), ("abnormal", True),
                                                                          ("serious", True)]
    try:
        await credit.remove_abnormal(first.id, "再次", date(2030, 9, 1))
    except credit.CreditRuleError as exc:
        assert "已移出" in str(exc)


async def test_spot_check_and_joint_ratios_against_targets(engine: Engine) -> None:
    for _ in range(50):
        await make_org("511402")
    city = await OrgUnit.get(code="511400")
    assert (await kpi.spot_check_ratio(2026, city.path)).value == 0
    for plan_type, k in (("random", 2), ("joint", 3)):
        await SpotCheckPlan.create(year=2026, authority_code="511402", authority_path="/511400/511402/",
                                   plan_type=plan_type, ratio=0.04, k=k, created_by="t")
    spot, joint = await kpi.spot_check_ratio(2026, city.path), await kpi.joint_check_ratio(2026, city.path)
    assert (spot.value, spot.met, spot.percent) == (0.04, True, "4.0%")
    assert (joint.value, joint.met) == (0.06, True)
    assert not (await kpi.joint_check_ratio(2025, city.path)).met
    assert (await kpi.inspection_rate(2026)).value is None and (await kpi.inspection_rate(2026)).percent == "—"
