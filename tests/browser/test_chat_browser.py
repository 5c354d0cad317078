"""What a person sees in a real browser: the chat page, the widget on another site, inert markup."""
from __future__ import annotations

import json
import os

import pytest

from bot.index.build import build_index

try:
    from playwright.sync_api import Page, expect
except ImportError:  # CI must have it (see conftest); elsewhere these tests are optional
    if os.environ.get("CI"):
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

TRADE = "What is Hong Kong's rank among Chongqing's trading partners?"
TRADE_SENTENCE = "fourth largest trading partner"
GONG = "Where did Gong Zheng attend the Shanghai Global Promotion Conference?"
FOLLOW_UP = "What did he say there?"
OFF_TOPIC = "Who won the Champions League final?"
REPLIES = ".ac-log > .ac-bot:not(.ac-greeting):not(.ac-loading)"


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def reply(page: Page, n: int):
    """The n-th finished bot reply (1-based), once it has arrived."""
    replies = page.locator(REPLIES)
    expect(replies).to_have_count(n)
    return replies.nth(n - 1)


def test_page_answers_with_linked_highlighted_sources(page, live_server, shot):
    page.goto(live_server.url + "/")
    box = page.get_by_label("Your question")
    expect(box).to_be_focused()
    ask(page, TRADE)
    answer = reply(page, 1)
    expect(answer.locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    # The [n] marker opens its numbered source, the cited sentence highlighted.
    ref = answer.locator("a.ac-ref").first
    number = ref.inner_text().strip("[]")
    ref.click()
    target = answer.locator(".ac-source").nth(int(number) - 1)
    expect(target.locator(".ac-chip")).to_be_focused()
    expect(target.locator(".ac-num")).to_have_text(number)
    expect(target.locator("mark", has_text=TRADE_SENTENCE)).to_be_visible()
    expect(target.locator(".ac-title")).not_to_be_empty()
    expect(target.locator(".ac-meta")).to_contain_text("20")  # source · date

    # A source closes and opens again, keeping its highlight.
    chip = target.locator(".ac-chip")
    chip.click()
    expect(chip).to_have_attribute("aria-expanded", "false")
    expect(target.locator("mark")).to_be_hidden()
    chip.click()
    expect(target.locator("mark")).not_to_have_count(0)
    expect(box).to_have_value("")
    shot("page-answer")
    assert not page.errors and not page.dialogs


def test_follow_up_uses_the_conversation(page, live_server, shot):
    page.goto(live_server.url + "/")
    ask(page, GONG)
    expect(reply(page, 1).locator(".ac-answer")).to_be_visible()
    with page.expect_request("**/api/ask") as sent:
        ask(page, FOLLOW_UP)
    body = json.loads(sent.value.post_data)
    assert body["question"] == FOLLOW_UP
    assert body["history"][0] == {"role": "user", "text": GONG}
    assert body["history"][1]["role"] == "bot"
    second = reply(page, 2)
    expect(second).not_to_have_class("ac-noanswer")
    expect(second.locator(".ac-answer")).to_be_visible()
    expect(second.locator(".ac-source").first).to_be_visible()
    shot("follow-up")
    assert not page.errors


def test_off_topic_question_shows_not_in_documents(page, live_server, shot):
    page.goto(live_server.url + "/")
    ask(page, OFF_TOPIC)
    answer = reply(page, 1)
    expect(answer).to_have_class("ac-msg ac-bot ac-noanswer")
    expect(answer).to_contain_text("Not in the documents")
    expect(answer.locator(".ac-source")).to_have_count(0)
    shot("no-answer")


def test_loading_then_error_then_retry(page, live_server, shot):
    held = []
    page.route("**/api/ask", lambda route: held.append(route))
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    loading = page.locator(".ac-loading")
    expect(loading).to_be_visible()
    expect(page.locator(".ac-busy")).to_have_count(1)
    shot("loading")
    held.pop().fulfill(status=429, content_type="application/json", body=json.dumps(
        {"error": {"code": "rate_limited", "message": "Too many questions: wait a minute."}}))
    error = page.locator(".ac-error")
    expect(error).to_contain_text("Too many questions: wait a minute.")
    shot("server-error")

    page.unroute("**/api/ask")
    page.route("**/api/ask", lambda route: route.abort())
    ask(page, TRADE)
    expect(page.locator(".ac-error").nth(1)).to_contain_text("Could not reach the server")

    page.unroute("**/api/ask")
    page.locator(".ac-retry").last.click()
    expect(page.locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    shot("retried")


def test_page_is_readable_at_phone_width(page, live_server, shot):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    first = reply(page, 1).locator(".ac-source").first
    first.locator(".ac-chip").click()
    expect(first.locator("mark").first).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    send = page.get_by_role("button", name="Send").bounding_box()
    assert send["x"] + send["width"] <= 375
    shot("phone")


EMBED = """<!doctype html>
<html><head><meta charset="utf-8"><title>Partner site</title><link rel="icon" href="data:,">
<style>
  * {{ font-family: serif !important; }}
  button {{ display: none !important; }}
  mark, div, p {{ background: rgb(0, 0, 0) !important; }}
</style></head>
<body><h1>Partner site</h1><p>Our own page, with its own rough CSS.</p>
<script src="{api}/widget.js" async data-title="Ask the agreements" data-accent="rgb(138, 43, 226)"
        data-position="left" data-greeting="Hello from the widget"></script>
</body></html>
"""


def test_widget_on_another_site(page, live_server, other_site, site_dir, shot):
    (site_dir / "embed.html").write_text(EMBED.format(api=live_server.url), encoding="utf-8")
    page.goto(other_site.url + "/embed.html")
    launcher = page.get_by_role("button", name="Ask the agreements")
    expect(launcher).to_be_visible()  # the host's `button {display: none}` does not reach it
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(138, 43, 226)"
    assert launcher.bounding_box()["x"] < 100  # data-position="left"
    launcher.click()
    dialog = page.get_by_role("dialog", name="Ask the agreements")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Hello from the widget")
    expect(page.get_by_label("Your question")).to_be_focused()

    ask(page, TRADE)
    answer = reply(page, 1)
    answer.locator("a.ac-ref").first.click()
    mark = answer.locator(".ac-source mark", has_text=TRADE_SENTENCE)
    expect(mark).to_be_visible()
    assert "serif" != mark.evaluate("m => getComputedStyle(m).fontFamily")
    card = answer.locator(".ac-source").filter(has=page.locator("mark", has_text=TRADE_SENTENCE))
    expect(card.locator(".ac-title")).not_to_be_empty()
    expect(card.locator(".ac-meta")).to_contain_text("20")
    shot("widget-open")

    # Closing and opening again keeps the conversation.
    page.get_by_role("button", name="Close chat").click()
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    launcher.click()
    expect(reply(page, 1).locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    ask(page, FOLLOW_UP)
    reply(page, 2)
    shot("widget-kept")
    assert not page.errors, page.errors


MARKUP_DOC = """---
title: "Harbour notes <img src=x onerror=alert(3)>"
date: 2024-02-02
source: "Markup test wire"
---
# Harbour report

The Victoria Harbour ferry pilots logged the sample markup <script>alert(1)</script> in their ferry report.

Inspectors also found <img src=x onerror=alert(2)> written on the ferry pier notice board.
"""


def opened(answer):
    """The reply with every source, cited or related, opened to its passage."""
    for summary in answer.locator(".ac-related summary").all():
        summary.click()
    for chip in answer.locator(".ac-chip").all():
        chip.click()
    return answer


def test_markup_in_documents_stays_inert(page, serve_app, real_encoder, tmp_path, shot):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour-notes.md").write_text(MARKUP_DOC, encoding="utf-8")
    build_index(corpus, tmp_path / "index", real_encoder)
    server = serve_app({"INDEX_DIR": str(tmp_path / "index"), "ENCODER": real_encoder})
    page.goto(server.url + "/")
    ask(page, "What markup did the Victoria Harbour ferry pilots log in their ferry report?")
    answer = reply(page, 1)
    expect(answer.locator(".ac-source").first).to_be_visible()
    text = opened(answer).inner_text()
    assert "<script>alert(1)</script>" in text
    assert "Harbour notes <img src=x onerror=alert(3)>" in text
    ask(page, "What was written on the ferry pier notice board?")
    assert "<img src=x onerror=alert(2)>" in opened(reply(page, 2)).inner_text()
    page.wait_for_timeout(300)  # give any injected handler the chance to fire
    shot("markup-inert")
    assert page.dialogs == []
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2  # chat.js and page.js only
    assert not page.errors


def test_highlight_offsets_count_characters_as_python_does(page, live_server, shot):
    """Offsets come from Python strings: text with emoji or rare CJK must still mark the right words."""
    page.goto(live_server.url + "/")
    marked = page.evaluate("""() => {
        const p = document.createElement("p");
        // "𠮷" and "😀" are one character in Python but two UTF-16 units in JavaScript.
        AccordChat.renderPassage(p, "𠮷😀 Hong Kong trade", [[3, 12]], false);
        return [...p.querySelectorAll("mark")].map(m => m.textContent);
    }""")
    assert marked == ["Hong Kong"]
    shot("offsets")
