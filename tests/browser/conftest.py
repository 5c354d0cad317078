"""Browser fixtures: Debian's chromium driven by Playwright, and live servers on 127.0.0.1."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest
from werkzeug.serving import make_server

from bot import create_app

CHROMIUM = os.environ.get("ACCORD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 20_000
CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real chromium against a live server")


def _unavailable(reason: str) -> None:
    # CI must run these: a missing browser there is a failure, not a silent skip.
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


class Server:
    """A WSGI app or a folder served from a thread on a free port of 127.0.0.1."""

    def __init__(self, app) -> None:
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.thread.join(timeout=5)


class Folder:
    """Static files from a folder: the 'other site' that embeds the widget."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="session")
def playwright_browser():
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(playwright_browser, tmp_path):
    """A fresh page that records dialogs and script errors (tests may resize it)."""
    context = playwright_browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []
    page.errors = []

    def on_dialog(dialog) -> None:
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()


@pytest.fixture
def shot(page, tmp_path) -> Callable[[str], Path]:
    """Save a screenshot of the page into the test's tmp_path."""
    def take(name: str) -> Path:
        return _screenshot(page, tmp_path / f"{name}.png", full_page=True)
    return take


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("other-site")


@pytest.fixture(scope="session")
def other_site(site_dir) -> Iterator[Folder]:
    server = Folder(site_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(real_index, real_encoder, other_site) -> Iterator[Server]:
    """The real model over the real corpus; the other site's origin may call the API."""
    app = create_app({"INDEX_DIR": str(real_index), "ENCODER": real_encoder,
                      "CORPUS_DIR": str(CORPUS), "ALLOWED_ORIGINS": other_site.url})
    server = Server(app)
    yield server
    server.stop()


@pytest.fixture
def serve_app() -> Iterator[Callable[..., Server]]:
    """Start an extra app server for one test, stopped afterwards."""
    servers: list[Server] = []

    def start(config: dict) -> Server:
        server = Server(create_app(config))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


ARTIFACTS = os.environ.get("ACCORD_BROWSER_ARTIFACTS")   # CI keeps the screenshots from here
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def open_page(playwright_browser, tmp_path) -> Iterator[Callable[..., object]]:
    """New pages with context options (viewport, color_scheme, locale...), errors recorded."""
    contexts = []

    def make(width: int = 1024, height: int = 800, **options):
        context = playwright_browser.new_context(viewport={"width": width, "height": height},
                                                 **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def snap(tmp_path) -> Callable[..., Path]:
    """Save a screenshot of any page, into tmp_path and ACCORD_BROWSER_ARTIFACTS when set."""
    def take(page, name: str, full_page: bool = False) -> Path:
        return _screenshot(page, tmp_path / f"{name}.png", full_page=full_page)
    return take


def _screenshot(page, path: Path, full_page: bool) -> Path:
    """A screenshot into `path`, copied to ACCORD_BROWSER_ARTIFACTS when CI sets it."""
    page.screenshot(path=str(path), full_page=full_page)
    if ARTIFACTS:
        Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(ARTIFACTS) / path.name)
    return path


@pytest.fixture(scope="session")
def axe_source() -> Path:
    if not AXE.is_file():
        _unavailable(f"no {AXE} (scripts/setup.sh installs it with npm)")
    return AXE
