"""The chat page and the widget as a visitor meets them (issue 17): compact sources, a kept
conversation, phones and dark mode, three languages, honest states, per-corpus words, a11y."""
from __future__ import annotations

import json
import logging
import os
import shutil

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # CI must have it (see conftest); elsewhere these tests are optional
    if os.environ.get("CI"):
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from bot.index.build import build_index

from .test_chat_browser import OFF_TOPIC, REPLIES, TRADE, TRADE_SENTENCE, ask, reply

pytestmark = pytest.mark.browser

PHONE = (375, 740)
LANDSCAPE = (740, 360)
DESKTOP = (1280, 800)
ZH_HANT_OFF_TOPIC = "誰贏了歐洲冠軍聯賽決賽？"
ZH_HANS_OFF_TOPIC = "谁赢了欧洲冠军联赛决赛？"

HOSTILE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner site</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
  * {{ font-family: serif !important; color: rgb(255, 0, 0) !important; }}
  div, section, accord-widget, [data-accord-widget] {{
    border: 2px dashed green !important; display: block !important; height: 50px !important;
    margin: 20px !important; padding: 10px !important; }}
  button {{ display: none !important; }}
  #banner button {{ display: inline-block !important; }}
  mark, p {{ background: rgb(0, 0, 0) !important; }}
</style></head>
<body><h1>Partner site</h1><p id="last">Our own page, with its own rough CSS.</p>
<div id="banner" style="position: fixed; bottom: 0; left: 0; right: 0; height: 80px !important;
     margin: 0 !important; background: #eee">We use cookies <button>Accept</button></div>
{script}
</body></html>
"""
WIDGET_TAG = ('<script src="{api}/widget.js" async data-offset="16 120" {attrs}></script>')


def embed(site_dir, name: str, api: str, attrs: str = "", widget: bool = True) -> str:
    script = WIDGET_TAG.format(api=api, attrs=attrs) if widget else ""
    (site_dir / name).write_text(HOSTILE.format(script=script), encoding="utf-8")
    return name


def open_widget(page):
    launcher = page.locator("accord-widget").locator(".aw-launcher")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    return launcher


def box(locator) -> dict:
    return locator.bounding_box()


# 1. Answers first, sources compact ---------------------------------------------------------

def with_extras(route) -> None:
    """The real reply, plus what the parallel server work adds: url, page and related."""
    response = route.fetch()
    body = response.json()
    if body.get("citations"):
        first = body["citations"][0]
        first["url"] = "https://example.org/original.pdf#page=3"
        first["page"] = 3
        extra = dict(first, passage_id="extra#1", title="A related passage")
        extra.pop("n")
        extra.pop("url")
        body["related"] = [extra]
    route.fulfill(response=response, body=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_answer_first_sources_compact(open_page, live_server, snap, size):
    page = open_page(*size)
    page.route("**/api/ask", with_extras)
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    answer = reply(page, 1)
    text = answer.locator(".ac-answer")
    expect(text).to_contain_text(TRADE_SENTENCE)
    # A typical reply fits the conversation area of one screen.
    log_height = page.locator(".ac-log").evaluate("l => l.clientHeight")
    height = box(answer)["height"]
    assert height <= log_height, (height, log_height)
    # Thumbs right under the answer, before the sources.
    thumbs = answer.locator(".ac-feedback-row")
    assert 0 <= box(thumbs)["y"] - (box(text)["y"] + box(text)["height"]) <= 16
    assert box(thumbs)["y"] < box(answer.locator(".ac-sources-label"))["y"]
    # Only the cited sources are rows; each shows title and meta, its passage hidden until opened.
    chips = answer.locator(".ac-sources:not(.ac-related-list) > .ac-source")
    expect(chips).to_have_count(answer.locator(".ac-answer a.ac-ref").count())
    first = chips.first
    expect(first.locator(".ac-title")).not_to_be_empty()
    expect(first.locator(".ac-meta")).to_contain_text("20")
    expect(first.locator(".ac-meta")).to_contain_text("p. 3")
    expect(first.locator("mark")).to_be_hidden()
    link = first.locator("a.ac-link")
    expect(link).to_have_attribute("href", "https://example.org/original.pdf#page=3")
    expect(link).to_have_attribute("target", "_blank")
    assert "noopener" in link.get_attribute("rel")
    # The [n] marker opens its source at the highlighted sentence.
    answer.locator("a.ac-ref").first.click()
    expect(first.locator(".ac-chip")).to_be_focused()
    expect(first.locator(".ac-chip")).to_have_attribute("aria-expanded", "true")
    expect(first.locator("mark", has_text=TRADE_SENTENCE)).to_be_visible()
    first.locator(".ac-chip").click()
    expect(first.locator("mark")).to_be_hidden()
    # Related passages: one collapsed line.
    related = answer.locator("details.ac-related")
    expect(related).to_have_count(1)
    expect(related.locator("summary")).to_contain_text("related passage")
    assert related.evaluate("d => d.open") is False
    expect(related.locator(".ac-title", has_text="A related passage")).to_be_hidden()
    related.locator("summary").click()
    expect(related.locator(".ac-title", has_text="A related passage")).to_be_visible()
    related.locator("summary").click()
    snap(page, f"compact-{size[0]}")
    assert not page.errors, page.errors


# 2. A conversation that lasts ----------------------------------------------------------------

def test_page_conversation_survives_reload_and_new_chat_clears_it(open_page, live_server, snap):
    page = open_page(*PHONE)
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    expect(reply(page, 1).locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    page.reload()
    expect(reply(page, 1).locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    expect(page.locator(".ac-user")).to_contain_text(TRADE)
    with page.expect_request("**/api/ask") as sent:
        ask(page, "And in 2023?")
    assert json.loads(sent.value.post_data)["history"][0] == {"role": "user", "text": TRADE}
    reply(page, 2)
    snap(page, "reload-kept")
    page.get_by_role("button", name="New chat").click()
    expect(page.locator(REPLIES)).to_have_count(0)
    expect(page.locator(".ac-greeting")).to_be_visible()
    page.reload()
    expect(page.locator(".ac-greeting")).to_be_visible()
    expect(page.locator(REPLIES)).to_have_count(0)


def test_kept_conversation_is_bounded(open_page, live_server):
    page = open_page()
    page.goto(live_server.url + "/")
    key = "accord-chat:" + live_server.url + "/api/ask"
    page.evaluate("""([key]) => {
        const turn = i => ({question: "question " + i, reply: {answered: false, citations: [],
                            answer: "x".repeat(3000)}});
        sessionStorage.setItem(key, JSON.stringify(Array.from({length: 60}, (_, i) => turn(i))));
    }""", [key])
    page.reload()
    users = page.locator(".ac-user")
    assert 0 < users.count() <= 20
    expect(users.last.locator(".ac-text")).to_have_text("question 59")   # the latest turns are the ones kept
    ask(page, OFF_TOPIC)
    reply(page, users.count())
    stored = page.evaluate("([key]) => sessionStorage.getItem(key).length", [key])
    assert stored <= 200_000


def test_copy_answer_with_its_citations(open_page, live_server):
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    answer = reply(page, 1)
    answer.locator(".ac-copy").click()
    expect(answer.locator(".ac-feedback-status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert TRADE_SENTENCE in copied and "[1]" in copied
    title = answer.locator(".ac-source .ac-title").first.inner_text()
    assert f"[1] {title}" in copied


def test_widget_conversation_follows_the_visitor_across_pages(open_page, live_server, other_site,
                                                             site_dir, snap):
    embed(site_dir, "one.html", live_server.url)
    embed(site_dir, "two.html", live_server.url)
    page = open_page(*DESKTOP)
    page.goto(other_site.url + "/one.html")
    open_widget(page)
    ask(page, TRADE)
    expect(reply(page, 1).locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    page.goto(other_site.url + "/two.html")
    expect(page.get_by_role("dialog")).to_be_visible()    # still open on the next page
    expect(reply(page, 1).locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    snap(page, "widget-next-page")
    assert not page.errors, page.errors


# 3. Every screen: phones, the host page untouched, position, dark mode -----------------------

@pytest.mark.parametrize("size", [PHONE, LANDSCAPE], ids=["portrait", "landscape"])
def test_widget_is_full_screen_on_phones(open_page, live_server, other_site, site_dir, snap, size):
    embed(site_dir, "phone.html", live_server.url)
    page = open_page(*size, has_touch=True, is_mobile=True)
    page.goto(other_site.url + "/phone.html")
    launcher = open_widget(page)
    panel = box(page.get_by_role("dialog"))
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, size[0], size[1])
    expect(launcher).to_be_hidden()
    ask(page, TRADE)
    answer = reply(page, 1)
    expect(answer.locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    # No token (a date, a source) breaks over two lines.
    broken = page.locator("accord-widget").locator(".ac-nowrap").evaluate_all(
        "spans => spans.filter(s => s.getBoundingClientRect().height >"
        " 1.5 * parseFloat(getComputedStyle(s).lineHeight)).map(s => s.textContent)")
    assert broken == []
    area = page.locator("accord-widget").locator(".ac-log").evaluate("l => l.clientHeight")
    print(f"widget {size}: message area {area}px")
    assert area >= size[1] * 0.6
    snap(page, f"widget-phone-{size[0]}x{size[1]}")
    page.get_by_role("button", name="Close chat").click()
    expect(launcher).to_be_visible()


def test_widget_leaves_a_hostile_host_page_untouched(open_page, live_server, other_site, site_dir,
                                                     snap):
    embed(site_dir, "bare.html", live_server.url, widget=False)
    embed(site_dir, "host.html", live_server.url, attrs='data-position="left"')
    page = open_page(*DESKTOP)
    page.goto(other_site.url + "/bare.html")
    layout = page.evaluate("[document.documentElement.scrollHeight, "
                           "document.getElementById('last').getBoundingClientRect().bottom]")
    page.goto(other_site.url + "/host.html")
    launcher = page.locator("accord-widget").locator(".aw-launcher")
    expect(launcher).to_be_visible()
    assert page.evaluate("[document.documentElement.scrollHeight, "
                         "document.getElementById('last').getBoundingClientRect().bottom]") == layout
    host = page.locator("accord-widget")
    looks = host.evaluate("h => { const s = getComputedStyle(h); const r = h.getBoundingClientRect();"
                          " return [s.borderTopStyle, s.position, r.width, r.height]; }")
    assert looks == ["none", "fixed", 0, 0]
    assert launcher.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    assert "serif" != launcher.evaluate("b => getComputedStyle(b).fontFamily")
    # data-offset="16 120" lifts the launcher above the cookie banner; data-position="left".
    banner = box(page.locator("#banner"))
    spot = box(launcher)
    assert spot["y"] + spot["height"] <= banner["y"]
    assert spot["x"] == 16
    page.locator("#banner button").click()   # the banner's Accept is not covered
    snap(page, "widget-hostile-host")
    assert not page.errors, page.errors


def test_dark_mode_on_page_and_widget(open_page, live_server, other_site, site_dir, snap):
    page = open_page(*DESKTOP, color_scheme="dark")
    page.goto(live_server.url + "/")
    chat_bg = "c => getComputedStyle(c).backgroundColor"
    assert page.locator(".ac-chat").evaluate(chat_bg) == "rgb(13, 17, 23)"
    ask(page, TRADE)
    reply(page, 1)
    snap(page, "page-dark")
    page.goto(live_server.url + "/?theme=light")
    assert page.locator(".ac-chat").evaluate(chat_bg) == "rgb(255, 255, 255)"

    embed(site_dir, "dark.html", live_server.url, attrs='data-theme="dark"')
    light = open_page(*DESKTOP, color_scheme="light")
    light.goto(other_site.url + "/dark.html")
    open_widget(light)
    assert light.locator("accord-widget").locator(".ac-chat").evaluate(chat_bg) == "rgb(13, 17, 23)"
    snap(light, "widget-dark")


# 4. Every language ----------------------------------------------------------------------------

@pytest.mark.parametrize("locale, lang, send, hint", [
    ("en-GB", "en", "Send", "Answers come only from"),
    ("zh-HK", "zh-Hant", "傳送", "答案只來自"),
    ("zh-CN", "zh-Hans", "发送", "答案只来自"),
])
def test_page_speaks_the_browsers_language(open_page, live_server, snap, locale, lang, send, hint):
    page = open_page(*PHONE, locale=locale)
    page.goto(live_server.url + "/")
    assert page.evaluate("document.documentElement.lang") == lang
    expect(page.get_by_role("button", name=send, exact=True)).to_be_visible()
    question = {"en": OFF_TOPIC, "zh-Hant": ZH_HANT_OFF_TOPIC, "zh-Hans": ZH_HANS_OFF_TOPIC}[lang]
    page.locator(".ac-input").fill(question)
    page.locator(".ac-input").press("Enter")
    answer = reply(page, 1)
    expect(answer).to_have_class("ac-msg ac-bot ac-noanswer")
    expect(answer.locator(".ac-hint")).to_contain_text(hint)
    snap(page, f"page-{lang}")


def test_hint_follows_the_questions_language_and_attribute_wins(open_page, live_server, other_site,
                                                               site_dir, snap):
    page = open_page(locale="zh-HK")
    page.goto(live_server.url + "/?lang=en")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    ask(page, ZH_HANS_OFF_TOPIC)
    answer = reply(page, 1)
    expect(answer.locator(".ac-label")).to_have_text("文件中没有答案")
    expect(answer.locator(".ac-hint")).to_contain_text("答案只来自")
    expect(answer.locator(".ac-answer")).to_contain_text("没有")   # the server's refusal, Simplified

    embed(site_dir, "zh.html", live_server.url, attrs='data-lang="zh-Hant"')
    widget = open_page(locale="en-US")
    widget.goto(other_site.url + "/zh.html")
    open_widget(widget)
    expect(widget.get_by_role("button", name="傳送", exact=True)).to_be_visible()
    expect(widget.get_by_role("dialog")).to_contain_text("香港")   # page.yaml's zh-Hant greeting
    snap(widget, "widget-zh-Hant")


# 5. Honest states ------------------------------------------------------------------------------

class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_widget_on_a_disallowed_origin_says_so(open_page, serve_app, real_index, real_encoder,
                                               other_site, site_dir, snap):
    server = serve_app({"INDEX_DIR": str(real_index), "ENCODER": real_encoder})   # no origins
    lines = Lines()
    logging.getLogger("accord.web").addHandler(lines)
    try:
        embed(site_dir, "refused.html", server.url)
        page = open_page()
        page.goto(other_site.url + "/refused.html")
        open_widget(page)
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("This site is not allowed to use this bot")
        expect(dialog.locator(".ac-retry")).to_have_count(0)
        expect(dialog.locator(".ac-input")).to_be_disabled()
        snap(page, "widget-refused")
    finally:
        logging.getLogger("accord.web").removeHandler(lines)
    assert any(other_site.url in line and "ACCORD_ALLOWED_ORIGINS" in line for line in lines.lines)


def test_without_an_index_visitors_read_not_ready_yet(open_page, serve_app, real_encoder, tmp_path,
                                                     snap):
    server = serve_app({"INDEX_DIR": str(tmp_path / "empty"), "ENCODER": real_encoder,
                        "REQUIRE_INDEX": False})
    page = open_page(*PHONE)
    page.goto(server.url + "/")
    expect(page.locator(".page-alert")).to_contain_text("not ready yet")
    ask(page, TRADE)
    expect(page.locator(".ac-error")).to_contain_text("not ready yet")
    text = page.locator("body").inner_text()
    assert "accord build" not in text and "index" not in text.lower()
    health = page.request.get(server.url + "/api/health").json()
    assert "accord build" in json.dumps(health)     # the operator's detail stays there
    snap(page, "not-ready")


def test_enter_while_loading_tells_and_keeps_the_question(open_page, live_server):
    page = open_page()
    held = []
    page.route("**/api/ask", lambda route: held.append(route))
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    expect(page.locator(".ac-loading")).to_be_visible()
    ask(page, OFF_TOPIC)
    expect(page.locator(".ac-busy-note")).to_contain_text("Wait for the answer")
    expect(page.get_by_label("Your question")).to_have_value(OFF_TOPIC)
    held.pop().continue_()
    expect(reply(page, 1).locator(".ac-answer")).to_contain_text(TRADE_SENTENCE)
    expect(page.locator(".ac-busy-note")).to_be_empty()


def test_privacy_line_only_when_questions_are_stored(open_page, live_server, serve_app, real_index,
                                                     real_encoder):
    page = open_page()
    page.goto(live_server.url + "/")
    expect(page.locator(".ac-privacy")).to_contain_text("Questions are stored")
    quiet = serve_app({"INDEX_DIR": str(real_index), "ENCODER": real_encoder,
                       "STORE_QUESTIONS": False})
    page.goto(quiet.url + "/")
    expect(page.locator(".ac-input")).to_be_visible()
    expect(page.locator(".ac-privacy")).to_have_count(0)


# 6. Configurable for any corpus -----------------------------------------------------------------

def test_words_come_from_page_yaml_or_the_corpus(open_page, serve_app, real_encoder, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.md").write_text('---\ntitle: "Harbour ferry report"\ndate: 2024-02-02\n'
                                       'source: "Test wire"\n---\nThe ferry pilots logged fog.\n',
                                       encoding="utf-8")
    build_index(corpus, tmp_path / "index", real_encoder)
    server = serve_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(corpus),
                        "ENCODER": real_encoder})
    page = open_page()
    page.goto(server.url + "/")
    # No page.yaml: nothing about Chongqing, examples from the documents' titles.
    expect(page.locator(".page-head h1")).to_have_text("Ask the documents")
    expect(page.locator(".ac-suggestion")).to_have_text(["What does “Harbour ferry report” say?"])
    assert "Chongqing" not in page.locator("body").inner_text()
    (corpus / "page.yaml").write_text(
        "title: Harbour bot\ngreeting: Ask about the ferries.\nexamples:\n  - What did the pilots log?\n"
        "translations:\n  zh-Hant:\n    title: 港口機械人\n", encoding="utf-8")
    page.reload()
    expect(page.locator(".page-head h1")).to_have_text("Harbour bot")
    expect(page.locator(".ac-greeting .ac-text")).to_have_text("Ask about the ferries.")
    expect(page.locator(".ac-suggestion")).to_have_text(["What did the pilots log?"])
    page.goto(server.url + "/?lang=zh-Hant")
    expect(page.locator(".page-head h1")).to_have_text("港口機械人")
    config = page.request.get(server.url + "/api/config").json()
    assert config["title"] == "Harbour bot" and config["translations"]["zh-Hant"]["title"] == "港口機械人"
    assert config["limits"]["question_chars"] == 1000


# 7. Accessible -------------------------------------------------------------------------------

def test_messages_thumbs_and_live_region_are_labelled(open_page, live_server):
    page = open_page()
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    answer = reply(page, 1)
    expect(page.locator(".ac-user .ac-speaker")).to_have_text("You said:")
    expect(answer.locator(".ac-speaker")).to_have_text("Accord said:")
    expect(answer.get_by_role("button", name=f"Helpful: the answer to “{TRADE}”", exact=True)).to_be_visible()
    expect(answer.get_by_role("button", name=f"Not helpful: the answer to “{TRADE}”")).to_be_visible()
    live = page.locator("[aria-live]")
    expect(live).to_have_count(1)
    expect(live).to_contain_text(TRADE_SENTENCE)
    title = answer.locator(".ac-source .ac-title").first.inner_text()
    assert title not in live.inner_text()
    assert page.locator(".ac-log").get_attribute("role") is None   # a role=log would read it all


def axe_violations(page, axe_source) -> list[str]:
    page.add_script_tag(path=str(axe_source))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.id + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
    }""")
    return found


@pytest.mark.parametrize("scheme, size", [("light", DESKTOP), ("dark", PHONE)])
def test_axe_finds_no_serious_violation(open_page, live_server, other_site, site_dir, axe_source,
                                        snap, scheme, size):
    page = open_page(*size, color_scheme=scheme, bypass_csp=True)
    page.goto(live_server.url + "/")
    ask(page, TRADE)
    answer = reply(page, 1)
    answer.locator(".ac-chip").first.click()
    assert axe_violations(page, axe_source) == []

    (site_dir / "plain.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Site</title></head>'
        f'<body><main><h1>Site</h1></main><script src="{live_server.url}/widget.js" async>'
        '</script></body></html>', encoding="utf-8")
    widget = open_page(*size, color_scheme=scheme, bypass_csp=True)
    widget.goto(other_site.url + "/plain.html")
    open_widget(widget)
    ask(widget, TRADE)
    reply(widget, 1).locator(".ac-chip").first.click()
    assert axe_violations(widget, axe_source) == []
    snap(widget, f"axe-widget-{scheme}")
