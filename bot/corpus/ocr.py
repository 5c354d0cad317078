"""Reading text from an image of a page with Debian's tesseract, when it is installed."""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
from functools import lru_cache

from ..settings import BY_KEY

INSTALL_HINT = ("install an OCR engine: apt-get install tesseract-ocr tesseract-ocr-eng "
                "tesseract-ocr-chi-sim tesseract-ocr-chi-tra")
# Tesseract puts a space between Chinese characters; the text layer of a PDF has none.
CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]) +(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")


class OcrError(Exception):
    """A page could not be read by OCR (tesseract failed or ran out of time)."""


@lru_cache(maxsize=1)
def _installed() -> tuple[str, frozenset[str]] | None:
    """(tesseract path, installed languages), or None when there is no tesseract."""
    exe = shutil.which("tesseract")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    langs = frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())
    return exe, langs


DEFAULT_LANGUAGES = BY_KEY["OCR_LANGUAGES"].default


def languages(wanted: str = DEFAULT_LANGUAGES) -> str:
    """The OCR_LANGUAGES that are installed, joined by '+'; '' when OCR cannot run."""
    found = _installed()
    if not found:
        return ""
    return "+".join(lang for lang in str(wanted).split("+") if lang and lang in found[1])


def engine(wanted: str = DEFAULT_LANGUAGES) -> str:
    """What OCR would read pages with (part of a PDF's cache key: installing it re-reads them)."""
    return f"tesseract:{languages(wanted)}" if languages(wanted) else "none"


WALL_FACTOR = 4   # wall time allowed per CPU second: a busy machine slows OCR, not a bad page


def read_image(png: bytes, timeout: float, wanted: str = DEFAULT_LANGUAGES) -> str:
    """The text of one page image (PNG bytes), lines as tesseract found them; at most
    `timeout` CPU seconds (and WALL_FACTOR times that on the clock)."""
    return read_image_with_words(png, timeout, wanted)[0]


MAX_WORDS = 5000        # word boxes kept per page (a dense page of small print has ~1,000)
MAX_WORD_CHARS = 64


Word = tuple[str, int, int, int, int]   # text, left, top, width, height (pixels of the image)


def _words(tsv: str) -> list[Word]:
    """(text, left, top, width, height) in pixels of each word of tesseract's TSV."""
    out = []
    for line in tsv.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        try:
            left, top, width, height = (int(c) for c in cols[6:10])
        except ValueError:
            continue
        out.append((cols[11].strip()[:MAX_WORD_CHARS], left, top, width, height))
        if len(out) >= MAX_WORDS:
            break
    return out


def read_image_with_words(png: bytes, timeout: float,
                          wanted: str = DEFAULT_LANGUAGES) -> tuple[str, list[Word]]:
    """`read_image`'s text and, from the same recognition, each word's box in pixels of the
    image (what the viewer marks on a scanned page, which has no text layer)."""
    def limit() -> None:
        seconds = max(1, int(timeout))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))

    found, langs = _installed(), languages(wanted)
    if not found or not langs:
        raise OcrError(INSTALL_HINT)
    folder = tempfile.TemporaryDirectory(prefix="accord-ocr-")
    base = os.path.join(folder.name, "page")
    try:
        # One thread: the machine's cores serve questions; builds run beside them. One run
        # writes both the text (txt) and the word boxes (tsv).
        out = subprocess.run([found[0], "stdin", base, "-l", langs, "--psm", "3", "txt", "tsv"],
                             input=png, capture_output=True, timeout=timeout * WALL_FACTOR,
                             preexec_fn=limit,
                             env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
        text, tsv = (_read_output(f"{base}.{kind}") if out.returncode == 0 else ""
                     for kind in ("txt", "tsv"))
    except subprocess.TimeoutExpired:
        raise OcrError(f"OCR took longer than {timeout * WALL_FACTOR:.0f}s "
                       "(ACCORD_PDF_PAGE_SECONDS)") from None
    finally:
        folder.cleanup()
    if out.returncode in (-9, -24):   # SIGKILL, SIGXCPU: the CPU limit
        raise OcrError(f"OCR needed more than {timeout:.0f} CPU seconds (ACCORD_PDF_PAGE_SECONDS)")
    if out.returncode != 0:
        raise OcrError("tesseract failed: " + out.stderr.decode("utf-8", "replace").strip()[:200])
    return CJK_GAP.sub("", text), _words(tsv)


def _read_output(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
