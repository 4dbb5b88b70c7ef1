"""The web console in a real headless Chromium: log in, chat, models, media, spend, keys.

Every action goes through the browser against a server on the simulator; what the
server stored is then checked over the API where it matters.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.web.conftest import (
    KEY_A,
    KEY_B,
    MakeServer,
    OpenPage,
    ServerThread,
    images_loaded,
)

pytestmark = pytest.mark.slow

TOKYO = "What time is it in Tokyo?"


def _send(visit, text: str) -> None:
    page = visit.page
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()
    # The turn is over once its cost line is written (the Send button comes back).
    page.get_by_role("button", name="Send").wait_for(state="visible")
    page.locator(".msg.assistant .meta").last.wait_for()


def test_login_with_a_key_then_chat_with_a_tool_call(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto()
    page = visit.page
    page.get_by_label("Server key").fill("not-a-key-of-this-server-000")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("That key is not one of this server's keys.").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    visit.login(KEY_A)
    assert page.evaluate("Object.values(sessionStorage)") == [KEY_A]
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.getItem('alltoken-agent.server-key')") is None

    _send(visit, TOKYO)
    card = page.locator(".tool", has_text="get_current_time")
    assert card.count() == 1
    assert "Asia/Tokyo" in card.locator(".args").inner_text()
    assert "Asia/Tokyo" in card.locator(".result").inner_text()
    assert "get_current_time returned" in page.locator(".msg.assistant .md").last.inner_text()
    assert re.search(r"^Turn cost: \$\d", page.locator(".turn-cost").last.inner_text())
    page.locator("#convo-list li", has_text=TOKYO).wait_for()
    page.locator("#session-total", has_text=re.compile(r"Session: \$0\.0*[1-9]")).wait_for()

    # Reloaded from history, the turn still shows what it cost (from the ledger).
    page.get_by_role("button", name="New chat").click()
    assert page.locator(".turn-cost").count() == 0
    page.locator("#convo-list li", has_text=TOKYO).locator("button.open").click()
    reloaded = page.locator(".msg.assistant").last.locator(".turn-cost")
    reloaded.wait_for()
    assert re.fullmatch(r"Turn cost: \$0\.0*[1-9]\d*", reloaded.inner_text())
    assert page.locator(".turn-cost").count() == 1  # one turn, on its last answer

    with keyed_server.client(KEY_A) as client:
        sessions = client.get("/v1/sessions").json()["sessions"]
    assert [s["name"] for s in sessions] == [TOKYO]
    assert sessions[0]["message_count"] == 4  # user, tool call, tool result, answer
    assert visit.urls and all(KEY_A not in url for url in visit.urls)


def test_an_open_server_on_loopback_needs_no_login(
    make_server: MakeServer, open_page: OpenPage
) -> None:
    server = make_server(keys=())
    visit = open_page(server)
    visit.goto()
    visit.page.get_by_label("Message").wait_for()
    assert visit.page.locator("#login").is_hidden()
    assert visit.page.locator("#logout").is_hidden()


def test_switching_the_model_moves_the_session_to_it(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto()
    visit.login(KEY_A)
    page = visit.page
    _send(visit, "Hello")
    picker = page.locator("#model-picker")
    options = picker.locator("option")
    first = options.first.inner_text()
    assert "per 1M" in first and "(simulated)" not in first  # the catalog's prices
    labels = [options.nth(i).get_attribute("value") for i in range(options.count())]
    other = next(model for model in labels if model and model != picker.input_value())
    picker.select_option(other)
    page.locator("#convo-list li", has_text=other).wait_for()
    _send(visit, "Hello again")
    model_line = page.locator(".msg.assistant").last.locator(".meta").first
    assert model_line.inner_text().startswith(other)
    with keyed_server.client(KEY_A) as client:
        assert client.get("/v1/sessions").json()["sessions"][0]["model"] == other


def test_conversations_can_be_searched_renamed_and_deleted(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    with keyed_server.client(KEY_A) as client:
        for name in ("alpha talk", "beta talk"):
            session = client.post("/v1/sessions", json={}).json()
            client.patch(f"/v1/sessions/{session['id']}", json={"name": name})
    visit = open_page(keyed_server)
    visit.goto()
    visit.login(KEY_A)
    page = visit.page
    items = page.locator("#convo-list li")
    items.filter(has_text="alpha talk").wait_for()
    page.get_by_label("Search conversations").fill("beta")
    assert items.count() == 1 and "beta talk" in items.first.inner_text()
    page.get_by_label("Search conversations").fill("")

    page.get_by_role("button", name="Rename alpha talk").click()
    page.get_by_label("New name").fill("gamma talk")
    page.get_by_label("New name").press("Enter")
    items.filter(has_text="gamma talk").wait_for()
    page.get_by_role("button", name="Delete beta talk").click()  # the confirm is accepted
    items.filter(has_text="beta talk").wait_for(state="detached")
    with keyed_server.client(KEY_A) as client:
        names = [s["name"] for s in client.get("/v1/sessions").json()["sessions"]]
    assert names == ["gamma talk"]


def test_model_output_is_shown_as_text_never_as_markup(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto()
    visit.login(KEY_A)
    hostile = (
        '[[reply <img src=x onerror="window.pwned=1"> **bold** '
        "[click](javascript:window.pwned=2) <script>window.pwned=3</script>]]"
    )
    _send(visit, hostile)
    answer = visit.page.locator(".msg.assistant .md").last
    assert answer.locator("strong").inner_text() == "bold"
    assert answer.locator("img, script, a").count() == 0
    assert '<img src=x onerror="window.pwned=1">' in answer.inner_text()
    assert visit.page.evaluate("window.pwned") is None


def test_stop_ends_a_streaming_reply(keyed_server: ServerThread, open_page: OpenPage, sim) -> None:
    visit = open_page(keyed_server)
    visit.goto()
    visit.login(KEY_A)
    page = visit.page
    sim.state.enqueue_faults(["trickle:0.05"])  # one word every 50 ms, never finishing
    page.get_by_label("Message").fill("Tell me a long story")
    page.get_by_role("button", name="Send").click()
    page.locator(".msg.assistant .md").last.filter(has_text=re.compile(r"\w")).wait_for()
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped.").wait_for()
    assert page.get_by_role("button", name="Send").is_visible()


def test_an_image_generated_in_the_console_shows_in_the_gallery(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto("/media")
    visit.login(KEY_A)
    page = visit.page
    page.get_by_label("Prompt").fill("a red fox in the snow")
    page.get_by_role("button", name="Generate").click()
    image = page.locator("#gallery img[alt='a red fox in the snow']")
    image.wait_for()
    images_loaded(page)
    caption = page.locator("#gallery li").filter(has=page.locator("img")).locator(".caption")
    caption = caption.first.inner_text()
    assert "gpt-image-2" in caption
    # The gateway reports no cost for images: the server prices it from the catalog.
    assert "$0.04" in caption and "unknown" not in caption
    assert page.locator("#pending li", has_text="Nothing pending.").count() == 1
    with keyed_server.client(KEY_A) as client:
        jobs = client.get("/v1/jobs").json()["jobs"]
    assert [(j["status"], j["params"]["prompt"]) for j in jobs] == [
        ("completed", "a red fox in the snow")
    ]


def test_the_spend_chart_updates_after_a_chat(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto("/spend")
    visit.login(KEY_A)
    page = visit.page
    real = page.locator("[data-book='real']")
    real.wait_for()
    assert page.locator(".chart rect").count() == 0
    assert "none set" in real.locator(".figures").inner_text()

    page.get_by_role("link", name="Chat").click()
    _send(visit, TOKYO)
    page.get_by_role("link", name="Spend").click()
    real.locator(".chart rect").first.wait_for()
    assert "minimax-m2.7" in real.locator(".legend").inner_text()
    assert TOKYO in real.get_by_role("table", name="Most expensive sessions").inner_text()
    assert re.search(r"This month\s*\$0\.0*[1-9]", real.locator(".figures").inner_text())
    real.get_by_text("Show as a table").click()
    row = real.locator(".figures-table tbody tr")
    assert row.count() == 1 and "minimax-m2.7" in row.inner_text()


def test_simulated_spend_is_drawn_apart_and_labelled(
    offline_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(offline_server)
    visit.goto()
    _send(visit, TOKYO)
    visit.page.locator("#session-total", has_text="(simulated)").wait_for()
    # The simulator's catalog prices are made up too, and the model picker says so.
    assert "per 1M (simulated)" in visit.page.locator("#model-picker option").first.inner_text()
    visit.page.get_by_role("link", name="Spend").click()
    simulated = visit.page.locator("[data-book='simulated']")
    simulated.locator(".chart rect").first.wait_for()
    assert "not money" in simulated.locator("h2").inner_text()
    assert "never added to real spend" in simulated.inner_text()
    assert visit.page.locator("[data-book='real'] .chart rect").count() == 0
    visit.page.get_by_role("link", name="Media").click()
    priced = visit.page.locator("#media-model option", has_text=" per ").first
    priced.wait_for(state="attached")
    assert priced.inner_text().endswith("(simulated)")


def test_another_key_sees_none_of_it(keyed_server: ServerThread, open_page: OpenPage) -> None:
    first = open_page(keyed_server)
    first.goto()
    first.login(KEY_A)
    _send(first, TOKYO)
    with keyed_server.client(KEY_A) as client:
        job = client.post("/v1/images", json={"prompt": "a secret fox"}).json()
        for _ in range(600):  # polling, as any client does; the job takes well under a second
            if client.get(f"/v1/jobs/{job['id']}").json()["status"] == "completed":
                break
            time.sleep(0.05)

    second = open_page(keyed_server)
    second.goto()
    second.login(KEY_B)
    page = second.page
    page.get_by_text("No conversations yet.").wait_for()
    page.get_by_role("link", name="Media").click()
    page.get_by_text("No saved results yet.").wait_for()
    assert page.locator("#gallery img").count() == 0
    page.get_by_role("link", name="Spend").click()
    page.locator("[data-book='real']").wait_for()
    assert page.locator(".chart rect").count() == 0
    assert page.locator("[data-book='simulated']").count() == 0
    with keyed_server.client(KEY_B) as client:
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_a_video_plays_in_the_gallery_and_a_pending_one_can_be_cancelled(
    keyed_server: ServerThread, open_page: OpenPage, sim
) -> None:
    from tests.server.test_media import fast

    fast(keyed_server)
    visit = open_page(keyed_server)
    visit.goto("/media")
    visit.login(KEY_A)
    page = visit.page
    page.get_by_label("Kind").select_option("video")
    page.get_by_label("Prompt").fill("a paper boat")
    page.get_by_role("button", name="Generate").click()
    video = page.locator("#gallery video[aria-label='Video: a paper boat']")
    video.wait_for()
    for _ in range(600):  # the video streams from a short-lived link, never the key
        if (video.get_attribute("src") or "").startswith("/media-links/"):
            break
        page.wait_for_timeout(50)
    assert (video.get_attribute("src") or "").startswith("/media-links/")
    check = "v => new Promise(done => v.readyState >= 1 ? done(v.duration) : "
    check += "v.addEventListener('loadedmetadata', () => done(v.duration)))"
    assert video.evaluate(check) > 0  # the player read the file through the link
    streamed = [url for url in visit.urls if "/media-links/" in url]
    assert streamed and all(KEY_A not in url for url in streamed)

    sim.state.media.enqueue_job_faults(["slow:60"])  # still running when Cancel is pressed
    page.get_by_label("Prompt").fill("a slow river")
    page.get_by_role("button", name="Generate").click()
    pending = page.locator("#pending li", has_text="a slow river")
    pending.locator(".status", has_text="pending").wait_for()
    pending.get_by_role("button", name="Resume").click()  # already followed: stays as it is
    page.locator("#status", has_text="Resumed.").wait_for(state="attached")
    pending = page.locator("#pending li", has_text="a slow river")
    pending.get_by_role("button", name="Cancel").click()  # the confirm is accepted
    page.locator("#pending li", has_text="Nothing pending.").wait_for()
    with keyed_server.client(KEY_A) as client:
        statuses = {
            j["params"]["prompt"]: j["status"] for j in client.get("/v1/jobs").json()["jobs"]
        }
    assert statuses == {"a paper boat": "completed", "a slow river": "cancelled"}


def test_the_theme_toggle_and_the_keyboard_work(
    make_server: MakeServer, open_page: OpenPage
) -> None:
    visit = open_page(make_server(keys=()))
    visit.goto()
    page = visit.page
    page.get_by_label("Message").wait_for()
    toggle = page.locator("#theme-toggle")
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light
    assert toggle.get_attribute("aria-label") == "Colour theme: dark"

    page.get_by_label("Message").focus()
    page.keyboard.type("Hello")
    page.keyboard.press("Enter")  # Enter sends; Shift+Enter would add a line
    page.locator(".msg.assistant .meta").last.wait_for()
    assert page.locator(".msg.user").inner_text() == "Hello"
    page.get_by_label("Message").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # back past the message box: the transcript is focusable
    assert page.evaluate("document.activeElement.id") == "transcript"


def test_markdown_renders_and_reasoning_is_folded(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto()
    visit.login(KEY_A)
    page = visit.page
    page.get_by_label("Reasoning").check()
    reply = (
        "[[reply ## Plan\n- first *step*\n- second `step`\n\n```py\nif a < b: pass\n```\n"
        "See [the docs](https://docs.example/guide).]]"
    )
    _send(visit, reply)
    answer = page.locator(".msg.assistant").last
    markdown = answer.locator(".md")
    assert markdown.locator("h4").inner_text() == "Plan"
    assert markdown.locator("ul li").all_inner_texts() == ["first step", "second step"]
    assert markdown.locator("li em").inner_text() == "step"
    assert markdown.locator("pre code").inner_text() == "if a < b: pass"
    link = markdown.locator("a")
    assert link.get_attribute("href") == "https://docs.example/guide"
    assert "noopener" in (link.get_attribute("rel") or "")
    reasoning = answer.locator("details.reasoning")
    assert reasoning.count() == 1 and reasoning.get_attribute("open") is None  # folded
    assert "Simulated reasoning" in reasoning.locator("pre").text_content()
    assert page.get_by_label("Reasoning").is_disabled()  # set when the conversation started


def test_a_new_chat_is_named_after_its_first_message_even_when_the_name_is_taken(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)
    visit.goto()
    visit.login(KEY_A)
    _send(visit, "Hello")
    visit.page.get_by_role("button", name="New chat").click()
    _send(visit, "Hello")
    with keyed_server.client(KEY_A) as client:
        sessions = client.get("/v1/sessions").json()["sessions"]
    names = sorted(session["name"] for session in sessions)
    newest = sessions[0]
    assert names == ["Hello", f"Hello · {newest['id'][-4:]}"]
