"""A config section's values read field by field, without ``model_dump()``.

The config's sections are pydantic models whose validators and serializers are built
on first use (``defer_build``), and ``chat`` builds its config without them
(``_config_quick``). A first ``model_dump()`` would build the serializers of the whole
config, about 20 ms of CPU before a request; the gateway's sections are flat (plain
values, one ``dict``), so reading the attributes gives what ``model_dump()`` gave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


def section_values(section: BaseModel, *, only_set: bool = False) -> dict[str, Any]:
    """The fields of a flat config section by name (``only_set``: those given explicitly).

    As ``section.model_dump(exclude_unset=only_set)`` for a section without nested
    models; a ``dict`` value is the section's own, so callers copy before changing it.
    """
    names = section.model_fields_set if only_set else type(section).model_fields
    return {name: getattr(section, name) for name in names}
