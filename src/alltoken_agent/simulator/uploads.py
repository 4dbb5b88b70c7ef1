"""`POST /v1/uploads/presign` (AllToken §1.8) and binding an `upload_id` to a task.

The presign answers an `upload_url` on the simulated bucket (`PUT
/_sim/r2/upload/{upload_id}`, checked in `r2.py`). An upload binds once, only for the
key that presigned it (the simulator keeps a hash of the key, never the key), only for
a field whose purpose matches, and only while its claim (2 h) has not expired.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from alltoken_agent.simulator.media_store import MediaState, Upload, rfc3339
from alltoken_agent.simulator.media_wire import (
    incoming,
    is_int,
    media_endpoint,
    require,
)
from alltoken_agent.simulator.pipeline import Handler, RequestContext

MB: Final = 1024 * 1024

# purpose -> (allowed content types, max bytes). §1.8 gives the purposes and the type
# list; the family rule (image_* -> image/*, ...) is (I); the ceilings are invented except
# the 25 MB of image edit sources and masks (§1.7).
_IMAGE_TYPES: Final = ("image/png", "image/jpeg", "image/webp")
_VIDEO_TYPES: Final = ("video/mp4", "video/webm", "video/quicktime")
_AUDIO_TYPES: Final = (
    "audio/wav", "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/webm",
)  # fmt: skip
PURPOSES: Final[dict[str, tuple[tuple[str, ...], int]]] = {
    "image_edit_source": (_IMAGE_TYPES, 25 * MB),
    "image_edit_mask": (_IMAGE_TYPES, 25 * MB),
    "image_variation_source": (_IMAGE_TYPES, 25 * MB),
    "video_input_image": (_IMAGE_TYPES, 30 * MB),
    "video_input_video": (_VIDEO_TYPES, 50 * MB),
    "video_input_audio": (_AUDIO_TYPES, 15 * MB),
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _md5_ok(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 24:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def _validate(body: Any) -> tuple[str, str, int, str, str]:
    require(isinstance(body, Mapping), None, "the request body must be a JSON object")
    purpose = body.get("purpose")
    require(
        isinstance(purpose, str) and purpose in PURPOSES,
        "purpose",
        f"purpose must be one of {', '.join(PURPOSES)}",
        code="invalid_purpose",
    )
    types, ceiling = PURPOSES[purpose]
    content_type = body.get("content_type")
    require(
        isinstance(content_type, str) and content_type in types,
        "content_type",
        f"content_type for {purpose} must be one of {', '.join(types)}",
        code="invalid_content_type",
    )
    length = body.get("content_length")
    require(is_int(length) and length >= 1, "content_length", "content_length must be >= 1")
    require(
        length <= ceiling,
        "content_length",
        f"content_length {length} exceeds the {ceiling}-byte limit for {purpose}",
        status=413,
        code="payload_too_large",
    )
    md5 = body.get("content_md5")
    require(
        _md5_ok(md5),
        "content_md5",
        "content_md5 must be the base64 of the 16-byte MD5 digest (24 characters)",
        code="invalid_content_md5",
    )
    sha = body.get("checksum_sha256")
    require(
        isinstance(sha, str) and bool(_SHA256.match(sha)),
        "checksum_sha256",
        "checksum_sha256 must be 64 lower-case hex digits",
        code="invalid_checksum_sha256",
    )
    return purpose, content_type, length, md5, sha


def presign_handler(media: MediaState) -> Handler:
    """Build the `POST /v1/uploads/presign` handler."""

    async def presign(body: Any, ctx: RequestContext) -> Response:
        purpose, content_type, length, md5, sha = _validate(body)
        where = incoming(ctx)
        now = media.now()
        upload = Upload(
            upload_id=media.new_hex("upl_"),
            owner=where.owner,
            purpose=purpose,
            content_type=content_type,
            content_md5=md5,
            checksum_sha256=sha,
            content_length=length,
            url_expires_at=now + media.upload_url_ttl,
            claim_expires_at=now + media.upload_claim_ttl,
        )
        with media.lock:
            media.uploads[upload.upload_id] = upload
        return JSONResponse(
            {
                "upload_url": where.object_url(f"upload/{upload.upload_id}"),
                "method": "PUT",
                "required_headers": {"Content-Type": content_type, "Content-MD5": md5},
                "upload_id": upload.upload_id,
                "expires_in": int(media.upload_url_ttl),
                "claim_expires_at": rfc3339(upload.claim_expires_at),
                "max_content_length": PURPOSES[purpose][1],
            }
        )

    return media_endpoint(presign)


def check_upload(media: MediaState, upload_id: Any, owner: str, purpose: str, param: str) -> Upload:
    """Return the upload an `upload_id` field names, if this key may bind it for `purpose`.

    Every refusal is 400 `invalid_request` (invented: §1.8 names no code for them).

    Raises:
        MediaRequestError: Unknown id (or another key's), not uploaded yet, claim
            expired, already bound, or uploaded for another purpose.
    """
    require(isinstance(upload_id, str) and bool(upload_id), param, f"{param} must be a string")
    with media.lock:
        upload = media.uploads.get(upload_id)
    require(
        upload is not None and upload.owner == owner,
        param,
        f"unknown upload_id {upload_id!r} for this API key; presign with POST /v1/uploads/presign",
    )
    assert upload is not None  # for mypy; `require` raised otherwise
    require(
        upload.data is not None,
        param,
        f"upload {upload_id} has no bytes yet; PUT them to its upload_url first",
    )
    require(
        media.now() < upload.claim_expires_at,
        param,
        f"upload {upload_id} expired unbound; presign and upload again",
    )
    require(
        upload.bound_task is None,
        param,
        f"upload {upload_id} is already bound to task {upload.bound_task}; an upload binds once",
    )
    require(
        upload.purpose == purpose,
        param,
        f"upload {upload_id} was presigned for {upload.purpose}, this field needs {purpose}",
    )
    return upload


def bind_uploads(media: MediaState, uploads: list[Upload], task_id: str) -> None:
    """Bind checked uploads to a new task, all or none (a concurrent create may race).

    Raises:
        MediaRequestError: One of them got bound in the meantime.
    """
    with media.lock:
        for upload in uploads:
            require(
                upload.bound_task is None,
                "content",
                f"upload {upload.upload_id} is already bound to task {upload.bound_task}",
            )
        for upload in uploads:
            upload.bound_task = task_id
