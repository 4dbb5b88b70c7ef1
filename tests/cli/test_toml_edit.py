"""Setting one key in TOML text without losing comments (the `config set` editor)."""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest

from alltoken_agent.cli._toml_edit import key_text, set_in_text, value_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def set_key(text: str, path: list[str], value: Any) -> str | None:
    expected = copy.deepcopy(tomllib.loads(text))
    table = expected
    for part in path[:-1]:
        table = table.setdefault(part, {})
    table[path[-1]] = value
    return set_in_text(text, path, value, expected)


def test_a_value_spanning_lines_is_replaced_and_the_comment_after_it_kept() -> None:
    text = '[approval]\ntools = [\n  "a",  # first\n  "b",\n]  # who approves\nx = 1\n'
    assert set_key(text, ["approval", "tools"], ["c"]) == (
        '[approval]\ntools = ["c"]  # who approves\nx = 1\n'
    )


def test_a_quoted_table_header_is_found() -> None:
    text = '[prices."gpt-5.4"]  # ours\ninput_per_1k = "1"\n'
    assert set_key(text, ["prices", "gpt-5.4", "output_per_1k"], "2") == (
        '[prices."gpt-5.4"]  # ours\ninput_per_1k = "1"\noutput_per_1k = "2"\n'
    )


def test_a_dotted_key_inside_a_table_is_replaced_in_place() -> None:
    text = '[providers]\nlocal.base_url = "http://a"  # old\n'
    assert set_key(text, ["providers", "local", "base_url"], "http://b") == (
        '[providers]\nlocal.base_url = "http://b"  # old\n'
    )


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    text = 'model = "a#b"  # real comment\n'
    assert set_key(text, ["model"], "c") == 'model = "c"  # real comment\n'


def test_windows_line_endings_stay() -> None:
    text = "[timeouts]\r\nread = 1.0\r\n"
    assert set_key(text, ["timeouts", "read"], 2.0) == "[timeouts]\r\nread = 2.0\r\n"


def test_a_top_level_key_goes_above_the_first_table_and_its_comments() -> None:
    text = "# file\n\n# timeouts:\n[timeouts]\nread = 1.0\n"
    assert set_key(text, ["model"], "m") == (
        '# file\n\nmodel = "m"\n# timeouts:\n[timeouts]\nread = 1.0\n'
    )


def test_a_new_key_stays_in_its_table_above_the_comment_of_the_next() -> None:
    text = "[x]\ny = 1\n# the z table\n[z]\nw = 2\n"
    assert set_key(text, ["x", "new"], 3) == ("[x]\ny = 1\nnew = 3\n# the z table\n[z]\nw = 2\n")


@pytest.mark.parametrize(
    ("text", "path", "edited"),
    [
        (
            "# mine\ntimeouts = { read = 1.0 }\n",
            ["timeouts", "connect"],
            "# mine\ntimeouts = { read = 1.0, connect = 3.0}\n",
        ),
        (
            '[providers]  # mine\nlocal.base_url = "http://a"\n',
            ["providers", "local", "x"],
            '[providers]  # mine\nlocal.base_url = "http://a"\nlocal.x = 3.0\n',
        ),
    ],
)
def test_inline_tables_and_dotted_keys_are_edited_in_place(
    text: str, path: list[str], edited: str
) -> None:
    """The hand-written editor left these to a rewrite that dropped every comment."""
    assert set_key(text, path, 3.0) == edited


def test_a_top_level_key_goes_above_an_array_of_tables() -> None:
    text = "[[servers]]\nname = 'a'\n"
    assert set_key(text, ["model"], "m") == "model = \"m\"\n[[servers]]\nname = 'a'\n"


def test_values_and_keys_are_written_on_one_line() -> None:
    assert (
        value_text({"a b": [1, "x"], "c": {"d": True}}) == '{ "a b" = [1, "x"], c = { d = true } }'
    )
    assert value_text([]) == "[]" and value_text({}) == "{}"
    assert key_text("gpt-5.4") == '"gpt-5.4"' and key_text("my-model_2") == "my-model_2"
