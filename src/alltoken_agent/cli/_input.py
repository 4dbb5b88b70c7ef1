"""Text from the user (arguments, stdin, files) checked to be UTF-8 before anything uses it.

Python hands bytes that are not UTF-8 on the command line (and, under a C locale,
on stdin) over as lone surrogates ("surrogateescape"), which only blow up later,
deep inside a write or an HTTP request, as an "unexpected UnicodeEncodeError".
Checking at the edge turns them into one clear line and exit 2 instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Typer runs commands on its own copy of Click, so the running context is in that copy.
from typer._click.core import Parameter
from typer._click.globals import get_current_context

from alltoken_agent import UserError

_OPENAI_VARIABLES = frozenset({"OPENAI_API_KEY", "OPENAI_BASE_URL"})
_FIRST_ESCAPE, _LAST_ESCAPE = 0xDC80, 0xDCFF
"""The surrogates ``surrogateescape`` uses for the undecodable bytes 0x80-0xFF."""


def _bad_char(text: str) -> str | None:
    """A description of the first character that cannot be written as UTF-8, or None."""
    for char in text:
        code = ord(char)
        if _FIRST_ESCAPE <= code <= _LAST_ESCAPE:
            return f"byte 0x{code - 0xDC00:02x}"
        if 0xD800 <= code <= 0xDFFF:
            return f"character U+{code:04X}"
    return None


def check_text(text: str, what: str) -> str:
    """Return ``text`` if it can be written as UTF-8.

    Raises:
        UserError: ``text`` holds bytes that were not UTF-8 (or a lone surrogate).
    """
    bad = _bad_char(text)
    if bad is not None:
        raise UserError(f"{what} is not valid UTF-8 text ({bad}); pass UTF-8 text")
    return text


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Check the environment variables this program reads (``ALLTOKEN_*``, ``TOKENHUB_*``...).

    Others are left alone: an unrelated variable must not stop every command.

    The error names the variable, never its value: it may be an API key.

    Raises:
        UserError: One of them holds bytes that were not UTF-8.
    """
    env = os.environ if environ is None else environ
    for name in sorted(env):
        ours = name.startswith(("ALLTOKEN_", "TOKENHUB_")) or name in _OPENAI_VARIABLES
        if ours and _bad_char(env[name]) is not None:
            raise UserError(
                f"the environment variable {name} is not valid UTF-8 text; set it to UTF-8 text"
            )


def check_params() -> None:
    """Check every text argument and option of the running command (and its groups).

    The environment variables this program reads are checked too (``check_environment``).

    Raises:
        UserError: One of them holds bytes that were not UTF-8, named by its flag.
    """
    check_environment()
    context = get_current_context(silent=True)
    while context is not None:
        names = {param.name: param for param in context.command.params}
        for name, value in context.params.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                if isinstance(item, str):
                    param = names.get(name)
                    label = _label(param) if param is not None else str(name)
                    check_text(item, label)
        context = context.parent


def _label(param: Parameter) -> str:
    if param.param_type_name == "option" and param.opts:
        return max(param.opts, key=len)  # --session rather than -s
    return param.metavar or (param.name or "an argument").upper()


def read_stdin(what: str = "stdin") -> str:
    """All of stdin, decoded as UTF-8.

    Raises:
        UserError: Stdin is not UTF-8 text.
    """
    stream = sys.stdin
    raw = getattr(stream, "buffer", None)
    if raw is None:  # a replaced text stream: it already decoded, maybe with escapes
        return check_text(stream.read(), what)
    return decode_text(raw.read(), what)


def decode_text(data: bytes, what: str) -> str:
    """``data`` as UTF-8 text.

    Raises:
        UserError: It is not UTF-8, or holds NUL bytes (a binary file).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{what} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); give it text, not a binary file"
        ) from None
    if "\x00" in text:
        raise UserError(f"{what} holds NUL bytes, so it is not text; give it a text file")
    return text


def read_text_file(path: Path, what: str) -> str:
    """The UTF-8 text of the file at ``path`` (``what`` names it in errors).

    Raises:
        UserError: The file cannot be read, or is not UTF-8 text.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {what} {path}: {error.strerror or error}") from None
    return decode_text(data, f"{what} {path}")
