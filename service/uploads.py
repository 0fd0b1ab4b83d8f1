"""A request's file, as the multipart field it names or as the raw body, read with the bytes counted as they come.
Owns read_image, save_video, Upload, declare_upload (the OpenAPI request body) and the errors' wording.

The size limit counts the bytes actually read, chunk by chunk, so neither a chunked body nor a ``Content-Length``
that lies gets past it; a declared length over the limit is refused before anything is read. Multipart framing
may add up to :data:`MULTIPART_SLACK` bytes around the file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import anyio
from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

MULTIPART_SLACK = 64 * 1024
FIELD_LIMIT = 16 * 1024
"""The largest plain (non-file) multipart field."""
_MISSING = "no {what} in the request: send it as the multipart file field '{field}' or as the whole request body"


class Upload(NamedTuple):
    name: str
    """The file name the client gave (made safe), else ``upload``."""
    size: int


def too_large(what: str, limit: int) -> HTTPException:
    return HTTPException(413, f"{what} too large: over {limit / 2**20:g} MB, the limit")


def _declared_length(request: Request, limit: int, what: str) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(what, limit - MULTIPART_SLACK if _is_multipart(request) else limit)


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def _counted(request: Request, limit: int, what: str, shown_limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(what, shown_limit)
        yield chunk


def safe_name(name: str | None) -> str:
    """A client's file name with anything but letters, digits, dots, dashes and underscores replaced."""
    cleaned = re.sub(r"[^\w.-]", "_", Path(name or "").name).lstrip(".")
    return cleaned[:100] or "upload"


async def _multipart_file(request: Request, field: str, limit: int, what: str) -> UploadFile:
    stream = _counted(request, limit + MULTIPART_SLACK, what, limit)
    parser = MultiPartParser(request.headers, stream, max_files=1, max_fields=8, max_part_size=FIELD_LIMIT)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise HTTPException(422, f"the multipart body cannot be read: {error.message}") from None
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        await form.close()
        raise HTTPException(422, _MISSING.format(what=what, field=field))
    if upload.size is not None and upload.size > limit:
        await form.close()
        raise too_large(what, limit)
    return upload


async def read_image(request: Request, limit: int) -> bytes:
    """The photo's bytes, from the multipart field ``image`` or the raw body."""
    _declared_length(request, limit + (MULTIPART_SLACK if _is_multipart(request) else 0), "image")
    if _is_multipart(request):
        upload = await _multipart_file(request, "image", limit, "image")
        try:
            return await upload.read()
        finally:
            await upload.close()
    data = b"".join([chunk async for chunk in _counted(request, limit, "image", limit)])
    if not data:
        raise HTTPException(422, _MISSING.format(what="image", field="image"))
    return data


async def save_video(request: Request, limit: int, folder: Path) -> tuple[Path, Upload]:
    """The video written to a new file in ``folder``, from the multipart field ``video`` or the raw body."""
    _declared_length(request, limit + (MULTIPART_SLACK if _is_multipart(request) else 0), "video")
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(await anyio.to_thread.run_sync(_new_file, folder))
    try:
        if _is_multipart(request):
            upload = await _multipart_file(request, "video", limit, "video")
            try:
                await anyio.to_thread.run_sync(_copy, upload, path)
                return path, Upload(safe_name(upload.filename), upload.size or path.stat().st_size)
            finally:
                await upload.close()
        size = 0
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in _counted(request, limit, "video", limit):
                await out.write(chunk)
                size += len(chunk)
        if size == 0:
            raise HTTPException(422, _MISSING.format(what="video", field="video"))
        return path, Upload("upload", size)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _new_file(folder: Path) -> str:
    descriptor, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    os.close(descriptor)
    return name


def _copy(upload: UploadFile, path: Path) -> None:
    upload.file.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, 2**20)


def declare_upload(field: str, media: str) -> dict:
    """The OpenAPI ``requestBody`` of a route that takes a file as the multipart ``field`` or as the raw body."""
    binary = {"type": "string", "format": "binary"}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": [field], "properties": {field: binary}}},
        f"{media}/*": {"schema": binary},
        "application/octet-stream": {"schema": binary},
    }}}
