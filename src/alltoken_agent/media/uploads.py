"""Local files as video inputs: checked first, then AllToken's direct upload (§1.8).

``data:`` URLs are no longer accepted for video inputs (since 2026-08-06, §3 row 12), so
a local first frame, last frame or reference image is uploaded: ``POST
/uploads/presign`` with its type, length, MD5 and SHA-256, then a ``PUT`` of the bytes
to the presigned URL with exactly the headers the presign asked for (our API key never
goes to the bucket), and the create body names its ``upload_id``.

Type and size are checked before any request, with an error that says what to do.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from alltoken_agent.errors import GatewayError, MediaJobError, UserError
from alltoken_agent.media._wire import call, json_body, short_url
from alltoken_agent.media.files import sniff_mime

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway

MB = 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
"""What the gateway takes as a frame or reference image (§1.8)."""
MAX_IMAGE_BYTES = 30 * MB
"""Largest frame we upload. §1.8 gives per-purpose ceilings without numbers (the presign
answer's ``max_content_length`` is the real one); 30 MB is our guess, checked early."""

FrameRole = Literal["first_frame", "last_frame", "reference_image"]
URL_SCHEMES = ("http://", "https://", "asset://")


@dataclass(frozen=True)
class LocalImage:
    """A local image file, checked and read, ready to upload."""

    path: Path
    content_type: str
    data: bytes

    @property
    def md5_base64(self) -> str:
        """Base64 of the 16-byte MD5 digest (``Content-MD5``)."""
        return base64.b64encode(hashlib.md5(self.data, usedforsecurity=False).digest()).decode()

    @property
    def sha256_hex(self) -> str:
        """Lower-case hex SHA-256."""
        return hashlib.sha256(self.data).hexdigest()


def is_url(value: str | os.PathLike[str]) -> bool:
    """Whether a frame value is a link (http(s) or ``asset://``) rather than a file."""
    return isinstance(value, str) and value.lower().startswith(URL_SCHEMES)


def check_image_file(value: str | os.PathLike[str], what: str) -> LocalImage:
    """Read a local image for upload, refusing what the gateway would refuse.

    Raises:
        UserError: A ``data:`` URL, a missing file, not PNG/JPEG/WebP, empty, or too big.
    """
    if isinstance(value, str) and value.lower().startswith("data:"):
        raise UserError(
            f"{what}: data: URLs are no longer accepted for video inputs; pass the image's "
            "file path (it is uploaded) or a public https URL"
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise UserError(f"{what}: no such file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{what}: {path} is empty")
    if size > MAX_IMAGE_BYTES:
        raise UserError(
            f"{what}: {path} is {size / MB:.1f} MB; images up to {MAX_IMAGE_BYTES // MB} MB "
            "can be uploaded: make it smaller"
        )
    data = path.read_bytes()
    kind = sniff_mime(data[:64])
    if kind not in IMAGE_TYPES:
        found = f" (looks like {kind})" if kind else ""
        raise UserError(
            f"{what}: {path} is not a PNG, JPEG or WebP image{found}; convert it to one of those"
        )
    return LocalImage(path=path, content_type=kind, data=data)


async def upload_image(gateway: Gateway, image: LocalImage, purpose: str) -> str:
    """Upload a checked image through presign + PUT; return its ``upload_id``.

    Raises:
        GatewayError: The presign was refused (413 ``payload_too_large``, ...).
        MediaJobError: The bucket refused the bytes.
    """
    presign = await call(
        gateway,
        "POST",
        "uploads/presign",
        json={
            "purpose": purpose,
            "content_type": image.content_type,
            "content_length": len(image.data),
            "content_md5": image.md5_base64,
            "checksum_sha256": image.sha256_hex,
        },
    )
    answer = json_body(presign)
    upload_id, url = answer.get("upload_id"), answer.get("upload_url")
    if not isinstance(upload_id, str) or not isinstance(url, str):
        raise MediaJobError(f"the presign answer for {image.path} has no upload_id/upload_url")
    required = answer.get("required_headers")
    headers = {"Content-Type": image.content_type, "Content-MD5": image.md5_base64}
    if isinstance(required, dict):
        headers.update({str(k): str(v) for k, v in required.items()})
    method = str(answer.get("method") or "PUT").upper()
    try:
        await call(gateway, method, url, content=image.data, headers=headers, auth=False)
    except GatewayError as error:
        # Not chained: the bucket's 403 is not an authentication problem of ours.
        raise MediaJobError(
            f"uploading {image.path} to {short_url(url)} failed: {error.message[:300]}; "
            "nothing was submitted: try again"
        ) from None
    return upload_id
