"""The simulated model catalog: ids, modalities and simulated prices.

Ids are the "verified working" and spec-named ids of docs/wire-format.md §1.6 plus
`deepseek-v3.2` and `glm-5` (probed in §1.11). Prices are simulated but plausible, in
USD per 1,000 tokens for chat (the unit of the cost comment, §1.5), per image and per
video second for media. `gpt-5.4-nano` carries the §1.5 example prices (0.0002 / 0.00125)
so the documented cost example can be reproduced exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from alltoken_agent.simulator._constants import Dialect

Modality = Literal["text", "vision", "image", "video"]
SearchBehaviour = Literal["search", "ignore", "refuse", "fail"]

CREATED: Final = 1_767_225_600
"""`created` stamp of every catalog entry (2026-01-01T00:00:00Z), fixed for determinism."""


@dataclass(frozen=True)
class CatalogModel:
    """One model of the simulated catalog."""

    id: str
    """Gateway model id."""
    display_name: str
    """Human name."""
    brand: str
    """Vendor brand, e.g. `OpenAI`."""
    family: str
    """Model family, e.g. `gpt`."""
    provider: str
    """Provider id used by `/api-account/providers` (invented ids)."""
    modality: Modality
    """§1.6 modality: `vision` means multimodal-input chat."""
    inputs: tuple[str, ...] = ("text",)
    """Input modalities."""
    input_price: Decimal | None = None
    """Chat: USD per 1,000 prompt tokens."""
    output_price: Decimal | None = None
    """Chat: USD per 1,000 completion tokens."""
    per_image: Decimal | None = None
    """Image models: USD per image."""
    per_second: Decimal | None = None
    """Video models: USD per second of video."""
    context_length: int | None = None
    """Chat: context window in tokens."""
    max_output_tokens: int | None = None
    """Chat: output cap in tokens."""
    reasoning: bool = False
    """Chat: streams `reasoning_content` when thinking is on."""
    tags: tuple[str, ...] = ()
    """Catalog tags (`cheap`, `flagship`, `code`, ...)."""
    dialects: tuple[Dialect, ...] = ("alltoken", "tokenhub")
    """Gateways that serve the model (media models differ per gateway)."""

    @property
    def is_chat(self) -> bool:
        """Whether `/v1/chat/completions` serves this model."""
        return self.modality in ("text", "vision")

    @property
    def outputs(self) -> tuple[str, ...]:
        """Output modalities."""
        return {"image": ("image",), "video": ("video",)}.get(self.modality, ("text",))

    @property
    def search(self) -> SearchBehaviour:
        """What `enable_search: true` does on AllToken for this model (§1.11)."""
        return search_behaviour(self.id)


# vendor key -> (brand, family, provider id). Provider ids are invented.
_VENDORS: Final[dict[str, tuple[str, str, str]]] = {
    "openai": ("OpenAI", "gpt", "openai"),
    "openai-image": ("OpenAI", "gpt-image", "openai"),
    "anthropic": ("Anthropic", "claude", "anthropic"),
    "google": ("Google", "gemini", "google"),
    "zhipu": ("Zhipu AI", "glm", "zhipu"),
    "alibaba": ("Alibaba", "qwen", "alibaba"),
    "alibaba-wan": ("Alibaba", "wan", "alibaba"),
    "deepseek": ("DeepSeek", "deepseek", "deepseek"),
    "moonshot": ("Moonshot AI", "kimi", "moonshot"),
    "minimax": ("MiniMax", "minimax", "minimax"),
    "bytedance": ("ByteDance", "seedance", "bytedance"),
    # invented: no source names the vendor of the happyhorse models.
    "happyhorse": ("HappyHorse", "happyhorse", "happyhorse"),
}

# id  vendor  modality  input/output USD per 1K tokens  context  max-output  reasoning  tags  name
_CHAT_TABLE: Final = """
gpt-5.4-nano           openai    vision 0.0002  0.00125 400000  128000 y cheap    GPT-5.4 nano
gpt-5.4-mini           openai    vision 0.00075 0.0045  400000  128000 y cheap    GPT-5.4 mini
gpt-5.4                openai    vision 0.0025  0.015   1050000 128000 y flagship GPT-5.4
gpt-5.4-pro            openai    vision 0.03    0.18    1050000 128000 y flagship GPT-5.4 Pro
gpt-5.5                openai    vision 0.005   0.03    1050000 128000 y flagship GPT-5.5
gpt-5.3-codex          openai    text   0.00175 0.014   400000  128000 y code     GPT-5.3 Codex
claude-haiku-4-5       anthropic vision 0.001   0.005   200000  64000  y cheap    Claude Haiku 4.5
claude-sonnet-4-6      anthropic vision 0.003   0.015   1000000 64000  y flagship Claude Sonnet 4.6
claude-opus-4-7        anthropic vision 0.005   0.025   1000000 128000 y flagship Claude Opus 4.7
gemini-3-flash-preview google    vision 0.0005  0.003   1048576 65536  y cheap    Gemini 3 Flash
gemini-3.1-pro-preview google    vision 0.002   0.012   1048576 65536  y flagship Gemini 3.1 Pro
glm-4.7-flash          zhipu     text   0.00007 0.0004  200000  128000 y cheap    GLM-4.7 Flash
glm-5                  zhipu     text   0.001   0.0032  200000  128000 y -        GLM-5
glm-5.1                zhipu     text   0.0014  0.0044  200000  128000 y flagship GLM-5.1
qwen3.6-flash          alibaba   vision 0.00005 0.0004  1000000 65536  y cheap    Qwen3.6 Flash
qwen3.6-max-preview    alibaba   text   0.0012  0.006   262144  65536  y flagship Qwen3.6 Max
qwen3-coder-next       alibaba   text   0.0003  0.0015  262144  65536  n code     Qwen3 Coder Next
deepseek-v3.2          deepseek  text   0.00028 0.00042 131072  65536  y -        DeepSeek V3.2
deepseek-v4-flash      deepseek  text   0.00014 0.00028 1000000 65536  y cheap    DeepSeek V4 Flash
deepseek-v4-pro        deepseek  text   0.00055 0.0022  1000000 65536  y flagship DeepSeek V4 Pro
kimi-k2.6              moonshot  vision 0.0006  0.0025  262144  65536  y flagship Kimi K2.6
minimax-m2.5-highspeed minimax   text   0.0003  0.0024  204800  131072 y cheap    MiniMax M2.5 HS
minimax-m2.7           minimax   text   0.0003  0.0012  204800  131072 y flagship MiniMax M2.7
"""

# id  vendor  modality  USD per image (image) or per second of video (video)  gateways  name
# Gateways: at = AllToken (§1.6, §1.7, §1.9), th = TokenHub (the models its docs use as
# examples of the three body shapes, §2.3/§2.4: wanx2.1-t2i-turbo and wan2.6-t2v are
# shape A, wan2.6-t2i and wan2.7-t2v shape B, gpt-image-2 and happyhorse-1.0-t2v shape C;
# which other media models TokenHub serves is unknown, so the simulator serves no others).
_MEDIA_TABLE: Final = """
gpt-image-2               openai-image image 0.04  at,th GPT Image 2
wan2.7-image              alibaba-wan  image 0.03  at    Wan 2.7 Image
wan2.7-image-pro          alibaba-wan  image 0.06  at    Wan 2.7 Image Pro
wanx2.1-t2i-turbo         alibaba-wan  image 0.02  th    Wanx 2.1 T2I Turbo
wan2.6-t2i                alibaba-wan  image 0.03  th    Wan 2.6 T2I
seedance-1.0-pro          bytedance    video 0.03  at    Seedance 1.0 Pro
seedance-1.0-pro-fast     bytedance    video 0.012 at    Seedance 1.0 Pro Fast
seedance-1.5-pro          bytedance    video 0.05  at    Seedance 1.5 Pro
seedance-2.0              bytedance    video 0.1   at    Seedance 2.0
seedance-2.0-fast         bytedance    video 0.06  at    Seedance 2.0 Fast
seedance-2.5              bytedance    video 0.12  at    Seedance 2.5
happyhorse-1.0-t2v        happyhorse   video 0.08  at,th HappyHorse 1.0 T2V
happyhorse-1.0-i2v        happyhorse   video 0.08  at    HappyHorse 1.0 I2V
happyhorse-1.0-video-edit happyhorse   video 0.1   at    HappyHorse 1.0 Video Edit
happyhorse-1.0-r2v        happyhorse   video 0.08  at    HappyHorse 1.0 R2V
wan2.6-t2v                alibaba-wan  video 0.1   th    Wan 2.6 T2V
wan2.7-t2v                alibaba-wan  video 0.1   th    Wan 2.7 T2V
"""

_GATEWAYS: Final[dict[str, Dialect]] = {"at": "alltoken", "th": "tokenhub"}

_MODALITIES: Final[dict[str, Modality]] = {
    "text": "text",
    "vision": "vision",
    "image": "image",
    "video": "video",
}


def _parse_chat(line: str) -> CatalogModel:
    id_, vendor, modality, inp, out, ctx, max_out, reasoning, tags, name = line.split(None, 9)
    brand, family, provider = _VENDORS[vendor]
    return CatalogModel(
        id=id_,
        display_name=name,
        brand=brand,
        family=family,
        provider=provider,
        modality=_MODALITIES[modality],
        inputs=("text", "image") if modality == "vision" else ("text",),
        input_price=Decimal(inp),
        output_price=Decimal(out),
        context_length=int(ctx),
        max_output_tokens=int(max_out),
        reasoning=reasoning == "y",
        tags=() if tags == "-" else tuple(tags.split(",")),
    )


def _parse_media(line: str) -> CatalogModel:
    id_, vendor, modality, price, gateways, name = line.split(None, 5)
    brand, family, provider = _VENDORS[vendor]
    inputs = ("text", "video") if id_.endswith("video-edit") else ("text", "image")
    return CatalogModel(
        id=id_,
        display_name=name,
        brand=brand,
        family=family,
        provider=provider,
        modality=_MODALITIES[modality],
        inputs=inputs,
        per_image=Decimal(price) if modality == "image" else None,
        per_second=Decimal(price) if modality == "video" else None,
        tags=(modality,),
        dialects=tuple(_GATEWAYS[g] for g in gateways.split(",")),
    )


MODELS: Final[tuple[CatalogModel, ...]] = tuple(
    [_parse_chat(line) for line in _CHAT_TABLE.strip().splitlines()]
    + [_parse_media(line) for line in _MEDIA_TABLE.strip().splitlines()]
)
"""Every simulated model, chat first, in a stable order."""

_BY_ID: Final[dict[str, CatalogModel]] = {model.id: model for model in MODELS}

_SEARCH_PREFIXES: Final[tuple[tuple[str, SearchBehaviour], ...]] = (
    ("deepseek", "search"),
    ("qwen", "search"),
    ("claude", "ignore"),
    ("glm", "ignore"),
    ("kimi", "ignore"),
    ("minimax", "ignore"),
    ("gemini", "refuse"),
    ("gpt", "fail"),
)


def search_behaviour(model_id: str) -> SearchBehaviour:
    """Map a model id to its §1.11 web-search outcome by family prefix.

    Args:
        model_id: Gateway model id.

    Returns:
        `search`, `ignore` (flag silently ignored), `refuse` or `fail` (HTTP 503).
    """
    for prefix, behaviour in _SEARCH_PREFIXES:
        if model_id.startswith(prefix):
            return behaviour
    if re.match(r"o\d", model_id):  # OpenAI o-series is the OpenAI family too
        return "fail"
    return "ignore"


def get_model(model_id: str) -> CatalogModel | None:
    """Return the catalog entry with exactly this id, if any (any gateway)."""
    return _BY_ID.get(model_id)


def models_for(dialect: Dialect) -> tuple[CatalogModel, ...]:
    """Return the models one gateway serves, in catalog order."""
    return tuple(m for m in MODELS if dialect in m.dialects)


def resolve_model(requested: str, dialect: Dialect) -> CatalogModel | None:
    """Resolve a requested model id as the dialect's gateway would.

    AllToken takes exact ids only. TokenHub also takes provider-prefixed ids
    (`alibaba/deepseek-v3.2`, `tokenhub/gpt-image-2`, docs/wire-format.md §2.1); the simulator
    strips everything up to the last `/`.

    Args:
        requested: The `model` field as sent.
        dialect: Wire dialect.

    Returns:
        The catalog entry, or None for a model unknown to that gateway.
    """
    model = _BY_ID.get(requested)
    if model is None and dialect == "tokenhub" and "/" in requested:
        model = _BY_ID.get(requested.rsplit("/", 1)[1])
    return model if model is not None and dialect in model.dialects else None
