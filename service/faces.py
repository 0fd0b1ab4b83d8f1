"""``POST /v1/faces``: one photo in, every face's emotions out, as ``predict --json`` writes them.
Owns the faces router.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from core.vision.image import ImageDecodeError, ImageTooLargeError, NotAnImageError
from service.schemas import FacesResponse, Problem
from service.security import authorize
from service.uploads import declare_upload, read_image

router = APIRouter(prefix="/v1", tags=["faces"], dependencies=[Depends(authorize)])
ERRORS = {status: {"model": Problem, "description": text} for status, text in (
    (401, "No API key, or a wrong one"),
    (408, "The upload took longer than the request timeout"),
    (413, "Over the byte or pixel limit"),
    (415, "Not an image in an accepted format (JPEG, PNG, BMP, WebP, TIFF)"),
    (422, "A truncated or corrupt image, or no image in the request"),
    (429, "Over the rate limit (see the Retry-After header)"),
    (503, "The analysis took longer than the request timeout"),
)}


@router.post("/faces", response_model=FacesResponse, responses=ERRORS, openapi_extra=declare_upload("image", "image"),
             summary="Every face in a photo, with its emotions")
async def faces(request: Request) -> JSONResponse:
    """Send one photo as the multipart file field `image`, or as the whole request body.

    Each face is boxed and classified as `python train_cli.py predict --json` does: the photo is turned upright
    and shrunk to the dashboard's size, faces are found, cropped and classified by the model in `model`.
    """
    service = request.app.state.service
    settings = service.settings
    reading = True
    try:
        async with asyncio.timeout(settings.request_timeout_s):
            data = await read_image(request, settings.max_image_bytes)
            reading = False
            (width, height), found = await service.pipeline.run(data)
    except TimeoutError:
        if reading:
            raise HTTPException(408, f"the upload took longer than {settings.request_timeout_s:g} s") from None
        raise HTTPException(503, f"the analysis took longer than {settings.request_timeout_s:g} s; try again "
                                 "later", headers={"Retry-After": "5"}) from None
    except ImageTooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except NotAnImageError as error:
        raise HTTPException(415, str(error)) from None
    except ImageDecodeError as error:
        raise HTTPException(422, str(error)) from None
    service.metrics.faces.inc(len(found))
    return JSONResponse({"model": service.model_info, "image": {"width": width, "height": height},
                         "faces": [face.to_dict() for face in found]})
