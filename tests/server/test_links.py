"""File links signed with the store's shared key: any replica on the store opens them.

Two servers in this process share one SQLite file (and one media folder, the data
folder's), as replicas behind a load balancer share a database; a link made on one is
fetched from the other, and from a third started after the first stopped (a restart).
Tokens changed in any part, signed with another store's key, for another owner or past
their expiry open nothing (404 ``link_not_found``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent.server import owner_id
from alltoken_agent.server.console.links import (
    SECRET_NAME,
    FileLinks,
    MaskLinks,
    shared_links,
)
from alltoken_agent.store import Store
from alltoken_agent.store.server_secrets import ServerSecrets
from tests.batch.conftest import own_database, postgres
from tests.server.conftest import GATEWAY_KEY, KEY_A, KEY_B, MakeServer, ServerThread
from tests.server.test_media import fast, submit, wait_for

pytestmark = pytest.mark.slow  # many servers or processes: the full suite (CI) runs it

__all__ = ["own_database", "postgres"]  # fixtures, used by name


def _image_job(server: ServerThread, key: str = KEY_A, n: int = 1) -> dict[str, Any]:
    with server.client(key) as client:
        job = submit(client, "images", prompt="a paper boat", n=n)
        done: dict[str, Any] = wait_for(client, job["id"], "completed")
    return done


def _link(server: ServerThread, job_id: str, index: int = 0, key: str = KEY_A) -> str:
    with server.client(key) as client:
        response = client.post(f"/v1/jobs/{job_id}/files/{index}/link")
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


def _fetch(server: ServerThread, url: str) -> httpx.Response:
    with server.client(None) as anonymous:  # the link is the only credential
        return anonymous.get(url)


def _not_found(response: httpx.Response) -> bool:
    return response.status_code == 404 and response.json()["error"]["code"] == "link_not_found"


def _shared(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store replicas share: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return _shared(tmp_path)
    url: str = request.getfixturevalue("own_database")
    return url


def test_a_link_made_on_one_replica_opens_the_file_on_another_and_after_a_restart(
    make_server: MakeServer, sim: Any, shared_url: str
) -> None:
    sim.state.media.image_seconds = 0.05
    url = shared_url
    one, two = fast(make_server(store_url=url)), fast(make_server(store_url=url))
    job = _image_job(one)
    with one.client() as client:
        whole = client.get(f"/v1/jobs/{job['id']}/files/0").content
    link = _link(one, job["id"])
    for secret in (KEY_A, KEY_B, GATEWAY_KEY, owner_id(KEY_A)):
        assert secret not in link  # neither the key nor the owner id it hashes to
    on_two = _fetch(two, link)
    with two.client(None) as anonymous:
        part = anonymous.get(link, headers={"Range": "bytes=0-9"})
    assert on_two.status_code == 200, on_two.text
    assert on_two.content == whole and on_two.headers["content-type"] == "image/png"
    assert part.status_code == 206 and part.content == whole[:10]
    one.stop()
    three = make_server(store_url=url)  # a restart: nothing of the first process is left
    assert _fetch(three, link).content == whole


def test_an_expired_or_tampered_link_is_not_found(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    sim.state.media.image_seconds = 0.05
    server = fast(make_server())
    job = _image_job(server, n=2)
    assert len(job["files"]) == 2
    link = _link(server, job["id"])
    assert _fetch(server, link).status_code == 200
    prefix, token = link.rsplit("/", 1)
    job_part, index, expires, signature = token.split(".")
    other_job = _image_job(server)
    other_job_part = _link(server, other_job["id"]).rsplit("/", 1)[1].split(".")[0]
    changed = {
        "another file of the job": (job_part, "1", expires, signature),
        "another job of the owner": (other_job_part, index, expires, signature),
        "a later expiry": (job_part, index, str(int(expires) + 3600), signature),
        "another signature": (job_part, index, expires, signature[::-1]),
        "a padded signature": (job_part, index, expires, signature + "="),
        "a leading zero": (job_part, "00", expires, signature),
        "a missing part": (job_part, index, expires, ""),
    }
    for case, parts in changed.items():
        assert _not_found(_fetch(server, f"{prefix}/{'.'.join(parts)}")), case
    for garbage in ("x", "a.b.c.d", "." * 3, "é.0.1.2", "a" * 199):
        assert _not_found(_fetch(server, f"{prefix}/{garbage}")), garbage
    # The second file has its own link, and a link's life is the server's setting.
    second = _link(server, job["id"], 1)
    assert _fetch(server, second).content != _fetch(server, link).content
    server.app.state.file_links.seconds = 0
    assert _not_found(_fetch(server, _link(server, job["id"])))


def test_a_link_signed_for_another_owner_or_with_another_stores_key_is_refused(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    sim.state.media.image_seconds = 0.05
    server = fast(make_server(store_url=_shared(tmp_path)))
    job = _image_job(server)
    prefix = _link(server, job["id"]).rsplit("/", 1)[0]
    right_key = shared_links(server.store)
    token, _ = right_key.issue(owner_id(KEY_A), job["id"], 0)
    assert _fetch(server, f"{prefix}/{token}").status_code == 200  # the forger's method works
    bob, _ = right_key.issue(owner_id(KEY_B), job["id"], 0)  # B's link to A's job
    assert _not_found(_fetch(server, f"{prefix}/{bob}"))
    with Store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        foreign, _ = shared_links(other).issue(owner_id(KEY_A), job["id"], 0)
    assert _not_found(_fetch(server, f"{prefix}/{foreign}"))
    unsigned, _ = FileLinks().issue(owner_id(KEY_A), job["id"], 0)  # a process's own key
    assert _not_found(_fetch(server, f"{prefix}/{unsigned}"))
    with server.client(KEY_B) as client:
        assert client.post(f"/v1/jobs/{job['id']}/files/0/link").status_code == 404


def test_a_link_to_a_deleted_job_is_not_found(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    sim.state.media.image_seconds = 0.05
    server = fast(make_server(store_url=_shared(tmp_path)))
    job = _image_job(server)
    link = _link(server, job["id"])
    with sqlite3.connect(tmp_path / "shared.db") as raw:  # the journal row goes
        raw.execute("DELETE FROM media_jobs WHERE id = ?", (job["id"],))
    raw.close()
    assert _not_found(_fetch(server, link))


def test_the_store_makes_one_shared_key_even_when_many_ask_at_once(
    shared_url: str, tmp_path: Path
) -> None:
    url = shared_url
    stores = [Store(url) for _ in range(6)]
    keys: list[bytes] = []
    start = threading.Barrier(len(stores))

    def ask(store: Store) -> None:
        start.wait()
        keys.append(ServerSecrets.of(store).get(SECRET_NAME))

    threads = [threading.Thread(target=ask, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert len(keys) == len(stores) and len(set(keys)) == 1 and len(keys[0]) == 32
        assert ServerSecrets.of(stores[0]).get("another purpose") != keys[0]
    finally:
        for store in stores:
            store.close()
    with Store(url) as reopened:
        assert ServerSecrets.of(reopened).get(SECRET_NAME) == keys[0]
    with Store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert ServerSecrets.of(other).get(SECRET_NAME) != keys[0]


def test_a_signed_token_is_masked_in_the_access_log() -> None:
    token, seconds = FileLinks().issue("key_x", "job_1", 0)
    assert 0 < seconds <= 300
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/media-links/{token}?x=1", "1.1", 206),
        None,
    )
    assert MaskLinks().filter(record)
    assert token not in record.getMessage() and "/media-links/***?x=1" in record.getMessage()
