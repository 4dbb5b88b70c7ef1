"""TokenHub synchronous images: `POST /v1/images/generations` (docs/wire-format.md §2.3).

The body shape is keyed by model id (§3 row 17); a body of the wrong shape is 400
(invented). Every shape answers 200 at once with real images (`imaging.py`); URLs point
at the simulated bucket and die after `tokenhub_url_ttl` (~24 h, §2.3).

* A, the contract's flat shape (wanx2.1-t2i-turbo): `{model, prompt, size: "W*H", n?, seed?,
  negative_prompt?}` -> `{request_id, created, data: [{url}]}` (invented: §2.3 only says
  "data or output exists").
* B, DashScope passthrough (wan2.6-t2i): `{model, input: {messages: [{role: user,
  content: [{text}]}]}, parameters: {size: "W*H", n, prompt_extend, watermark,
  negative_prompt}}` -> `{output: {choices: [{finish_reason, message: {role, content:
  [{type: image, image: url}]}}], finished}, usage: {image_count, input_tokens,
  output_tokens, size, total_tokens}, request_id}` (one choice holding every image: I).
* C, OpenAI style (gpt-image-2, also as `tokenhub/gpt-image-2`): `{model, prompt,
  size: "WxH", n, output_format?, watermark?, response_format?: url|b64_json}` ->
  `{created, data: [{b64_json}] (default) or [{url}], usage: {input_tokens,
  output_tokens}}`.

Invented limits: A/B sizes are `W*H` with sides 256-2048 (defaults 1024*1024 and
1280*1280), n 1-4; C follows the AllToken gpt-image-2 size rules. No idempotency
(§2.1 documents none). Job faults: `fail` answers 500 `upstream_error` and bills
nothing; `expire` makes the URLs dead at once; `no_r2` and `cancel` do nothing here.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from alltoken_agent.simulator.catalog import resolve_model
from alltoken_agent.simulator.imaging import MIME_TYPES, ImageFormat, render_image
from alltoken_agent.simulator.media_images import parse_size
from alltoken_agent.simulator.media_store import MediaState, MediaTask, StoredObject
from alltoken_agent.simulator.media_wire import (
    Incoming,
    MediaRequestError,
    check_choice,
    check_optional,
    incoming,
    is_int,
    media_endpoint,
    require,
)
from alltoken_agent.simulator.pipeline import Handler, RequestContext

IMAGE_SHAPES: Final[dict[str, str]] = {
    "wanx2.1-t2i-turbo": "A",
    "wan2.6-t2i": "B",
    "gpt-image-2": "C",
}
"""Catalog model id -> TokenHub image body shape (§2.3, §3 row 17)."""

_STAR = re.compile(r"^([1-9][0-9]{0,4})\*([1-9][0-9]{0,4})$")
_EXTENSIONS: Final[dict[str, str]] = {"png": "png", "jpeg": "jpg", "webp": "webp"}


def parse_star_size(value: Any, param: str, default: str) -> tuple[int, int]:
    """Parse a DashScope `W*H` size (invented bounds: each side 256-2048).

    Raises:
        MediaRequestError: Not `W*H`, or out of bounds.
    """
    text = default if value is None else value
    match = _STAR.match(text) if isinstance(text, str) else None
    require(match is not None, param, f"{param} must be WIDTH*HEIGHT, e.g. {default}")
    assert match is not None
    width, height = int(match[1]), int(match[2])
    require(
        256 <= width <= 2048 and 256 <= height <= 2048,
        param,
        f"{param}: each side must be 256 to 2048 pixels",
    )
    return width, height


def resolve_shape(body: Any, table: Mapping[str, str], modality: str) -> tuple[str, str]:
    """Return (catalog model id, shape) of a TokenHub media request.

    Raises:
        MediaRequestError: No model, an unknown one (404), or one of another modality.
    """
    require(isinstance(body, Mapping), None, "the request body must be a JSON object")
    requested = body.get("model")
    require(isinstance(requested, str) and bool(requested), "model", "model is required")
    model = resolve_model(requested, "tokenhub")
    if model is None:
        raise MediaRequestError(
            f"model {requested!r} is not available on this gateway",
            param="model",
            status=404,
            code="upstream_model_not_found",
        )
    require(
        model.id in table and model.modality == modality,
        "model",
        f"{requested} is not a {modality} model",
    )
    return model.id, table[model.id]


def _n(value: Any, param: str, high: int) -> int:
    n = 1 if value is None else value
    require(is_int(n) and 1 <= n <= high, param, f"{param} must be an integer from 1 to {high}")
    return int(n)


def _shape_a(body: Mapping[str, Any]) -> dict[str, Any]:
    require("input" not in body, "input", "this model takes the flat body {model, prompt, size}")
    prompt = body.get("prompt")
    require(isinstance(prompt, str) and bool(prompt.strip()), "prompt", "prompt is required")
    width, height = parse_star_size(body.get("size"), "size", "1024*1024")
    check_optional(body, "seed", int, "an integer")
    check_optional(body, "negative_prompt", str, "a string")
    return {"prompt": prompt, "width": width, "height": height, "n": _n(body.get("n"), "n", 4)}


def _shape_b(body: Mapping[str, Any]) -> dict[str, Any]:
    require(
        "prompt" not in body and isinstance(body.get("input"), Mapping),
        "input",
        "this model takes the DashScope body {model, input: {messages}, parameters}",
    )
    block: Mapping[str, Any] = body["input"]
    messages: Any = block.get("messages")
    require(isinstance(messages, list) and bool(messages), "input.messages", "messages needed")
    texts: list[str] = []
    for message in messages:
        content: Any = message.get("content") if isinstance(message, Mapping) else None
        require(
            isinstance(content, list)
            and all(isinstance(c, Mapping) and isinstance(c.get("text"), str) for c in content),
            "input.messages",
            "each message needs content: [{text}]",
        )
        texts += [c["text"] for c in content]
    prompt = " ".join(texts)
    require(bool(prompt.strip()), "input.messages", "the messages hold no text")
    parameters = body.get("parameters") or {}
    require(isinstance(parameters, Mapping), "parameters", "parameters must be an object")
    width, height = parse_star_size(parameters.get("size"), "parameters.size", "1280*1280")
    for name in ("prompt_extend", "watermark"):
        check_optional(parameters, name, bool, "true or false")
    check_optional(parameters, "negative_prompt", str, "a string")
    n = _n(parameters.get("n"), "parameters.n", 4)
    return {"prompt": prompt, "width": width, "height": height, "n": n}


def _shape_c(body: Mapping[str, Any]) -> dict[str, Any]:
    prompt = body.get("prompt")
    require(isinstance(prompt, str) and bool(prompt.strip()), "prompt", "prompt is required")
    width, height = parse_size(body.get("size"))
    check_choice(body, "output_format", ("png", "jpeg", "webp"))
    check_choice(body, "response_format", ("url", "b64_json"))
    check_optional(body, "watermark", bool, "true or false")
    return {
        "prompt": prompt,
        "width": width,
        "height": height,
        "n": _n(body.get("n"), "n", 10),
        "fmt": body.get("output_format") or "png",
        "as_url": body.get("response_format") == "url",
    }


_VALIDATORS: Final = {"A": _shape_a, "B": _shape_b, "C": _shape_c}


class TokenHubImages:
    """The synchronous image handler bound to one `MediaState`."""

    def __init__(self, media: MediaState) -> None:
        self.media = media

    def handler(self) -> Handler:
        """Return the handler for the `/v1` pipeline."""
        return media_endpoint(self.generate)

    async def generate(self, body: Any, ctx: RequestContext) -> Response:
        """`POST /v1/images/generations` (TokenHub)."""
        media = self.media
        model_id, shape = resolve_shape(body, IMAGE_SHAPES, "image")
        params = _VALIDATORS[shape](body)
        where = incoming(ctx)
        fault = where.header_job_fault() or media.pop_job_fault()
        if fault is not None and fault.kind == "fail":
            raise MediaRequestError(
                "The upstream provider failed to generate the image (simulated job fault)",
                status=500,
                code=fault.code,
            )
        fmt: ImageFormat = params.get("fmt", "png")
        seeds = [f"tokenhub|{model_id}|{params['prompt']}|{i}" for i in range(params["n"])]
        files = await asyncio.to_thread(
            lambda: [render_image(s, params["width"], params["height"], fmt) for s in seeds]
        )
        now = media.now()
        task = MediaTask(
            id=media.new_hex("thimg_"),
            kind="image",
            dialect="tokenhub",
            model=body["model"],
            owner=where.owner,
            created=now,
            duration=0.0,
            job_fault=fault,
            params=params,
            shape=shape,
        )
        expired = fault is not None and fault.kind == "expire"
        expires = now if expired else now + media.tokenhub_url_ttl
        urls = self._store(task, files, fmt, expires, where)
        media.record_submit(task)
        return JSONResponse(self._answer(task, shape, files, urls, ctx, where))

    def _store(
        self, task: MediaTask, files: list[bytes], fmt: str, expires: float, where: Incoming
    ) -> list[str]:
        urls: list[str] = []
        with self.media.lock:
            for index, data in enumerate(files):
                key = f"tokenhub/{task.id}/{index}.{_EXTENSIONS[fmt]}"
                self.media.objects[key] = StoredObject(MIME_TYPES[fmt], expires, data=data)
                task.object_keys.append(key)
                urls.append(where.object_url(key))
        return urls

    def _answer(
        self,
        task: MediaTask,
        shape: str,
        files: list[bytes],
        urls: list[str],
        ctx: RequestContext,
        where: Incoming,
    ) -> dict[str, Any]:
        p = task.params
        prompt_tokens = max(1, len(p["prompt"]) // 4)
        if shape == "A":
            return {
                "request_id": ctx.request_id,
                "created": int(task.created),
                "data": [{"url": url} for url in urls],
            }
        if shape == "B":
            content = [{"type": "image", "image": url} for url in urls]
            return {
                "output": {
                    "choices": [
                        {
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                    "finished": True,
                },
                "usage": {
                    "image_count": len(urls),
                    "input_tokens": prompt_tokens,
                    "output_tokens": 0,
                    "size": f"{p['width']}*{p['height']}",
                    "total_tokens": prompt_tokens,
                },
                "request_id": ctx.request_id,
            }
        if p["as_url"]:
            data: list[dict[str, str]] = [{"url": url} for url in urls]
        else:
            data = [{"b64_json": base64.b64encode(f).decode()} for f in files]
        output_tokens = 1056 * p["width"] * p["height"] // (1024 * 1024) * len(files)
        return {
            "created": int(task.created),
            "data": data,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": max(1, output_tokens)},
        }
