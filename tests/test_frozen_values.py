"""The frozen values (usage, cost, results, prices, settings, records) behave as dataclasses did.

Their ``__init__`` is written out and the rest is ``FrozenValue``'s (``_frozen.py``): each
is checked against the same fields under dataclass's own generated methods.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent.agent._tool_definitions import Docstring
from alltoken_agent.agent.approval import ApprovalDecision, ApprovalRequest, Verdict
from alltoken_agent.agent.context import Counts, Fit
from alltoken_agent.agent.families import ModelFamily, RequestOptions
from alltoken_agent.agent.function_tool import ToolContext
from alltoken_agent.agent.planning import Prelude
from alltoken_agent.agent.result import RunResult, ToolCallRecord
from alltoken_agent.agent.tool_messages import ToolOutcome
from alltoken_agent.cli._gateway_options import GatewayOptions
from alltoken_agent.gateway._deadline import Deadlines
from alltoken_agent.gateway._transport import RetryNotice
from alltoken_agent.gateway.accounting import AccountingNotice, Cost, Usage
from alltoken_agent.gateway.providers import Provider, Resolved
from alltoken_agent.gateway.records import RequestRecord
from alltoken_agent.gateway.retry import RetryPolicy
from alltoken_agent.gateway.types import ChatResult, ModelPrice, ToolCall
from alltoken_agent.ledger.budgets import BudgetStatus, LedgerSpend
from alltoken_agent.paths import AppDirs

VALUES = [
    AccountingNotice,
    Usage,
    Cost,
    ToolCall,
    ChatResult,
    ModelPrice,
    ToolCallRecord,
    ApprovalRequest,
    ApprovalDecision,
    Verdict,
    ModelFamily,
    RequestOptions,
    Fit,
    Counts,
    ToolOutcome,
    RunResult,
    Prelude,
    ToolContext,
    Docstring,
    Provider,
    Resolved,
    RetryNotice,
    RetryPolicy,
    RequestRecord,
    Deadlines,
    GatewayOptions,
    AppDirs,
    BudgetStatus,
    LedgerSpend,
]


def reference(cls: type[Any]) -> type[Any]:
    """The same fields under a plain ``@dataclass(frozen=True)``."""
    spec = [(f.name, f.type, _same_field(f)) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, spec, frozen=True)


def _same_field(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=f.default_factory, repr=f.repr, compare=f.compare)
    return dataclasses.field(default=f.default, repr=f.repr, compare=f.compare)


def _made(f: dataclasses.Field[Any]) -> bool:
    return f.default_factory is not dataclasses.MISSING


def sample(cls: type[Any], marker: int) -> dict[str, Any]:
    return {f.name: f"{marker}-{f.name}" for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("cls", VALUES, ids=lambda cls: cls.__name__)
def test_a_value_compares_hashes_prints_and_freezes_as_its_dataclass_did(cls: type[Any]) -> None:
    ref = reference(cls)
    one, other = sample(cls, 1), sample(cls, 2)
    positional = list(one.values())
    assert cls(**one) == cls(*positional) and (cls(**one) == cls(**other)) is False
    assert cls(**one) != ref(**one)
    assert hash(cls(**one)) == hash(cls(**one)) == hash(ref(**one))
    assert repr(cls(**one)) == repr(ref(**one))
    value = cls(**one)
    for name in [f.name for f in dataclasses.fields(cls)]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, "x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(value, name)
    for twin in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert type(twin) is cls and twin == value
    first = next(iter(one))
    assert getattr(dataclasses.replace(value, **{first: "changed"}), first) == "changed"
    # A field made per instance (a fresh dict or list) has a marker as its default in the
    # written-out __init__ (None, mostly), as it had dataclass's factory marker before.
    made = {f.name for f in dataclasses.fields(cls) if _made(f)}
    ours = [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]
    theirs = [(p.name, p.default) for p in inspect.signature(ref).parameters.values()]
    assert [(n, n in made or d) for n, d in theirs] == [(n, n in made or d) for n, d in ours]
    required = {f.name: one[f.name] for f in dataclasses.fields(cls) if not _has_default(f)}
    first_made, second_made = cls(**required), cls(**required)
    for name in made:  # a fresh one each, as the factory gave
        assert getattr(first_made, name) == getattr(ref(**required), name)
        assert getattr(first_made, name) is not getattr(second_made, name)


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or _made(f)


def test_usage_keeps_its_raw_object_out_of_comparison_and_print() -> None:
    bare = Usage(1, 2, 3)
    assert bare.raw == {} and Usage().raw is not Usage().raw  # a fresh dict each, as before
    sent = {"prompt_tokens": 1, "extra": True}
    with_raw = Usage(1, 2, 3, raw=sent)
    assert with_raw.raw is sent and with_raw == bare and hash(with_raw) == hash(bare)
    assert "raw" not in repr(with_raw) and "cache_creation_tokens=None" in repr(with_raw)
    assert Usage(1, 2, 3, cache_creation_tokens=0) != bare  # 0 is not unknown


def test_cost_and_notice_keep_their_defaults() -> None:
    cost = Cost(Decimal("0.01"))
    assert (cost.input_price, cost.output_price, cost.source) == (None, None, "gateway")
    assert cost.to_dict()["cost"] == "0.01"
    assert {cost, Cost(Decimal("0.010"))} == {cost}  # equal decimals, one set member
    notice = AccountingNotice("usage_missing", "m")
    assert (notice.code, notice.message) == ("usage_missing", "m")


def test_a_chat_result_and_a_price_keep_their_defaults_and_overrides() -> None:
    result = ChatResult("hi")
    assert (result.reasoning, result.tool_calls, result.notices) == ("", (), ())
    assert result.usage is None and result.cost is None and result.service_tier is None
    assert result.to_message() == {"role": "assistant", "content": "hi"}
    call = ToolCall("c1", "clock", "{}")
    assert ChatResult("", tool_calls=(call,)).to_message()["tool_calls"] == [call.to_message()]
    price = ModelPrice("m", input_per_1k=Decimal("0.001"))
    assert (price.output_per_1k, price.source) == (None, "catalog")
    assert price.chat_cost(Usage(1000, 0, 1000)) is None  # no output price: unknown


def test_a_tool_call_record_is_a_frozen_value() -> None:
    made = ToolCallRecord("c1", "clock", {"tz": "UTC"}, "12:00", False, 1)
    assert made == ToolCallRecord("c1", "clock", {"tz": "UTC"}, "12:00", False, 1)
    assert made != ToolCallRecord("c1", "clock", {"tz": "UTC"}, "12:00", True, 1)
    assert repr(made).startswith("ToolCallRecord(call_id='c1', name='clock'")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.result = "x"  # type: ignore[misc]
