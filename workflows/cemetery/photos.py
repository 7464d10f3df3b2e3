"""Photo evidence of the on-site checklist: engine attachments of the checklist task, linked to an item or a plot.

The bytes go through `engine.collab.add_attachment` (content-addressed store outside the workflow state, sha256,
type and size limits, audited); only photos (JPG, PNG) are accepted here. Downloads stay the scoped
`/attachments/{id}` of the collaboration module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import collab
from engine.collab import AttachmentStore
from engine.forms import FieldError, FormValidationError
from engine.models import Attachment, HumanTask, ProcessInstance
from workflows.cemetery.models import CemeteryInspection, InspectionPhoto

PHOTO_EXTENSIONS = ("jpg", "jpeg", "png")
PLOT = "plot"


@dataclass(frozen=True)
class Photo:
    link: InspectionPhoto
    attachment: Attachment

    @property
    def target(self) -> str:
        return self.link.plot_label if self.link.item == PLOT else self.link.item


def check_photo_name(filename: str | None) -> None:
    name = collab.clean_filename(filename)
    if name and collab.extension(name) not in PHOTO_EXTENSIONS:
        raise FormValidationError([FieldError("file", "type", "only JPG or PNG photos are accepted")])


async def link(inspection: CemeteryInspection, task: HumanTask, attachment: Attachment, *, item: str,
               plot_label: str, actor: str, now: datetime) -> InspectionPhoto:
    """Link an attachment of this task to an item or a plot (idempotent)."""
    if str(attachment.task_id) != str(task.id) or not attachment.content_type.startswith("image/"):
        raise FormValidationError([FieldError("attachment_id", "unknown",
                                              "the attachment is not a photo uploaded to this task")])
    row, _ = await InspectionPhoto.get_or_create(
        task_id=str(task.id), attachment_id=attachment.id, item=item, plot_label=plot_label[:100],
        defaults={"inspection": inspection, "uploaded_by": actor, "created_at": now})
    return row


async def add_photo(store: AttachmentStore, inspection: CemeteryInspection, task: HumanTask, *, item: str,
                    plot_label: str, filename: str | None, content: bytes, actor: str,
                    now: datetime) -> InspectionPhoto:
    """Store an uploaded photo as an attachment of the checklist task and link it. FormValidationError (field
    `file`, the engine's codes) when it is not an acceptable photo; nothing is stored then."""
    check_photo_name(filename)
    instance = await ProcessInstance.get(id=task.instance_id)
    attachment, _ = await collab.add_attachment(store, instance=instance, task=task, filename=filename,
                                                content=content, actor=actor, now=now)
    return await link(inspection, task, attachment, item=item, plot_label=plot_label, actor=actor, now=now)


async def _with_attachments(links: list[InspectionPhoto]) -> list[Photo]:
    files = {a.id: a for a in await Attachment.filter(id__in=[p.attachment_id for p in links])}
    return [Photo(p, files[p.attachment_id]) for p in links if p.attachment_id in files]


async def photos_of_task(task_id: str) -> list[Photo]:
    return await _with_attachments(list(await InspectionPhoto.filter(task_id=task_id).order_by("id")))


async def photos_of_record(record_id: int) -> list[Photo]:
    return await _with_attachments(list(await InspectionPhoto.filter(record_id=record_id).order_by("id")))


def by_target(photos: list[Photo]) -> dict[str, list[Photo]]:
    out: dict[str, list[Photo]] = {}
    for p in photos:
        out.setdefault(p.target, []).append(p)
    return out
