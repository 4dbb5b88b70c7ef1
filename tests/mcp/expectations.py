"""What every transport must show: the tool list and its schemas."""

from __future__ import annotations

from typing import Any

TOOL_NAMES = ["chat", "generate_image", "generate_video", "list_models", "usage"]


def check_tool_listing(tools: list[Any]) -> None:
    """The registered tools, with the input schemas clients rely on."""
    by_name = {tool.name: tool for tool in tools}
    assert sorted(by_name) == sorted(TOOL_NAMES)

    chat = by_name["chat"].input_schema
    assert chat["required"] == ["prompt"]
    assert set(chat["properties"]) == {"prompt", "model", "session", "system", "images"}
    assert chat["properties"]["prompt"]["type"] == "string"
    assert by_name["chat"].output_schema["required"][:2] == ["text", "model"]

    models = by_name["list_models"].input_schema
    assert models.get("required", []) == []
    modality = models["properties"]["modality"]["anyOf"][0]
    assert modality["enum"] == ["text", "vision", "image", "video", "audio"]

    image = by_name["generate_image"].input_schema
    assert image["required"] == ["prompt"]
    assert set(image["properties"]) == {"prompt", "model", "size", "quality", "output_format"}
    assert image["properties"]["output_format"]["anyOf"][0]["enum"] == ["png", "jpeg", "webp"]
    video = by_name["generate_video"].input_schema
    assert video["required"] == ["prompt"]
    assert set(video["properties"]) == {"prompt", "model", "duration", "ratio", "resolution"}
    for name in ("generate_image", "generate_video"):
        assert by_name[name].output_schema["required"][:2] == ["job_id", "model"]

    usage = by_name["usage"].input_schema
    assert usage.get("required", []) == []
    assert usage["properties"]["by"]["enum"] == ["model", "day", "session"]
    assert usage["properties"]["since"]["default"] == "7d"
    for tool in tools:
        assert tool.description, tool.name


def text_of(result: Any) -> str:
    """The text of a tool result's first content block."""
    block = result.content[0]
    assert block.type == "text", block
    return str(block.text)
