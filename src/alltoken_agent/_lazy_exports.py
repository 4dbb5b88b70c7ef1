"""Package names imported on first use (PEP 562), so importing a package stays cheap.

The root package, ``ledger`` and ``catalog`` re-export names whose modules pull in
httpx, pydantic, SQLAlchemy or the catalog service. Each lists them in a table of
``module -> names`` and hands it here; a type checker reads the package's
``TYPE_CHECKING`` imports instead.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any], table: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """Give the package of ``namespace`` a ``__getattr__`` and ``__dir__`` for ``table``.

    Args:
        namespace: The package's ``globals()``; a loaded name is stored there, so later
            look-ups do not come back here.
        table: Module path -> the names it provides.

    Returns:
        Name -> the module it comes from.
    """
    source = {name: module for module, names in table.items() for name in names}
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = source.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace.get("__all__", ())})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
    return source
