"""Helpers for the media tests: wire-level only, independent of our client library."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import time
from typing import Any

import httpx
from PIL import Image

from alltoken_agent.simulator import FAULT_HEADER

JOB_FAULT = "X-Sim-Job-Fault"


def fault(spec: str) -> dict[str, str]:
    return {FAULT_HEADER: spec}


def job_fault(spec: str) -> dict[str, str]:
    return {JOB_FAULT: spec}


def image_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-image-2", "prompt": "a red fox in snow", "size": "64x48", **extra}


def video_body(model: str = "seedance-1.5-pro", **extra: Any) -> dict[str, Any]:
    return {"model": model, "prompt": "a fox runs through snow", **extra}


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel: a broken file raises here
    return image


def decode_b64(text: str) -> Image.Image:
    return decode(base64.b64decode(text))


def poll_until(
    client: httpx.Client, path: str, done: set[str], *, params: Any = None, field: str = "status"
) -> httpx.Response:
    """Poll a task every 20 ms until its status is in `done` (bounded: 3 s)."""
    deadline = time.monotonic() + 3.0
    while True:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        status = body.get(field) if field in body else body.get("output", {}).get(field)
        if status in done:
            return response
        assert time.monotonic() < deadline, f"still {status} after 3 s"
        time.sleep(0.02)


def boxes(data: bytes) -> list[str]:
    """Top-level ISO-BMFF box types of an MP4/MOV file, in order."""
    out: list[str] = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        assert size >= 8, f"bad box size at {offset}"
        out.append(kind.decode("latin-1"))
        offset += size
    assert offset == len(data), "boxes must tile the file exactly"
    return out


def checksums(data: bytes) -> tuple[str, str]:
    """(base64 MD5, hex SHA-256) as the presign body wants them."""
    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    return md5, hashlib.sha256(data).hexdigest()


def presign_body(data: bytes, purpose: str = "video_input_image", **extra: Any) -> dict[str, Any]:
    md5, sha = checksums(data)
    return {
        "purpose": purpose,
        "content_type": "image/png",
        "content_length": len(data),
        "content_md5": md5,
        "checksum_sha256": sha,
        **extra,
    }


def png_bytes(width: int = 32, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()
