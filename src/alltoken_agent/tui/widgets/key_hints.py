"""The key hints at the bottom: Textual's ``Footer``, without the watchers its old keys leave.

The footer builds its keys again each time the app's key bindings change, several times
a reply ("Esc Cancel" shows while one runs). Each new key binds its ``compact`` to the
footer's, and Textual keeps that watcher on the footer until the footer's own
``compact`` changes, which in this app it never does (textual issue #6666, open as of
8.2): the list grew by about 33 entries a message, every new key scanned all of it, and
every old key stayed alive, so each message of a long chat took longer than the last.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

_WATCHERS = "__watchers"
"""Where Textual keeps the watchers of an object's reactives (``reactive._watch``)."""


class KeyHints(Footer):
    """``Footer``, dropping the watchers of the keys it has removed before it builds new ones."""

    def compose(self) -> ComposeResult:
        """The keys, once the watchers of the removed ones are gone."""
        # A recompose has removed the old keys by now; the new ones bind after mounting.
        watchers = getattr(self, _WATCHERS, {}).get("compact")
        if watchers:
            watchers[:] = [(node, callback) for node, callback in watchers if node.is_attached]
        yield from super().compose()
