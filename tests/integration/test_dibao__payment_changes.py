"""Payment changes are used: the ledger shows the amount in force after the latest change (已停发 from its date),
the 确认通知书 lists the later changes, and each change has a printable 变更通知书 with both amounts, the date, the
reason and the 复议/诉讼 rights. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import browser_login
from tests.integration.test_dibao__api_scenarios import TH, Api, api_fixture  # noqa: F401 - the `api` fixture
from tests.integration.test_dibao__method_and_correction import approve
from workflows.dibao.models import DibaoCase, PaymentChange, PostAudit
from workflows.dibao.registry import local_date


async def correct(api: Any, csrf: str, case_id: str, **form: str) -> Any:
    audit = await PostAudit.get(case_id=case_id)
    return await api.client.post("/dibao/post-audit", data={"csrf_token": csrf, "audit_id": str(audit.id),
                                                            "outcome": "corrected", **form})


async def test_changes_drive_the_ledger_the_notices_and_a_change_notice(api: Api) -> None:
    adjusted = (await approve(api, TH, "DB-P-1", "th_reviewer"))["id"]
    stopped = (await approve(api, TH, "DB-P-2", "th_reviewer"))["id"]
    case = await DibaoCase.get(instance_id=adjusted)
    assert case.decided_at is not None and local_date(case.decided_at).month == 3  # payment starts 2026-04-01
    for case_id in (adjusted, stopped):  # both under audit (the random draw is tested elsewhere)
        await PostAudit.create(case_id=case_id, county_code="511402", township_code="511402001", period="2026-03",
                               reason="sampled")
    csrf = await browser_login(api.client, "dp_county")
    early = await correct(api, csrf, adjusted, opinion="经营收入漏报,调减金额", change_kind="adjust",
                          new_amount="500", effective_from="2026-03-01")
    assert early.status_code == 422 and "生效日期不能早于保障金起始发放日期 2026-04-01" in early.text
    assert await PaymentChange.all().count() == 0
    assert (await correct(api, csrf, adjusted, opinion="经营收入漏报,调减金额", change_kind="adjust",
                          new_amount="500", effective_from="2026-05-01")).status_code == 303
    assert (await correct(api, csrf, stopped, opinion="家庭人均收入已超过当地标准", change_kind="stop",
                          effective_from="2026-06-01")).status_code == 303

    ledger = (await api.client.get("/dibao/cases?view=closed")).text
    row_adjusted = ledger[ledger.index("DB-P-1"):ledger.index("</tr>", ledger.index("DB-P-1"))]
    row_stopped = ledger[ledger.index("DB-P-2"):ledger.index("</tr>", ledger.index("DB-P-2"))]
    assert "500.00" in row_adjusted and "自 2026-05-01 调整" in row_adjusted and "990.00" not in row_adjusted.split(
        "title=")[0]
    assert "已停发" in row_stopped and "自 2026-06-01" in row_stopped

    notice = (await api.client.get(f"/dibao/cases/{adjusted}/notice")).text
    assert "自 2026 年 4 月起按月发放最低生活保障金 <strong>990.00</strong> 元" in notice
    assert "自 2026 年 5 月 1 日起按月发放 500.00 元" in notice
    change = await PaymentChange.get(case_id=adjusted)
    assert f"/dibao/cases/{adjusted}/changes/{change.id}/notice" in notice

    doc = await api.client.get(f"/dibao/cases/{adjusted}/changes/{change.id}/notice")
    assert doc.status_code == 200
    for text in ("最低生活保障金变更通知书", "由每月 <strong>990.00</strong> 元调整为每月 <strong>500.00</strong> 元",
                 "2026 年 5 月 1 日", "经营收入漏报,调减金额", "申请行政复议", "提起行政诉讼", "东坡区民政局"):
        assert text in doc.text, text
    stop = await PaymentChange.get(case_id=stopped)
    doc = await api.client.get(f"/dibao/cases/{stopped}/changes/{stop.id}/notice")
    assert "最低生活保障金停发通知书" in doc.text and "停止发放" in doc.text and "2026 年 6 月 1 日" in doc.text
    assert "家庭人均收入已超过当地标准" in doc.text and "申请行政复议" in doc.text
    file = (await api.client.get(f"/dibao/cases/{stopped}")).text
    assert "已停发(自 2026-06-01 起)" in file and f"/changes/{stop.id}/notice" in file

    public = (await api.client.get("/dibao/publication")).text  # before the changes take effect
    assert public.count("<td>990.00</td>") == 2 and "<td>500.00</td>" not in public
    api.clock.set(datetime(2026, 5, 1, 0, 30, tzinfo=UTC))  # 08:30 on 1 May in Shanghai: the adjustment applies
    public = (await api.client.get("/dibao/publication")).text
    assert public.count("<td>990.00</td>") == 1 and public.count("<td>500.00</td>") == 1
    api.clock.set(datetime(2026, 6, 1, 0, 30, tzinfo=UTC))  # stopped from 1 June: no longer listed
    public = (await api.client.get("/dibao/publication")).text
    assert "<td>990.00</td>" not in public and public.count("<td>500.00</td>") == 1

    audits = (await api.client.get("/dibao/post-audit")).text  # the audit outcome links its notice
    assert f"/dibao/cases/{adjusted}/changes/{change.id}/notice" in audits

    # A change of another case, a bad id, and a user outside the case's county: no notice.
    assert (await api.client.get(f"/dibao/cases/{adjusted}/changes/{stop.id}/notice")).status_code == 404
    assert (await api.client.get(f"/dibao/cases/{adjusted}/changes/x1/notice")).status_code == 404
    await browser_login(api.client, "wl_clerk")
    assert (await api.client.get(f"/dibao/cases/{adjusted}/changes/{change.id}/notice")).status_code == 404
