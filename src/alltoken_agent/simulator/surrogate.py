"""The `lone_surrogate` fault: reply text whose JSON spells lone surrogates.

`"\\ud800"` is valid JSON syntax, yet it decodes to a string holding U+D800 alone,
which no UTF-8 encoder takes: a gateway that cuts an emoji's surrogate pair between
two tokens, or a hostile one, sends such text. With the fault, the reply (streamed or
whole) ends with a piece spelling a lone high surrogate, a lone low one in upper case,
and a valid pair, which must still decode to its one character (`WIRE`).

Python's JSON encoders cannot write a lone surrogate into UTF-8 bytes, so the piece is
built as the plain `MARK` and `spell` swaps in the escapes in the encoded bytes.
Nothing here is in any spec.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from alltoken_agent.simulator.chunks import Emission

MARK: Final = "@@sim-lone-surrogate@@"
"""Stands in the reply text for `WIRE` until the body is encoded."""

WIRE: Final = rb"lone high \ud800, lone low \uDC00, pair \ud83d\ude00."
"""The JSON string text sent in `MARK`'s place (read as: U+FFFD, U+FFFD, U+1F600)."""


def surrogate_reply(emission: Emission) -> Emission:
    """The reply with one more content piece, `MARK` (tool-call answers too)."""
    return dataclasses.replace(emission, content=(*(emission.content or ()), f" {MARK}"))


def spell(body: bytes) -> bytes:
    """An encoded event or body with `MARK` written as the escapes of `WIRE`."""
    return body.replace(MARK.encode(), WIRE)
