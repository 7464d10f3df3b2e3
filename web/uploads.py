"""Reading one uploaded file from a multipart form, with a size bound and Chinese errors."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile


class UploadError(ValueError):
    pass


async def read_upload(form: FormData, max_bytes: int, *, missing: str, too_big: str,
                      field: str = "file") -> tuple[str, bytes]:
    """(file name without any client path, content); reads at most max_bytes + 1 bytes."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadError(missing)
    content = await upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise UploadError(too_big)
    return upload.filename.replace("\\", "/").rsplit("/", 1)[-1], content
