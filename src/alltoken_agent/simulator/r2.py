"""The simulated R2 bucket: result downloads and presigned upload PUTs, on the simulator.

Routes (no auth, like public R2 links and presigned URLs; both dialects):

* `GET /_sim/r2/{key}`: an object (`r2_url`, `video_url`, `last_frame_url`, TokenHub
  URLs) with its `Content-Type`. Unknown key: 404 `NoSuchKey`; past its expiry: 403
  `AccessDenied` "Request has expired" (invented: S3/R2-style XML bodies, chosen because
  real expired presigned links answer 403).
* `PUT /_sim/r2/upload/{upload_id}`: the `upload_url` of `POST /v1/uploads/presign`
  (§1.8). The signed headers must match exactly: a different `Content-Type` or
  `Content-MD5` is 403 `SignatureDoesNotMatch`; bytes whose MD5 differs from the header,
  or whose SHA-256 differs from the presigned `checksum_sha256`, are 400 `BadDigest`; a
  wrong length is 400 `IncompleteBody`; an expired URL 403 `AccessDenied`; an upload
  already bound to a task 403 `AccessDenied`; an unknown id 404 `NoSuchUpload`
  (all invented wording). Success: 200, empty body, `ETag: "<md5 hex>"`.

These requests are logged in the request log (so tests can check what a client PUT and
whether it leaked its API key to the bucket: `has_auth`); they consume no fault.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from alltoken_agent.simulator.control import SimulatorState
from alltoken_agent.simulator.media_wire import OBJECT_PREFIX
from alltoken_agent.simulator.pipeline import bearer_token


def _xml_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}"
        " (simulated bucket)</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


async def _get_object(state: SimulatorState, request: Request) -> Response:
    media = state.media
    key = request.path_params["key"]
    with media.lock:
        stored = media.objects.get(key)
    if stored is None:
        return _xml_error(404, "NoSuchKey", "The specified key does not exist.")
    if stored.expires_at is not None and media.now() >= stored.expires_at:
        return _xml_error(403, "AccessDenied", "Request has expired")
    data = stored.data
    if data is None and stored.producer is not None:
        data = await asyncio.to_thread(stored.producer)
        with media.lock:
            stored.data, stored.producer = data, None
    payload = data or b""
    if stored.pad_to > len(payload):
        return StreamingResponse(_padded(payload, stored.pad_to), media_type=stored.content_type)
    etag = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    return Response(payload, media_type=stored.content_type, headers={"ETag": f'"{etag}"'})


async def _padded(head: bytes, size: int) -> AsyncIterator[bytes]:
    """`head`, then zeros up to `size` bytes, 64 KiB at a time (job fault `huge`)."""
    yield head
    left, block = size - len(head), bytes(64 * 1024)
    while left > 0:
        yield block[: min(left, len(block))]
        left -= len(block)


async def _put_upload(state: SimulatorState, request: Request) -> Response:
    media = state.media
    data = await request.body()
    with media.lock:
        upload = media.uploads.get(request.path_params["upload_id"])
    if upload is None:
        return _xml_error(404, "NoSuchUpload", "The specified upload does not exist.")
    if media.now() >= upload.url_expires_at:
        return _xml_error(403, "AccessDenied", "Request has expired")
    if upload.bound_task is not None:
        return _xml_error(403, "AccessDenied", "This upload is already bound to a task.")
    if request.headers.get("content-type") != upload.content_type:
        return _xml_error(
            403,
            "SignatureDoesNotMatch",
            f"Content-Type must be exactly {upload.content_type!r}, as presigned.",
        )
    if request.headers.get("content-md5") != upload.content_md5:
        return _xml_error(
            403, "SignatureDoesNotMatch", "Content-MD5 must be exactly the presigned value."
        )
    if len(data) != upload.content_length:
        return _xml_error(
            400,
            "IncompleteBody",
            f"Sent {len(data)} bytes; the presigned content_length is {upload.content_length}.",
        )
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    if base64.b64encode(digest).decode() != upload.content_md5:
        return _xml_error(
            400, "BadDigest", "The Content-MD5 you specified did not match what we received."
        )
    if hashlib.sha256(data).hexdigest() != upload.checksum_sha256:
        return _xml_error(400, "BadDigest", "The bytes do not match the presigned checksum_sha256.")
    with media.lock:
        upload.data = data
    return Response(b"", status_code=200, headers={"ETag": f'"{digest.hex()}"'})


async def _logged(
    state: SimulatorState,
    request: Request,
    handler: Callable[[SimulatorState, Request], Awaitable[Response]],
) -> Response:
    record = state.begin_request(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        body=None,  # bytes, not JSON: never logged
        headers=request.headers,
        has_auth=bool(bearer_token(request)),
    )
    response = await handler(state, request)
    state.finish_request(record, status=response.status_code, fault=None)
    return response


def object_routes(state: SimulatorState) -> list[Route]:
    """Return the bucket routes (see the module docstring), logged in `state`."""

    async def get_object(request: Request) -> Response:
        return await _logged(state, request, _get_object)

    async def put_upload(request: Request) -> Response:
        return await _logged(state, request, _put_upload)

    return [
        Route(f"{OBJECT_PREFIX}upload/{{upload_id}}", put_upload, methods=["PUT"]),
        Route(f"{OBJECT_PREFIX}{{key:path}}", get_object, methods=["GET"]),
    ]
