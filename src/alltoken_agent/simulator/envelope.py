"""Error envelopes in the gateway's JSON shape (docs/wire-format.md §1.10).

Every error body is `{"error": {code, message, param, type, request_id}}`; `code` is a
slug, never the HTTP number. The gateway documents only some slugs and types; the table
below says which ones the simulator made up.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import JSONResponse

# code slug -> error type. Sources: docs/wire-format.md §1.10 unless marked.
ERROR_TYPES: Final[dict[str, str]] = {
    # §1.10 says the 400 type is "likely invalid_request_error" (I): followed here.
    "invalid_request": "invalid_request_error",
    "invalid_api_key": "auth_error",
    # §1.1, §3 row 13: `/api-account/user/*` refuses an API key with this slug and type.
    "invalid_token": "auth_error",
    # invented: 402 has no documented slug or type.
    "insufficient_balance": "billing_error",
    # invented: 403 has no documented slug or type.
    "forbidden": "permission_error",
    # §1.10 documents the slugs; the type is invented.
    "not_found": "not_found_error",
    "upstream_model_not_found": "invalid_request_error",
    # invented: 429 has no documented slug; the type is invented too.
    "rate_limit_exceeded": "rate_limit_error",
    # invented slug; the "api_error" type family is §1.10 (I).
    "internal_error": "api_error",
    # §1.10 documents the slugs; "api_error" as their type is (I).
    "upstream_error": "api_error",
    "all_providers_failed": "api_error",
    # invented: the simulator's own complaint about a bad X-Sim-Fault spec.
    "invalid_fault_spec": "simulator_error",
    # Media (§1.7-§1.10). §1.10 gives these 400 slugs; their type is (I) as above.
    "upstream_invalid_parameter": "invalid_request_error",
    "upstream_content_violation": "invalid_request_error",
    # §1.10: both 410 slugs have type invalid_request_error.
    "image_already_retrieved": "invalid_request_error",
    "image_expired": "invalid_request_error",
    # §1.10 documents the 409 slug; its type is invented.
    "duplicate_request": "invalid_request_error",
    # invented slugs: 409 for a concurrent image claim / a cancel of a finished task.
    "claim_in_progress": "invalid_request_error",
    "task_not_cancellable": "invalid_request_error",
    # §1.8 documents these for the sibling voice presign; borrowed here, types invented.
    "invalid_purpose": "invalid_request_error",
    "invalid_content_type": "invalid_request_error",
    "invalid_content_md5": "invalid_request_error",
    "invalid_checksum_sha256": "invalid_request_error",
    "payload_too_large": "invalid_request_error",
}


def error_body(
    code: str,
    message: str,
    *,
    request_id: str | None,
    param: str | None = None,
) -> dict[str, Any]:
    """Build the error envelope dict for a code slug.

    Args:
        code: Error slug (a key of `ERROR_TYPES`; unknown slugs get type `api_error`).
        message: Human text; names the cause and the next step.
        request_id: Gateway request id, or None outside `/v1`.
        param: Offending request field, if any.

    Returns:
        The JSON-ready envelope.
    """
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "param": param,
        "type": ERROR_TYPES.get(code, "api_error"),
    }
    if request_id is not None:
        error["request_id"] = request_id
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return a JSON error response in the gateway envelope.

    TokenHub documents no error body at all (§2.5); the simulator sends this same
    envelope in both dialects (invented for TokenHub).

    Args:
        status: HTTP status code.
        code: Error slug.
        message: Human text.
        request_id: Gateway request id, or None outside `/v1`.
        param: Offending request field, if any.
        headers: Extra response headers.

    Returns:
        The response.
    """
    body = error_body(code, message, request_id=request_id, param=param)
    return JSONResponse(body, status_code=status, headers=headers)
