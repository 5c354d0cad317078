"""Thumbs up/down and a comment on each answer, in the chat page and in the widget on another site."""
from __future__ import annotations

import json
import os
import re
import sqlite3

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # CI must have it (see conftest); elsewhere these tests are optional
    if os.environ.get("CI"):
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from .test_chat_browser import EMBED, OFF_TOPIC, TRADE, ask, reply

pytestmark = pytest.mark.browser


def rows(db) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY seq")]


@pytest.fixture
def feedback_server(serve_app, real_index, real_encoder, other_site, tmp_path):
    db = tmp_path / "feedback.sqlite3"
    server = serve_app({"INDEX_DIR": str(real_index), "ENCODER": real_encoder,
                        "FEEDBACK_DB": str(db), "ALLOWED_ORIGINS": other_site.url})
    server.db = db
    return server


def test_rating_and_commenting_an_answer_on_the_page(page, feedback_server, shot):
    page.goto(feedback_server.url + "/")
    ask(page, TRADE)
    answer = reply(page, 1)
    down = answer.get_by_role("button", name=re.compile("^Not helpful"))
    up = answer.get_by_role("button", name=re.compile("^Helpful"))
    expect(down).to_have_attribute("aria-pressed", "false")
    with page.expect_request("**/api/feedback") as sent:
        down.click()
    body = json.loads(sent.value.post_data)
    assert body["rating"] == "down" and body["question"] == TRADE
    assert len(body["answer_id"]) == 32 and body["passage_ids"]
    expect(answer.locator(".ac-feedback-status")).to_have_text("Thanks for your feedback.")
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")

    # The optional comment: typed markup stays text.
    comment = answer.get_by_label("Comment on this answer (optional)")
    expect(comment).to_be_visible()
    comment.fill("<b>Wrong</b> year <img src=x onerror=alert(1)>")
    answer.get_by_role("button", name="Send comment").click()
    expect(answer.locator(".ac-feedback-status")).to_have_text("Thanks: your comment was sent.")
    expect(comment).to_be_hidden()
    shot("feedback-page")

    stored = rows(feedback_server.db)
    assert len(stored) == 1
    assert stored[0]["rating"] == -1 and stored[0]["question"] == TRADE
    assert stored[0]["comment"] == "<b>Wrong</b> year <img src=x onerror=alert(1)>"
    assert stored[0]["answer_id"] == body["answer_id"]

    # Changing one's mind replaces the rating of that answer.
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".ac-feedback-status")).to_have_text("Thanks for your feedback.")
    stored = rows(feedback_server.db)
    assert len(stored) == 1 and stored[0]["rating"] == 1 and stored[0]["comment"]

    # An answer the documents could not give can be rated too.
    ask(page, OFF_TOPIC)
    second = reply(page, 2)
    expect(second).to_have_class("ac-msg ac-bot ac-noanswer")
    second.get_by_role("button", name=re.compile("^Not helpful")).click()
    expect(second.locator(".ac-feedback-status")).to_have_text("Thanks for your feedback.")
    assert rows(feedback_server.db)[-1]["answered"] == 0
    assert page.dialogs == [] and page.locator("img").count() == 0
    assert not page.errors, page.errors


def test_a_failed_rating_says_why(page, feedback_server, shot):
    page.route("**/api/feedback", lambda route: route.fulfill(
        status=429, content_type="application/json", headers={"Retry-After": "30"},
        body=json.dumps({"error": {"code": "rate_limited",
                                   "message": "Too many requests. Try again in 30 seconds."}})))
    page.goto(feedback_server.url + "/")
    ask(page, TRADE)
    answer = reply(page, 1)
    answer.get_by_role("button", name=re.compile("^Helpful")).click()
    expect(answer.locator(".ac-feedback-status")).to_have_text(
        "Too many requests. Try again in 30 seconds.")
    expect(answer.get_by_label("Comment on this answer (optional)")).to_be_hidden()
    expect(answer.get_by_role("button", name=re.compile("^Helpful"))).to_have_attribute(
        "aria-pressed", "false")   # not kept, so not shown as chosen
    shot("feedback-error")
    page.unroute("**/api/feedback")
    answer.get_by_role("button", name=re.compile("^Helpful")).click()   # trying again works
    expect(answer.locator(".ac-feedback-status")).to_have_text("Thanks for your feedback.")
    assert rows(feedback_server.db)[0]["rating"] == 1


def test_rating_in_the_widget_on_another_site(page, feedback_server, other_site, site_dir, shot):
    (site_dir / "feedback-embed.html").write_text(EMBED.format(api=feedback_server.url),
                                                   encoding="utf-8")
    page.goto(other_site.url + "/feedback-embed.html")
    page.get_by_role("button", name="Ask the agreements").click()
    ask(page, TRADE)
    answer = reply(page, 1)
    thumbs_up = answer.get_by_role("button", name=re.compile("^Helpful"))
    expect(thumbs_up).to_be_visible()   # the host page's `button {display: none}` stays outside
    thumbs_up.click()
    expect(answer.locator(".ac-feedback-status")).to_have_text("Thanks for your feedback.")
    answer.get_by_label("Comment on this answer (optional)").fill("Clear and sourced.")
    answer.get_by_role("button", name="Send comment").click()
    expect(answer.locator(".ac-feedback-status")).to_have_text("Thanks: your comment was sent.")
    shot("feedback-widget")
    stored = rows(feedback_server.db)
    assert len(stored) == 1 and stored[0]["rating"] == 1
    assert stored[0]["comment"] == "Clear and sourced."
    assert not page.errors, page.errors
