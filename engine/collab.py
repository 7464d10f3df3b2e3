"""Working a case together: comments (审批意见), attachments and in-app notifications.

    Comment       text on an instance or one of its tasks; audited as comment.added in the same transaction
    Attachment    metadata row + bytes stored once per content hash, outside the database and the workflow state:
                  <root>/<sha256[:2]>/<sha256>; type allow-list checked on the extension AND the content
    Notification  one row per recipient; e-mail (if any) is sent by a sink the engine calls after commit

Reassign / delegate / resolve / escalate change the task index and live next to claim in `engine.runtime`.
Errors users can meet are `FormValidationError`s with stable codes; the web layer words them in Chinese.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from engine.audit import PendingEvent, append_events
from engine.forms import FieldError, FormValidationError
from engine.models import Attachment, Comment, HumanTask, Notification, ProcessInstance

MAX_COMMENT = 2000
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


# -- comments --------------------------------------------------------------------------------------

def clean_comment(body: str | None, field: str = "body") -> str:
    text = (body or "").replace("\x00", "").strip()
    if not text:
        raise FormValidationError([FieldError(field, "required", f"{field} must not be empty")])
    if len(text) > MAX_COMMENT:
        raise FormValidationError([FieldError(field, "maxLength", f"{field} must be at most {MAX_COMMENT} characters")])
    return text


async def create_comment(conn: BaseDBAsyncClient, *, instance_id: str, task_id: str | None, author: str, body: str,
                         kind: str, now: datetime) -> tuple[Comment, PendingEvent]:
    """Insert a comment inside the caller's transaction; returns it and its audit event (for the caller to append)."""
    row = await Comment.create(instance_id=instance_id, task_id=task_id, author=author, kind=kind, body=body,
                               created_at=now, using_db=conn)
    return row, PendingEvent(author, "comment.added", instance_id, task_id,
                             {"comment_id": row.id, "kind": kind, "body": body})


async def add_comment(*, instance: ProcessInstance, task: HumanTask | None, author: str, body: str | None,
                      now: datetime) -> Comment:
    """A comment on the case (task None) or on one of its tasks: one transaction with its audit event."""
    text = clean_comment(body)
    async with in_transaction() as conn:
        row, event = await create_comment(conn, instance_id=str(instance.id), task_id=str(task.id) if task else None,
                                          author=author, body=text, kind="comment", now=now)
        await append_events([event], now, conn)
    return row


async def has_opinion(task_id: str, author: str) -> bool:
    return await Comment.filter(task_id=task_id, author=author).exists()


# -- attachments -----------------------------------------------------------------------------------

def _is_zip_with(member: str) -> Callable[[bytes], bool]:
    def check(content: bytes) -> bool:
        if not content.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return member in archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False

    return check


@dataclass(frozen=True)
class FileType:
    content_type: str
    matches: Callable[[bytes], bool]  # does the content look like this type (magic bytes / zip layout)?


FILE_TYPES: dict[str, FileType] = {
    "pdf": FileType("application/pdf", lambda b: b.startswith(b"%PDF-")),
    "jpg": FileType("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    "jpeg": FileType("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    "png": FileType("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "docx": FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     _is_zip_with("word/document.xml")),
    "xlsx": FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     _is_zip_with("xl/workbook.xml")),
}
CONTENT_TYPES = sorted({t.content_type for t in FILE_TYPES.values()})


def clean_filename(raw: str | None) -> str:
    """The name as shown and offered on download: no directories, no control characters, at most 255 chars."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def extension(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


class AttachmentStore:
    """Content-addressed files under `root`; a file is written once, atomically, whatever uploads it."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def check(self, filename: str, content: bytes) -> FileType:
        """Raise FormValidationError (field `file`) unless the upload is an allowed, non-empty, small enough file."""
        if not filename:
            raise FormValidationError([FieldError("file", "required", "a file is required")])
        ext = extension(filename)
        kind = FILE_TYPES.get(ext)
        if kind is None:
            raise FormValidationError([FieldError("file", "type", f"file type {ext or '(none)'!r} is not allowed; "
                                                                  f"allowed: {', '.join(sorted(FILE_TYPES))}")])
        if not content:
            raise FormValidationError([FieldError("file", "empty", "the file is empty")])
        if len(content) > self.max_bytes:
            raise FormValidationError([FieldError("file", "too_large", f"the file has {len(content)} bytes; "
                                                                       f"the limit is {self.max_bytes}")])
        if not kind.matches(content):
            raise FormValidationError([FieldError("file", "content_mismatch",
                                                  f"the content is not a {ext} file")])
        return kind

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest  # same bytes already stored: deduplicated
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{digest}.{secrets.token_hex(4)}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return digest


async def add_attachment(store: AttachmentStore, *, instance: ProcessInstance, task: HumanTask | None,
                         filename: str | None, content: bytes, actor: str, now: datetime) -> tuple[Attachment, bool]:
    """Check, store and record an upload; returns (row, created). The same bytes on the same task (or case) again
    return the existing row. Nothing is written when the check fails. The file is stored before its row commits,
    so a row never points at a missing file (a failed commit leaves an unreferenced file, harmless)."""
    name = clean_filename(filename)
    kind = store.check(name, content)
    digest = hashlib.sha256(content).hexdigest()
    task_id = str(task.id) if task else None
    existing = await Attachment.filter(instance_id=str(instance.id), task_id=task_id, sha256=digest).first()
    if existing is not None:
        return existing, False
    store.put(content)
    async with in_transaction() as conn:
        row = await Attachment.create(instance_id=str(instance.id), task_id=task_id, org_path=instance.org_path,
                                      filename=name, content_type=kind.content_type, size=len(content),
                                      sha256=digest, uploaded_by=actor, created_at=now, using_db=conn)
        await append_events([PendingEvent(actor, "attachment.added", str(instance.id), task_id,
                                          {"attachment_id": row.id, "filename": name, "sha256": digest,
                                           "size": len(content), "content_type": kind.content_type})], now, conn)
    return row, True


# -- notifications ---------------------------------------------------------------------------------

async def notify(conn: BaseDBAsyncClient, now: datetime, recipients: Iterable[str], kind: str, title: str,
                 body: str = "", link: str = "") -> list[Notification]:
    """Create one notification per recipient inside the caller's transaction."""
    rows = []
    for username in dict.fromkeys(recipients):
        rows.append(await Notification.create(recipient=username, kind=kind, title=title[:200], body=body,
                                              link=link[:255], created_at=now, using_db=conn))
    return rows


async def unread_count(username: str) -> int:
    return await Notification.filter(recipient=username, read_at=None).count()


async def mark_read(username: str, notification_id: int, now: datetime) -> bool:
    return await Notification.filter(id=notification_id, recipient=username, read_at=None).update(read_at=now) == 1


async def mark_all_read(username: str, now: datetime) -> int:
    return await Notification.filter(recipient=username, read_at=None).update(read_at=now)
