"""Media sits above the gateway: built from a gateway and a store, never by the gateway.

The import checks read the source (``ast``) rather than ``sys.modules``: an import under
``TYPE_CHECKING`` or inside a method is a cycle too, even when it never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import alltoken_agent
from alltoken_agent import Gateway, Media
from alltoken_agent.store import Store
from tests.media.conftest import FAST, media_gateway

PACKAGE = Path(alltoken_agent.__file__).parent


def _imported_modules(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[path.name] = names
    return found


def test_the_gateway_imports_nothing_of_media_nor_of_the_store() -> None:
    reached = {
        (module, name)
        for module, names in _imported_modules(PACKAGE / "gateway").items()
        for name in names
        if name.startswith(("alltoken_agent.media", "alltoken_agent.store"))
    }
    assert reached == set()


def test_media_never_reaches_into_the_gateways_http_client() -> None:
    reaching = [
        path.name
        for path in sorted((PACKAGE / "media").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "_client"
    ]
    assert reaching == []


def test_a_gateway_takes_no_store_and_has_no_media_api(sim: Any, store: Store) -> None:
    with pytest.raises(TypeError, match="store"):
        media_gateway_with_store(sim, store)
    gateway = media_gateway(sim)
    for name in ("store", "images", "videos"):
        assert not hasattr(gateway, name), name


def media_gateway_with_store(sim: Any, store: Store) -> Gateway:
    return Gateway("alltoken", base_url=sim.base_url, api_key="k", store=store)  # type: ignore[call-arg]


async def test_images_and_videos_of_one_media_share_its_store(
    gw: Gateway, store: Store, out: Path
) -> None:
    media = Media(gw, store)
    assert media.store is store
    image = await media.images.generate("a fox", save_to=out, poll=FAST)
    video = await media.videos.generate("a fox runs", duration=5, save_to=out, poll=FAST)
    journaled = {job.id: job.kind for job in store.media_jobs.list_jobs()}
    assert journaled == {image.job_id: "image", video.job_id: "video"}
    # Either kind is found and resumed by id through the one object.
    assert (await media.find(video.job_id)).kind == "video"
    again = await media.resume(image.job_id, poll=FAST)
    assert again.paths == image.paths


async def test_a_job_of_the_other_kind_is_refused_by_id_with_the_api_to_use(
    gw: Gateway, store: Store, out: Path
) -> None:
    media = Media(gw, store)
    image = await media.images.generate("a fox", save_to=out, poll=FAST)
    with pytest.raises(alltoken_agent.UserError, match=r"image job; resume it with media\.images"):
        await media.videos.resume(image.job_id, poll=FAST)
