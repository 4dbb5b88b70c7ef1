"""Structured output (json_schema / json_object) and the enable_search matrix."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, Field

from .helpers import chat, content_of, data_chunks, stream


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    zip_code: str = Field(min_length=5, max_length=5)


class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=130)
    score: float = Field(gt=0.5)
    active: bool
    tags: list[str] = Field(min_length=2)
    color: Color
    kind: Literal["human"]
    address: Address
    nickname: str | None = None
    previous: list[Address]
    born: dt.date
    parent: Person | None


class Tree(BaseModel):
    label: str
    children: list[Tree]


def response_format(model: type[BaseModel]) -> dict[str, object]:
    schema = model.model_json_schema()
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": schema, "strict": True},
    }


@pytest.mark.parametrize("model", [Person, Tree, Address])
def test_json_schema_reply_validates(client: httpx.Client, model: type[BaseModel]) -> None:
    body = client.post(
        "/chat/completions", json=chat(response_format=response_format(model))
    ).json()
    model.model_validate_json(body["choices"][0]["message"]["content"])
    streamed = content_of(
        data_chunks(stream(client, chat(response_format=response_format(model))).text)
    )
    model.model_validate_json(streamed)
    assert streamed == body["choices"][0]["message"]["content"]


def test_json_object_reply_is_an_object(client: httpx.Client) -> None:
    body = client.post(
        "/chat/completions", json=chat(response_format={"type": "json_object"})
    ).json()
    parsed = json.loads(body["choices"][0]["message"]["content"])
    assert isinstance(parsed, dict)
    assert parsed["simulated"] is True


def test_reply_directive_overrides_json_schema(client: httpx.Client) -> None:
    messages = [{"role": "user", "content": 'Give me a person [[reply {"name": 1}]]'}]
    body = client.post(
        "/chat/completions", json=chat(messages=messages, response_format=response_format(Person))
    ).json()
    assert body["choices"][0]["message"]["content"] == '{"name": 1}'


@pytest.mark.parametrize("model", ["deepseek-v4-pro", "qwen3.6-flash"])
def test_search_families_return_a_search_block(client: httpx.Client, model: str) -> None:
    body = client.post("/chat/completions", json=chat(model, enable_search=True)).json()
    text = body["choices"][0]["message"]["content"]
    assert text.startswith("[simulated web search] results for: Hello there, simulator")
    plain = client.post("/chat/completions", json=chat(model)).json()
    assert "[simulated web search]" not in plain["choices"][0]["message"]["content"]


@pytest.mark.parametrize("model", ["claude-opus-4-7", "glm-5.1", "kimi-k2.6", "minimax-m2.7"])
def test_search_flag_ignored(client: httpx.Client, model: str) -> None:
    searched = client.post("/chat/completions", json=chat(model, enable_search=True)).json()
    plain = client.post("/chat/completions", json=chat(model)).json()
    assert searched["choices"][0]["message"]["content"] == plain["choices"][0]["message"]["content"]


def test_gemini_refuses_search(client: httpx.Client) -> None:
    body = client.post(
        "/chat/completions", json=chat("gemini-3.1-pro-preview", enable_search=True)
    ).json()
    assert (
        body["choices"][0]["message"]["content"] == "I can't search the web right now. (simulated)"
    )


@pytest.mark.parametrize("model", ["gpt-5.4", "gpt-5.4-nano", "gpt-5.5"])
def test_openai_family_search_is_503_before_the_stream(client: httpx.Client, model: str) -> None:
    response = client.post("/chat/completions", json=chat(model, enable_search=True, stream=True))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "all_providers_failed"
