"""Attachments: stored by content hash outside the database, type and size limits with Chinese errors (nothing
stored), deduplicated, downloadable only inside the case's scope — through the pages and the JSON API."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engine.models import Attachment, AuditEvent
from engine.runtime import Engine
from tests.collab_helpers import start_review
from tests.conftest import api_token, browser_login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def stored_files(web_app: Any) -> list[Path]:
    root: Path = web_app.state.ctx.attachments.root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def upload(client: Any, url: str, csrf: str | None, name: str, content: bytes,
                 ctype: str = "application/octet-stream") -> Any:
    data = {"csrf_token": csrf} if csrf else {}
    return await client.post(url, data=data, files={"file": (name, content, ctype)})


async def test_upload_stores_by_hash_and_deduplicates(client: Any, engine: Engine, web_app: Any) -> None:
    instance, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    r = await upload(client, f"/tasks/{task.id}/attachments", csrf, "入户调查表.pdf", PDF, "application/pdf")
    assert r.status_code == 303, r.text
    digest = hashlib.sha256(PDF).hexdigest()
    row = await Attachment.get(task_id=task.id)
    assert (row.filename, row.sha256, row.size, row.content_type, row.uploaded_by) == (
        "入户调查表.pdf", digest, len(PDF), "application/pdf", "th_clerk")
    path = web_app.state.ctx.settings.data_dir / "attachments" / digest[:2] / digest
    assert path.read_bytes() == PDF
    event = await AuditEvent.get(action="attachment.added")
    assert event.payload["sha256"] == digest and event.task_id == str(task.id)

    # The same bytes on the same task: no second row. On the case itself: a row, but still one file on disk.
    r = await upload(client, f"/tasks/{task.id}/attachments", csrf, "副本.pdf", PDF)
    assert r.status_code == 303
    assert "该文件已上传过" in (await client.get(f"/tasks/{task.id}")).text
    r = await upload(client, f"/instances/{instance.id}/attachments", csrf, "办件材料.pdf", PDF)
    assert r.status_code == 303
    assert await Attachment.filter(sha256=digest).count() == 2
    assert stored_files(web_app) == [path]

    page = await client.get(f"/tasks/{task.id}")
    assert "入户调查表.pdf" in page.text and digest[:12] in page.text
    assert 'enctype="multipart/form-data"' in page.text


async def test_refused_uploads_say_why_in_chinese_and_store_nothing(client: Any, engine: Engine,
                                                                    web_app: Any) -> None:
    instance, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    url = f"/tasks/{task.id}/attachments"
    cases = [
        ("病毒.exe", b"MZ\x90\x00", "不支持该文件类型"),
        ("无扩展名", PDF, "不支持该文件类型"),
        ("改名.pdf", PNG, "文件内容与扩展名不符"),
        ("假的.docx", PDF, "文件内容与扩展名不符"),
        ("空.pdf", b"", "文件为空"),
        ("超大.pdf", PDF + b"0" * (10 * 1024 * 1024), "单个附件不能超过 10 MB"),
    ]
    for name, content, message in cases:
        r = await upload(client, url, csrf, name, content)
        assert r.status_code == 422, name
        assert message in r.text, name
    r = await client.post(url, data={"csrf_token": csrf})
    assert r.status_code == 422 and "请选择要上传的文件" in r.text
    r = await upload(client, f"/instances/{instance.id}/attachments", csrf, "病毒.exe", b"MZ")
    assert r.status_code == 422 and "不支持该文件类型" in r.text
    assert await Attachment.all().count() == 0
    assert await AuditEvent.filter(action="attachment.added").count() == 0
    assert stored_files(web_app) == []


async def test_upload_just_at_the_limit_passes_and_office_files_are_typed(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    exact = PDF + b"0" * (10 * 1024 * 1024 - len(PDF))
    assert (await upload(client, f"/tasks/{task.id}/attachments", csrf, "正好.pdf", exact)).status_code == 303
    assert (await upload(client, f"/tasks/{task.id}/attachments", csrf, "报告.docx", docx_bytes())).status_code == 303
    types = dict(await Attachment.all().values_list("filename", "content_type"))
    assert types == {"正好.pdf": "application/pdf",
                     "报告.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


async def test_upload_needs_csrf_and_scope(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    await browser_login(client, "th_clerk")
    assert (await upload(client, f"/tasks/{task.id}/attachments", None, "a.pdf", PDF)).status_code == 403
    csrf = await browser_login(client, "wl_clerk")
    assert (await upload(client, f"/tasks/{task.id}/attachments", csrf, "a.pdf", PDF)).status_code == 403
    assert await Attachment.all().count() == 0


async def test_download_is_checked_against_the_case_scope(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    csrf = await browser_login(client, "th_clerk")
    await upload(client, f"/tasks/{task.id}/attachments", csrf, "入户 调查\"表.pdf", PDF)
    row = await Attachment.get(task_id=task.id)
    for username in ("th_clerk", "th_reviewer", "dp_county", "city_mgr"):
        await browser_login(client, username)
        r = await client.get(f"/attachments/{row.id}")
        assert r.status_code == 200, username
        assert r.content == PDF and r.headers["content-type"] == "application/pdf"
        assert r.headers["x-content-type-options"] == "nosniff"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote(row.filename)}" in disposition
    for username in ("dsq_clerk", "wl_clerk", "rs_county"):  # another township, another county
        await browser_login(client, username)
        r = await client.get(f"/attachments/{row.id}")
        assert r.status_code == 403 and "无权下载" in r.text, username
    assert (await client.get(f"/attachments/{row.id + 1000}")).status_code == 404


async def test_api_upload_and_download(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    headers = await api_token(client, "th_clerk")
    url = f"/api/v1/tasks/{task.id}/attachments"
    r = await client.post(url, files={"file": ("照片.png", PNG, "image/png")}, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["filename"], body["sha256"], body["size"], body["content_type"]) == (
        "照片.png", hashlib.sha256(PNG).hexdigest(), len(PNG), "image/png")
    again = await client.post(url, files={"file": ("again.png", PNG, "image/png")}, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    bad = await client.post(url, files={"file": ("x.gif", b"GIF89a", "image/gif")}, headers=headers)
    assert bad.status_code == 422
    assert [(f["field"], f["code"]) for f in bad.json()["error"]["fields"]] == [("file", "type")]
    missing = await client.post(url, data={"note": "no file"}, headers=headers)
    assert missing.status_code == 422 and missing.json()["error"]["fields"][0]["code"] == "required"

    r = await client.get(body["download_url"], headers=headers)
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    outsider = await api_token(client, "wl_clerk")
    r = await client.get(body["download_url"], headers=outsider)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await client.post(url, files={"file": ("x.png", PNG, "image/png")}, headers=outsider)
    assert r.status_code == 403
    assert (await client.get("/api/v1/attachments/abc", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/attachments/99999999999", headers=headers)).status_code == 404
    assert (await client.get(body["download_url"])).status_code == 401


async def test_ids_that_cannot_exist_are_404_on_both_databases(client: Any, engine: Engine) -> None:
    csrf = await browser_login(client, "admin")
    for url in ("/tasks/not-a-uuid/attachments", "/instances/not-a-uuid/attachments"):
        assert (await upload(client, url, csrf, "a.pdf", PDF)).status_code == 404, url
    for url in ("/tasks/not-a-uuid/comments", "/instances/not-a-uuid/comments", "/tasks/not-a-uuid/reassign",
                "/tasks/not-a-uuid/delegate", "/tasks/not-a-uuid/resolve"):
        assert (await client.post(url, data={"csrf_token": csrf, "body": "x"})).status_code == 404, url
    headers = await api_token(client, "admin")
    r = await client.post("/api/v1/tasks/not-a-uuid/attachments", files={"file": ("a.pdf", PDF)}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
