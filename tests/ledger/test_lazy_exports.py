"""The ledger and catalog packages load their names on first use, and every name loads.

Their ``__init__`` modules import nothing heavy (the agent imports them on its way to
a request), so ``__all__``, the ``TYPE_CHECKING`` imports and the lazy table must
agree; a name missing from the table would be an ``AttributeError`` only at run time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import ModuleType

import pytest

import alltoken_agent.catalog as catalog
import alltoken_agent.ledger as ledger


@pytest.mark.parametrize("package", [ledger, catalog], ids=["ledger", "catalog"])
def test_every_exported_name_loads_and_the_lazy_table_names_only_those(
    package: ModuleType,
) -> None:
    # The table also loads the few names kept out of __all__ for the package's own
    # modules (docs/architecture.md, "The public API").
    assert set(package.__all__) <= set(package._SOURCE)
    for name in package._SOURCE:
        assert getattr(package, name) is not None
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        package.nothing_here  # noqa: B018


@pytest.mark.slow
def test_counting_tokens_and_checking_a_running_budget_load_no_store() -> None:
    code = (
        "import json, sys\n"
        "from alltoken_agent.ledger import RunningBudget, estimate_request_cost\n"
        "from alltoken_agent.ledger.tokens import rough_token_count\n"
        "from alltoken_agent.catalog import PriceLookup\n"
        "RunningBudget(1).check(estimate_request_cost(None, rough_token_count([]), 1))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "sqlalchemy" not in {name.split(".")[0] for name in loaded}
    assert not {"alltoken_agent.store", "alltoken_agent.ledger.ledger"} & loaded
    assert "alltoken_agent.catalog.service" not in loaded
