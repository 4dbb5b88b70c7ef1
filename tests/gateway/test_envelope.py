from __future__ import annotations

from alltoken_agent import (
    AuthenticationError,
    ConflictError,
    GatewayError,
    GoneError,
    RateLimitError,
    UpstreamError,
)
from alltoken_agent.gateway._envelope import error_from_response
from alltoken_agent.gateway.redact import Redactor


def build(status: int, body: bytes, headers: dict[str, str] | None = None) -> GatewayError:
    return error_from_response(status, body, headers or {}, Redactor(["sk-secret-key-1"]))


def test_envelope_fields_are_carried() -> None:
    error = build(
        401,
        b'{"error":{"code":"invalid_api_key","message":"bad key","param":null,'
        b'"type":"auth_error","request_id":"abcdefghij0123456789"}}',
    )
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.code, error.type) == (401, "invalid_api_key", "auth_error")
    assert error.request_id == "abcdefghij0123456789"
    assert "invalid_api_key" in str(error) and "abcdefghij0123456789" in str(error)


def test_top_level_request_id_and_header_fallback() -> None:
    top = build(404, b'{"error":{"message":"no such task"},"request_id":"top-level-id"}')
    assert top.request_id == "top-level-id"
    header = build(500, b'{"error":{"message":"x"}}', {"x-gateway-request-id": "hdr-id"})
    assert header.request_id == "hdr-id"


def test_non_json_body_still_gives_the_right_class_and_a_readable_message() -> None:
    error = build(502, b"<html>Bad Gateway</html>")
    assert isinstance(error, UpstreamError)
    assert error.code == "http_502"
    assert "non-JSON" in error.message and "Bad Gateway" in error.message


def test_rate_limit_reads_retry_after_and_conflict_reads_task_id() -> None:
    limited = build(429, b'{"error":{"message":"slow"}}', {"retry-after": "3"})
    assert isinstance(limited, RateLimitError) and limited.retry_after == 3
    dup = build(409, b'{"error":{"code":"duplicate_request","message":"d","task_id":"igen_1"}}')
    assert isinstance(dup, ConflictError) and dup.task_id == "igen_1"
    assert isinstance(
        build(410, b'{"error":{"code":"image_already_retrieved","message":"g"}}'), GoneError
    )


def test_messages_echoing_the_key_are_redacted() -> None:
    error = build(401, b'{"error":{"message":"key sk-secret-key-1 is revoked"}}')
    assert "sk-secret-key-1" not in str(error) and "sk-secret-key-1" not in repr(error)
