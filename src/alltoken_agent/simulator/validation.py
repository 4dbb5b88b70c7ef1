"""Request bodies checked against AllToken's own request models, as the gateway does.

The models are the official `alltoken` package's `alltoken.generated.chat` (SPEC in
docs/wire-format.md §0), generated from the gateway's `chat.yml`: checking against them
means the simulator refuses what AllToken refuses instead of what we believe it does.
A body that fails is answered like AllToken answers it: 400 `invalid_request` in the
error envelope, `param` naming the field path (e.g. `messages[0].content[0]`).

The models' extra-field policy is pydantic's default, `ignore`: unknown fields (our own
extensions, fields newer than the schema) pass, as they do on the gateway. Lax mode is
kept too (e.g. `"5"` for an integer passes the spec check); the endpoint handlers are
stricter where the docs are (see docs/wire-format.md "Simulator validation").

Every rejection is also recorded in `REJECTIONS` (this process) and, when the
`ALLTOKEN_AGENT_SIM_REJECTIONS` environment variable names a file, appended to it as a
JSON line with the process id (a simulator in a child process): the test suite fails a
test whose code sent a request the simulator had to reject.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

import pydantic
from alltoken.generated import chat as spec

from alltoken_agent.simulator._constants import Dialect

REJECTIONS_ENV: Final = "ALLTOKEN_AGENT_SIM_REJECTIONS"
"""Names a file every rejection is appended to, one JSON object a line."""

_MODELS: Final[dict[tuple[Dialect, str], type[pydantic.BaseModel]]] = {
    ("alltoken", "/v1/chat/completions"): spec.ChatCompletionRequest,
    ("alltoken", "/v1/images/generations/async"): spec.ImageGenerationRequest,
    ("alltoken", "/v1/images/generations"): spec.ImageGenerationRequest,
    ("alltoken", "/v1/uploads/presign"): spec.MediaUploadPresignRequest,
    ("alltoken", "/v1/videos/generations"): spec.VideoGenerationRequest,
    # TokenHub's chat is "OpenAI Chat Completions compatible" (§2.2); OpenAI's message
    # and content-part shapes are the ones this model has, so the same model applies.
    ("tokenhub", "/v1/chat/completions"): spec.ChatCompletionRequest,
    # TokenHub's image and video routes are left to their handlers: §2.3/§2.4 document
    # three body shapes per route by example only, and AllToken's models do not fit them.
}
"""POST routes with a request model, by dialect and path. Image edits and variations
(`ImageEditUploadIDRequest`, `ImageVariationUploadIDRequest`) are not served."""

_CODES: Final[dict[tuple[str, str], str]] = {
    # §1.8 documents these slugs for the sibling voice presign; the upload presign
    # handler uses them too, so a spec failure of the same field answers the same.
    ("/v1/uploads/presign", "purpose"): "invalid_purpose",
    ("/v1/uploads/presign", "content_type"): "invalid_content_type",
    ("/v1/uploads/presign", "content_md5"): "invalid_content_md5",
    ("/v1/uploads/presign", "checksum_sha256"): "invalid_checksum_sha256",
}
"""Error slugs other than `invalid_request`, by path and top-level field."""

_SCALARS: Final = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})


@dataclass(frozen=True)
class Problem:
    """Why a request body does not match its model."""

    param: str | None
    """The field path, e.g. `messages[0].content[0]`; None for the body itself."""
    message: str
    """What is wrong, in pydantic's words."""
    code: str = "invalid_request"
    """The error slug of the envelope."""


@dataclass(frozen=True)
class Rejection:
    """A request the simulator refused as invalid."""

    method: str
    path: str
    param: str | None
    message: str
    request_id: str


class RejectionLog:
    """Every rejection of this process, in order (thread-safe: uvicorn runs in a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Rejection] = []

    def record(self, rejection: Rejection) -> None:
        """Keep ``rejection``; also append it to the `REJECTIONS_ENV` file, if set."""
        with self._lock:
            self._items.append(rejection)
        target = os.environ.get(REJECTIONS_ENV)
        if target:
            try:
                with open(target, "a", encoding="utf-8") as out:
                    line = {**asdict(rejection), "pid": os.getpid()}
                    out.write(json.dumps(line) + "\n")
            except OSError:
                pass  # the in-process log still has it; a test double never crashes here

    def mark(self) -> int:
        """A position to read `since` from."""
        with self._lock:
            return len(self._items)

    def since(self, mark: int) -> list[Rejection]:
        """The rejections recorded after ``mark``."""
        with self._lock:
            return list(self._items[mark:])


REJECTIONS: Final = RejectionLog()
"""The rejections of every simulator in this process."""


def request_model(dialect: Dialect, method: str, path: str) -> type[pydantic.BaseModel] | None:
    """The spec model a request body must match, or None for an unchecked route."""
    return _MODELS.get((dialect, path)) if method == "POST" else None


def check_body(model: type[pydantic.BaseModel], body: Any, path: str = "") -> Problem | None:
    """Validate ``body`` against ``model``; the most specific problem, or None when valid.

    Args:
        model: The route's request model.
        body: The parsed JSON body.
        path: The route, for error slugs other than `invalid_request`.
    """
    if not isinstance(body, Mapping):
        return Problem(None, "the request body must be a JSON object")
    try:
        model.model_validate(body)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        # A union field reports one error per branch; the deepest one is the useful one
        # (`messages[0].content[0]`, not `messages[0].content` "should be a string").
        best = max(errors, key=lambda e: len(field_path(e["loc"])))
        where = field_path(best["loc"])
        code = _CODES.get((path, str(where[0])), "invalid_request") if where else "invalid_request"
        return Problem(format_path(where) or None, best["msg"], code)
    return None


def field_path(loc: tuple[int | str, ...]) -> list[int | str]:
    """A pydantic error location without its union-branch tags (`str`, `list[X]`, ...)."""
    return [part for part in loc if isinstance(part, int) or not _is_branch_tag(part)]


def _is_branch_tag(part: str) -> bool:
    # Field names in the spec's request models are lower-case identifiers; pydantic's
    # union tags are type names: `str`, `list[ContentPart]`, `Thinking`,
    # `function-after[...]`.
    return part in _SCALARS or not part.isidentifier() or part[:1].isupper()


def format_path(path: list[int | str]) -> str:
    """``["messages", 0, "content"]`` as ``messages[0].content``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
