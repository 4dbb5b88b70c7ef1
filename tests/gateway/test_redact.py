from __future__ import annotations

from alltoken_agent.gateway.redact import MASK, Redactor


def test_known_secret_is_masked_everywhere() -> None:
    redact = Redactor(["k3y-value-123"])
    assert redact("a k3y-value-123 b k3y-value-123") == f"a {MASK} b {MASK}"


def test_bearer_tokens_and_key_shapes_are_masked_even_when_unknown() -> None:
    redact = Redactor()
    text = redact('Authorization: Bearer abc.def-123 and sk-ABCDEFGHIJKLMNOP and api_key="zzz999"')
    assert "abc.def-123" not in text
    assert "ABCDEFGHIJKLMNOP" not in text
    assert "zzz999" not in text
    assert "Bearer ***" in text


def test_repr_shows_no_secret() -> None:
    assert "secret-one" not in repr(Redactor(["secret-one"]))


def test_short_or_empty_secrets_do_not_mask_ordinary_text() -> None:
    assert Redactor(["", None, "ab"])("about abacus") == "about abacus"
