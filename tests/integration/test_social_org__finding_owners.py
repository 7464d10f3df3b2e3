"""A finding owned by an org unit: the users of that unit (and of units whose scope contains it) with a staff role
see it in their own list and report progress (note + evidence file); other townships, other counties and users
without a staff role do not; closing and editing stay with the registration authority."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from engine.audit import verify_chain
from engine.models import Attachment, AuditEvent, User
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.integration.test_social_org__finding_edit import NOW, _finding
from tests.integration.test_social_org__finding_edit import engine as engine  # noqa: F401 (the clocked fixture)
from tests.social_org_helpers import JPEG
from workflows.common import findings as rules
from workflows.common.models import FindingProgress, FindingRecord

# tests/conftest.py WEB_USERS: th_reviewer (通惠街道, the owner unit), dp_county (东坡区, whose scope contains it),
# dsq_clerk (大石桥街道, another township of the county), wl_clerk / rs_county (仁寿县, another county); plus:
OWNER_USERS = [
    ("th_vil", "通惠街道社会组织填报", "511402001", ["so_reporter"]),  # in the owner unit, no staff role
]


async def _owned(client: Any, engine: Engine, password_hash: str) -> FindingRecord:
    finding = await _finding(client, engine, password_hash)
    for username, name, org, roles in OWNER_USERS:
        await User.create(username=username, display_name=name, org_unit_id=org, roles=roles,
                          password_hash=password_hash)
    return await rules.update_finding(finding.id, actor="so_dp", owner="通惠街道", owner_unit_code="511402001",
                                      corrective_action="通惠街道督促基金会压减行政支出", due_date=date(2026, 5, 1),
                                      today=date(2026, 3, 10), now=NOW)


async def _as(client: Any, username: str) -> str:
    client.cookies.clear()  # a fresh session
    return await browser_login(client, username)


@pytest.mark.parametrize("username, sees", [("th_reviewer", True), ("dp_county", True), ("dsq_clerk", False),
                                            ("wl_clerk", False), ("rs_county", False)])
async def test_who_sees_a_finding_owned_by_a_township(client: Any, engine: Engine, password_hash: str,
                                                     username: str, sees: bool) -> None:
    finding = await _owned(client, engine, password_hash)
    await _as(client, username)
    page = await client.get("/social-org/findings")
    assert page.status_code == 200
    assert (f'id="finding-{finding.id}"' in page.text) is sees
    assert ("报送整改进展" in page.text) is sees  # those who see it as owner may report
    assert "复查通过,关闭问题" not in page.text and "修改责任方" not in page.text  # never the authority's forms
    overdue = await client.get("/social-org/findings?status=all")
    assert (f'id="finding-{finding.id}"' in overdue.text) is sees


async def test_a_user_of_the_unit_without_a_staff_role_has_no_findings_list(client: Any, engine: Engine,
                                                                          password_hash: str) -> None:
    finding = await _owned(client, engine, password_hash)
    csrf = await _as(client, "th_vil")
    assert (await client.get("/social-org/findings")).status_code == 403
    r = await client.post(f"/social-org/findings/{finding.id}/progress", data={"csrf_token": csrf, "note": "已整改"})
    assert r.status_code == 403
    assert not await FindingProgress.exists()


async def test_the_owner_reports_progress_with_evidence_and_the_authority_closes(
        client: Any, engine: Engine, password_hash: str) -> None:
    finding = await _owned(client, engine, password_hash)
    csrf = await _as(client, "th_reviewer")
    url = f"/social-org/findings/{finding.id}/progress"
    blank = await client.post(url, data={"csrf_token": csrf, "note": " ", "back": "/social-org/findings"},
                              files={"evidence": ("整改照片.jpg", JPEG, "image/jpeg")})
    assert blank.status_code == 303
    assert "请填写整改进展说明" in (await client.get(blank.headers["location"])).text
    assert not await FindingProgress.exists() and not await Attachment.filter(filename="整改照片.jpg").exists()

    r = await client.post(url, data={"csrf_token": csrf, "note": "已约谈基金会负责人,行政支出压减方案已上报"},
                          files={"evidence": ("整改照片.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 303
    progress = await FindingProgress.get()
    assert (progress.finding_id, progress.reported_by, progress.reported_unit) == \
        (finding.id, "th_reviewer", "511402001")
    attachment = await Attachment.get(id=progress.evidence_attachment_id)
    record = await finding.record
    assert str(attachment.instance_id) == record.instance_id and attachment.filename == "整改照片.jpg"
    event = await AuditEvent.get(action="finding.progress")
    assert event.actor == "th_reviewer" and event.payload["finding_id"] == finding.id
    assert (await FindingRecord.get(id=finding.id)).status == "open"  # progress does not close it
    page = await client.get("/social-org/findings")
    evidence = f"/social-org/findings/{finding.id}/evidence/{attachment.id}"
    assert "通惠审核:已约谈基金会负责人" in page.text and evidence in page.text  # display name, own download link
    download = await client.get(evidence)  # the case is outside the township's scope: served through the finding
    assert download.status_code == 200 and download.content == JPEG
    assert (await client.get(f"/attachments/{attachment.id}")).status_code == 403

    # the owner can neither close nor change the requirement
    denied = await client.post(f"/social-org/findings/{finding.id}/close", data={"csrf_token": csrf, "note": "完成"})
    assert denied.status_code == 403
    denied = await client.post(f"/social-org/findings/{finding.id}/edit", data={
        "csrf_token": csrf, "owner_choice": "organization", "corrective_action": "改为其他", "due_date": "2026-05-01"})
    assert denied.status_code == 403
    assert (await FindingRecord.get(id=finding.id)).status == "open"

    # another township cannot report on it: it does not exist for them
    csrf = await _as(client, "dsq_clerk")
    assert (await client.post(url, data={"csrf_token": csrf, "note": "我们也整改了"})).status_code == 404
    assert (await client.get(evidence)).status_code == 404

    # the authority sees the report and closes
    csrf = await _as(client, "so_dp")
    page = await client.get("/social-org/findings")
    assert "已约谈基金会负责人" in page.text and "报送整改进展</button>" not in page.text
    r = await client.post(f"/social-org/findings/{finding.id}/close", data={"csrf_token": csrf, "note": "复查属实"})
    assert r.status_code == 303 and (await FindingRecord.get(id=finding.id)).status == "closed"
    with pytest.raises(rules.FindingError, match="已关闭"):
        await rules.report_progress(finding.id, actor="th_reviewer", unit_code="511402001", note="补充", now=NOW)
    assert (await verify_chain()).broken_at is None


async def test_progress_evidence_must_belong_to_the_check(client: Any, engine: Engine, password_hash: str) -> None:
    finding = await _owned(client, engine, password_hash)
    foreign = await Attachment.exclude(instance_id=(await finding.record).instance_id).first()
    bad_id = foreign.id if foreign else 999_999
    with pytest.raises(rules.FindingError, match="佐证材料须是本检查办理流程中上传的文件"):
        await rules.report_progress(finding.id, actor="th_reviewer", unit_code="511402001", note="已整改", now=NOW,
                                    evidence_attachment_id=bad_id)
    assert not await FindingProgress.exists()
