"""The spot-check checklist's evidence item (template version 2): photos / files uploaded on the phone page are
stored as attachments of the checklist task (outside the workflow state, by content hash, type and size checked,
download scoped by org unit), the record's answer lists their ids; a refused form keeps the files already
uploaded; records made with version 1 keep version 1."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.clock import FakeClock
from engine.models import Attachment, HumanTask, OrgUnit
from engine.runtime import Engine
from tests.conftest import browser_login
from tests.social_org_helpers import (
    JPEG,
    complete,
    deploy_social_org,
    make_inspectors,
    make_org,
    seed_so_users,
)
from workflows.common.models import ChecklistRecord, ChecklistTemplate
from workflows.social_org.models import SpotCheckTarget
from workflows.social_org.spot_check import (
    CHECKLIST_CODE,
    CHECKLIST_V1,
    SpotCheckError,
    checklist_template,
    create_plan,
    record_checklist,
)

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
ALL_YES = {f"{c}__ok": "yes" for c in ("annual_report", "disclosure", "governance", "finance", "activities")}


@pytest.fixture
def engine(engine: Engine) -> Engine:
    engine.clock = FakeClock(NOW)
    return engine


async def _target(engine: Engine, password_hash: str, n: int = 1) -> list[SpotCheckTarget]:
    await deploy_social_org(engine)
    await seed_so_users(password_hash)
    for i in range(n):
        await make_org("511402", name=f"眉山市东坡区佐证测试协会{i + 1}")
    await make_inspectors("511402", 2)
    unit = await OrgUnit.get(code="511402")
    plan = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=1.0, actor="so_dp")
    for t in plan.targets:
        await complete(engine, t.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕5号",
                                                              "notice_date": "2026-03-09"})
    return plan.targets


async def test_a_refused_form_keeps_the_photo_and_the_record_references_it(client: Any, engine: Engine,
                                                                          password_hash: str) -> None:
    target = (await _target(engine, password_hash))[0]
    url = f"/social-org/spot-checks/targets/{target.id}/checklist"
    csrf = await browser_login(client, "insp_dp")
    form = await client.get(url)
    assert 'enctype="multipart/form-data"' in form.text and 'name="evidence"' in form.text

    # the 财务 item is left open: refused, but the photo is stored at once on the checklist task
    r = await client.post(url, data={"csrf_token": csrf, **{k: v for k, v in ALL_YES.items() if "finance" not in k}},
                          files={"evidence": ("账簿.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 422 and "请选择 符合 或 不符合" in r.text
    photo = await Attachment.get()
    task = await HumanTask.get(instance_id=target.instance_id, bpmn_id="Task_checklist")
    assert (str(photo.instance_id), str(photo.task_id)) == (target.instance_id, str(task.id))
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest() and photo.content_type == "image/jpeg"
    assert photo.uploaded_by == "insp_dp"
    assert f'name="evidence__ids" value="{photo.id}" checked' in r.text and "已上传:账簿.jpg" in r.text
    assert await ChecklistRecord.all().count() == 0

    # resubmitted with the kept photo only: no second upload needed
    done = await client.post(url, data={"csrf_token": csrf, **ALL_YES, "evidence__ids": str(photo.id)})
    assert done.status_code == 303, done.text
    record = await ChecklistRecord.get()
    assert record.answers["evidence"] == [photo.id] and record.passed is True
    assert (await ChecklistTemplate.get(id=record.template_id)).version == 2
    assert await Attachment.all().count() == 1
    page = await client.get(url)
    assert f'href="/attachments/{photo.id}"' in page.text and "检查表第 2 版" in page.text
    download = await client.get(f"/attachments/{photo.id}")
    assert download.status_code == 200 and download.content == JPEG

    # another county's registrar cannot download it
    await client.post("/logout", data={"csrf_token": csrf})
    await browser_login(client, "so_rs")
    assert (await client.get(f"/attachments/{photo.id}")).status_code == 403


async def test_evidence_is_required_and_bad_files_are_refused_by_name(client: Any, engine: Engine,
                                                                     password_hash: str) -> None:
    target = (await _target(engine, password_hash))[0]
    url = f"/social-org/spot-checks/targets/{target.id}/checklist"
    csrf = await browser_login(client, "insp_dp")
    none = await client.post(url, data={"csrf_token": csrf, **ALL_YES})
    assert none.status_code == 422 and "请拍照或上传至少 1 个佐证材料" in none.text
    assert 'value="yes" checked' in none.text  # the answers are kept

    bad = await client.post(url, data={"csrf_token": csrf, **ALL_YES}, files=[
        ("evidence", ("假照片.jpg", b"not a jpeg at all", "image/jpeg")),
        ("evidence", ("报告.docx", b"PK\x03\x04", "application/octet-stream")),
        ("evidence", ("空.png", b"", "image/png")),
        ("evidence", ("好.jpg", JPEG, "image/jpeg")),
    ])
    assert bad.status_code == 422
    error = re.search(r'id="item-evidence".*?<p class="field-error">(.*?)</p>', bad.text, re.S)
    assert error is not None
    assert "「假照片.jpg」文件内容与扩展名不符" in error.group(1)
    assert "「报告.docx」不是允许的类型" in error.group(1)
    assert "「空.png」文件为空" in error.group(1)
    assert [a.filename for a in await Attachment.all()] == ["好.jpg"]  # only the good one is stored and kept
    assert "已上传:好.jpg" in bad.text
    assert await ChecklistRecord.all().count() == 0


async def test_evidence_ids_must_belong_to_the_target(client: Any, engine: Engine, password_hash: str) -> None:
    first, second = await _target(engine, password_hash, n=2)
    csrf = await browser_login(client, "insp_dp")
    r = await client.post(f"/social-org/spot-checks/targets/{first.id}/checklist",
                          data={"csrf_token": csrf, **ALL_YES, "finance__ok": "no"},
                          files={"evidence": ("a.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 422
    foreign = await Attachment.get()
    # a forged id of the other target's photo is ignored by the page and refused by record_checklist
    r = await client.post(f"/social-org/spot-checks/targets/{second.id}/checklist",
                          data={"csrf_token": csrf, **ALL_YES, "evidence__ids": str(foreign.id)})
    assert r.status_code == 422 and "请拍照或上传至少 1 个佐证材料" in r.text
    task = await HumanTask.get(instance_id=second.instance_id, bpmn_id="Task_checklist")
    answers = {c: {"ok": True, "note": ""} for c in ("annual_report", "disclosure", "governance", "finance",
                                                     "activities")}
    with pytest.raises(SpotCheckError, match="佐证材料须是本检查对象"):
        await record_checklist(engine, second, str(task.id), {**answers, "evidence": [foreign.id]}, "insp_dp")
    assert await ChecklistRecord.all().count() == 0


async def test_records_keep_the_template_version_they_were_made_with(engine: Engine, password_hash: str) -> None:
    v1 = await ChecklistTemplate.create(code=CHECKLIST_CODE, version=1, title=CHECKLIST_V1["title"],
                                        body=CHECKLIST_V1)
    target = (await _target(engine, password_hash))[0]
    old = await ChecklistRecord.create(template_id=v1.id, subject_type="social_org_spot_check_target",
                                       subject_id="old", inspector="x", answers={}, findings=[], passed=True)
    current = await checklist_template()
    assert current.version == 2 and any(i["kind"] == "evidence" for i in current.body["items"])
    assert (await checklist_template()).id == current.id  # seeded once
    assert await ChecklistTemplate.filter(code=CHECKLIST_CODE).count() == 2
    assert (await ChecklistRecord.get(id=old.id)).template_id == v1.id
    assert not any(i["kind"] == "evidence" for i in (await ChecklistTemplate.get(id=v1.id)).body["items"])
    assert target.checklist_record_id is None
