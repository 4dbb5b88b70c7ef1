"""The gateway's frozen values (usage, cost, results, prices) behave as dataclasses did.

Their ``__init__`` is written out and the rest is ``FrozenValue``'s (gateway/accounting.py):
each is checked against the same fields under dataclass's own generated methods.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent.agent.result import ToolCallRecord
from alltoken_agent.gateway.accounting import AccountingNotice, Cost, Usage
from alltoken_agent.gateway.types import ChatResult, ModelPrice, ToolCall

VALUES = [AccountingNotice, Usage, Cost, ToolCall, ChatResult, ModelPrice, ToolCallRecord]


def reference(cls: type[Any]) -> type[Any]:
    """The same fields under a plain ``@dataclass(frozen=True)``."""
    spec = [
        (f.name, f.type, dataclasses.field(default=f.default, repr=f.repr, compare=f.compare))
        for f in dataclasses.fields(cls)
        if f.default_factory is dataclasses.MISSING
    ]
    return dataclasses.make_dataclass(cls.__name__, spec, frozen=True)


def sample(cls: type[Any], marker: int) -> dict[str, Any]:
    return {
        f.name: f"{marker}-{f.name}"
        for f in dataclasses.fields(cls)
        if f.default_factory is dataclasses.MISSING
    }


@pytest.mark.parametrize("cls", VALUES, ids=lambda cls: cls.__name__)
def test_a_value_compares_hashes_prints_and_freezes_as_its_dataclass_did(cls: type[Any]) -> None:
    ref = reference(cls)
    one, other = sample(cls, 1), sample(cls, 2)
    positional = [one.get(f.name, {}) for f in dataclasses.fields(cls)]  # {}: Usage's raw
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
    ours = [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]
    theirs = [(p.name, p.default) for p in inspect.signature(ref).parameters.values()]
    assert [p for p in ours if p[0] != "raw"] == theirs


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
