"""Reading a PDF into headed paragraphs with their pages (pypdfium2), scanned pages by OCR.

pypdfium2 was chosen by measurement (docs/operations.md, "PDF and Word documents"): on
generated reports it extracted text 3-6x faster than pypdf and 7-100x faster than
pdfplumber, kept the columns of a two-column page apart (pdfplumber interleaved their
lines), marked hyphens at line ends, and renders pages for OCR itself.

Reading runs in a child process with an address-space limit and a CPU limit per page, so a
decompression bomb in a stream, or a PDF that makes the library spin or crash, fails that one
document with a clear error and never the server or the build."""
from __future__ import annotations

import io
import json
import re
import resource
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass

from ..errors import DocumentError
from .limits import DEFAULT_LIMITS, ReadLimits
from .tables import rows_to_text

MAGIC = b"%PDF-"
MIN_PAGE_CHARS = 16        # fewer characters of body text than this, plus an image: a scanned page
MAX_PAGE_CHARS = 200_000   # more on one page is not a document a person reads
MAX_OCR_PIXELS = 25_000_000
MARGIN = 0.1               # top and bottom tenth of a page: where running headers and footers live
HEADING_RATIO = 1.2        # a line this much larger than the body text is a heading
PAGE_NUMBER = re.compile(r"^(page\s*)?(\d{1,4}|[ivxlc]{1,6})(\s*(of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$",
                         re.IGNORECASE)
TERMINAL = tuple('.!?:;"”’)。！？；：」』')
SENTENCE_END = tuple('.!?。！？')
SOFT_HYPHEN = ("\x02", "\ufffe", "\u00ad")   # pdfium's marks for a word broken at a line end
LOWER_START = re.compile(r"^[a-z]")


@dataclass
class Line:
    page: int
    top: float
    bottom: float
    x0: float
    size: float
    cells: list[tuple[float, str]]   # (left x, text) of runs separated by wide gaps
    right: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.cells)


def _rects(textpage, pdfium_c) -> list[tuple[float, float, float, float, str, float]]:
    """The text runs of a page in the file's order: (left, bottom, right, top, text, font size)."""
    out = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        text = textpage.get_text_bounded(left, bottom, right, top)
        if not text.strip():
            continue
        index = textpage.get_index(left + 0.5, (bottom + top) / 2, 2, (top - bottom) / 2 + 1)
        size = pdfium_c.FPDFText_GetFontSize(textpage.raw, index) if index >= 0 else 0
        out.append((left, bottom, right, top, text.replace("\r", "").replace("\n", " "),
                    size or (top - bottom)))
    return out


def _lines(page_no: int, rects) -> list[Line]:
    """Runs on one baseline joined into lines; a gap wider than 1.5 em starts a new cell."""
    lines: list[Line] = []
    for left, bottom, right, top, text, size in rects:
        prev = lines[-1] if lines else None
        same = prev is not None and left >= prev.right - 1 and (
            min(prev.top, top) - max(prev.bottom, bottom) > 0.5 * min(prev.top - prev.bottom, top - bottom))
        if not same:
            lines.append(Line(page_no, top, bottom, left, size, [(left, text)], right))
            continue
        if left - prev.right > 1.5 * max(size, prev.size):
            prev.cells.append((left, text))
        else:
            x, old = prev.cells[-1]
            sep = "" if old.endswith(" ") or left - prev.right < 0.15 * size else " "
            prev.cells[-1] = (x, old + sep + text)
        prev.right, prev.size = right, max(prev.size, size)
        prev.top, prev.bottom = max(prev.top, top), min(prev.bottom, bottom)
    for line in lines:
        line.cells = [(x, " ".join(t.split())) for x, t in line.cells if t.strip()]
    return [line for line in lines if line.cells]


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _body_size(pages: list[tuple[list[Line], float]]) -> float:
    """The font size most of the text is set in (weighted by characters)."""
    sizes = Counter()
    for lines, _ in pages:
        for line in lines:
            sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _drop_furniture(pages: list[tuple[list[Line], float]], body: float) -> set[str]:
    """Drop page numbers and the running headers and footers (margin lines on most pages);
    a heading near the top ("Section 3" on every page) is text, not furniture."""
    def margin(line: Line, height: float) -> bool:
        return line.size < HEADING_RATIO * body and (
            line.top > height * (1 - MARGIN) or line.bottom < height * MARGIN)

    seen = Counter()
    for lines, height in pages:
        seen.update({_furniture_key(l.text) for l in lines if margin(l, height)})
    threshold = max(2, len(pages) // 2)
    repeated = {key for key, count in seen.items() if count >= threshold}
    for lines, height in pages:
        lines[:] = [l for l in lines if not (margin(l, height) and (
            PAGE_NUMBER.match(l.text.strip()) or _furniture_key(l.text) in repeated))]
    return repeated


def _join(a: str, b: str) -> str:
    """Two lines of a paragraph: a word hyphenated across them is joined again."""
    if a.endswith(SOFT_HYPHEN):
        return a[:-1] + b
    if a.endswith("-") and len(a) > 1 and a[-2].isalpha() and LOWER_START.match(b):
        return a[:-1] + b
    if re.search(r"[\u3000-\u9fff]$", a) and re.match(r"^[\u3000-\u9fff]", b):
        return a + b
    return a + " " + b


def _is_table(group: list[Line]) -> bool:
    columns = len(group[0].cells)
    return len(group) >= 2 and all(
        len(l.cells) == columns and all(abs(x - y) < 2 * l.size for (x, _), (y, _) in zip(l.cells, group[0].cells))
        for l in group)


def _table_blocks(group: list[Line]) -> list[dict]:
    """Aligned cells: a table read row by row under its headings; two wide columns of prose
    written line by line across the page are read column by column instead."""
    widths = [len(t) for l in group for _, t in l.cells]
    page = group[0].page
    if len(group[0].cells) == 2 and statistics.mean(widths) > 30:
        out = []
        for col in range(2):
            text = ""
            for line in group:
                text = _join(text, line.cells[col][1]) if text else line.cells[col][1]
            out.append({"text": text, "heading": False, "page": page})
        return out
    rows = [[t for _, t in l.cells] for l in group]
    return [{"text": t, "heading": False, "page": page} for t in rows_to_text(rows)]


def _paragraphs(lines: list[Line], body: float) -> list[dict]:
    """Headings, table rows and paragraphs of one page's lines."""
    blocks: list[dict] = []
    para: list[Line] = []

    def flush() -> None:
        if para:
            text = para[0].text
            for line in para[1:]:
                text = _join(text, line.text)
            blocks.append({"text": text, "heading": False, "page": para[0].page})
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line.cells) > 1:
            j = i
            while j < len(lines) and len(lines[j].cells) == len(line.cells):
                j += 1
            if _is_table(lines[i:j]):
                flush()
                blocks.extend(_table_blocks(lines[i:j]))
                i = j
                continue
        if (line.size >= HEADING_RATIO * body and len(line.text.split()) <= 15
                and not line.text.endswith(SENTENCE_END)):
            flush()
            blocks.append({"text": line.text, "heading": True, "page": line.page})
            i += 1
            continue
        prev = para[-1] if para else None
        if prev and (prev.bottom - line.top > 0.7 * line.size or line.top > prev.top + line.size / 2):
            flush()
        para.append(line)
        i += 1
    flush()
    return blocks


def _ocr_blocks(page, page_no: int, seconds: float, furniture: set[str],
                limits: ReadLimits = DEFAULT_LIMITS) -> tuple[list[dict], list]:
    """The blocks of a scanned page, and its words as [text, left, top, right, bottom] in
    fractions of the page (from its top left), for the viewer to mark."""
    from . import ocr
    width, height = page.get_size()
    scale = min(int(limits.ocr_dpi) / 72, (MAX_OCR_PIXELS / max(1.0, width * height)) ** 0.5)
    image = page.render(scale=scale, grayscale=True).to_pil()
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    text, boxes = ocr.read_image_with_words(buf.getvalue(), timeout=seconds,
                                              wanted=limits.ocr_languages)
    w, h = max(1, image.width), max(1, image.height)
    words = [[t, round(x / w, 4), round(y / h, 4), round((x + bw) / w, 4), round((y + bh) / h, 4)]
             for t, x, y, bw, bh in boxes]
    blocks = []
    for para in re.split(r"\n\s*\n", text):
        lines = [" ".join(l.split()) for l in para.splitlines() if l.strip()]
        lines = [l for l in lines if not PAGE_NUMBER.match(l) and _furniture_key(l) not in furniture]
        if lines:
            joined = lines[0]
            for line in lines[1:]:
                joined = _join(joined, line)
            blocks.append({"text": joined, "heading": False, "page": page_no})
    return blocks, words


def _error(exc: Exception, name: str) -> str:
    text = str(exc)
    if "password" in text.lower():
        return f"{name}: the PDF is encrypted (password-protected); save a copy without a password"
    return f"{name}: the PDF is damaged or not a PDF ({text[:200]})"


def read_in_process(raw: bytes, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> dict:
    """The document as {"title", "blocks", "pages", "ocr_pages", "unread_pages", "ocr_words"};
    raises DocumentError. Unbounded by itself: `read` runs it in a limited child process."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if MAGIC not in raw[:1024]:
        raise DocumentError(f"{name}: not a PDF (it does not start with %PDF-)")
    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        raise DocumentError(_error(exc, name)) from None
    pages = len(pdf)
    limit = int(limits.max_pdf_pages)
    if pages > limit:
        raise DocumentError(f"{name}: {pages} pages, more than the {limit} allowed (ACCORD_MAX_PDF_PAGES)")
    if pages == 0:
        raise DocumentError(f"{name}: the PDF has no pages")
    seconds = float(limits.pdf_page_seconds)
    _limit_cpu(pages * seconds + 10)
    read: list[tuple[list[Line], float]] = []
    images: list[bool] = []
    for n in range(pages):
        page = pdf[n]
        textpage = page.get_textpage()
        if textpage.count_chars() > MAX_PAGE_CHARS:
            raise DocumentError(f"{name}: page {n + 1} has more than {MAX_PAGE_CHARS:,} characters")
        read.append((_lines(n + 1, _rects(textpage, pdfium_c)), page.get_size()[1]))
        images.append(next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3), None) is not None)
    body = _body_size(read)
    furniture = _drop_furniture(read, body)
    blocks: list[dict] = []
    ocr_pages, unread = [], []
    ocr_words: dict[str, list] = {}   # page number -> its words' boxes (scanned pages)
    for n, (lines, _) in enumerate(read):
        if sum(len(l.text) for l in lines) < MIN_PAGE_CHARS and images[n]:
            from .ocr import OcrError
            try:
                found, ocr_words[str(n + 1)] = _ocr_blocks(pdf[n], n + 1, seconds, furniture,
                                                             limits)
            except OcrError as exc:
                unread.append({"page": n + 1, "reason": str(exc)})
                continue
            ocr_pages.append(n + 1)
            blocks.extend(found)
            continue
        blocks.extend(_paragraphs(lines, body))
    if not blocks:
        if unread:
            raise DocumentError(f"{name}: no page has a text layer and OCR could not read them "
                                f"(page {unread[0]['page']}: {unread[0]['reason']})")
        raise DocumentError(f"{name}: the PDF has no text")
    title = (pdf.get_metadata_dict().get("Title") or "").strip()
    return {"title": title, "blocks": _join_pages(blocks), "pages": pages,
            "ocr_pages": ocr_pages, "unread_pages": unread, "ocr_words": ocr_words}


def _join_pages(blocks: list[dict]) -> list[dict]:
    """A paragraph broken by a page end (no closing punctuation, next page goes on in lower
    case) is one paragraph again, on the page it started on."""
    out: list[dict] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (prev and not prev["heading"] and not block["heading"] and block["page"] != prev["page"]
                and not prev["text"].endswith(TERMINAL) and LOWER_START.match(block["text"])):
            prev["text"] = _join(prev["text"], block["text"])
            prev["page_end"] = block["page"]
            continue
        out.append(dict(block))
    return out


def _limit_cpu(seconds: float) -> None:
    if _IN_CHILD:
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        want = int(seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (want if hard < 0 else min(want, hard), hard))


_IN_CHILD = False


def _limit_memory(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def read(raw: bytes, name: str, reader: str = "pdf", limits: ReadLimits = DEFAULT_LIMITS) -> dict:
    """`read_in_process` (or the .docx reader) in a child process bounded in memory and time."""
    if reader == "pdf" and MAGIC not in raw[:1024]:
        raise DocumentError(f"{name}: not a PDF (it does not start with %PDF-)")
    pages = int(limits.max_pdf_pages)
    wall = pages * float(limits.pdf_page_seconds) + 30
    memory = int(limits.pdf_memory_bytes)
    try:
        done = subprocess.run([sys.executable, "-m", "bot.corpus.pdf_reader", reader, name,
                               json.dumps(limits.as_dict())], input=raw,
                              capture_output=True, timeout=wall, preexec_fn=lambda: _limit_memory(memory))
    except subprocess.TimeoutExpired:
        raise DocumentError(f"{name}: reading took longer than {wall:.0f}s") from None
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        why = "ran out of memory (ACCORD_PDF_MEMORY_BYTES; a decompression bomb?)" \
            if b"MemoryError" in done.stderr or done.returncode in (-6, -9, -11) or b"alloc" in done.stderr \
            else f"took more CPU time than allowed (ACCORD_PDF_PAGE_SECONDS)" if done.returncode == -24 \
            else f"could not be read (the reader exited with {done.returncode})"
        raise DocumentError(f"{name}: {why}")
    if "error" in result:
        raise DocumentError(result["error"])
    return result


def _child() -> None:
    global _IN_CHILD
    _IN_CHILD = True
    reader, name = sys.argv[1], sys.argv[2]
    # The parent's limits, as it was handed them: the child reads no settings of its own.
    limits = ReadLimits(**json.loads(sys.argv[3])) if len(sys.argv) > 3 else DEFAULT_LIMITS
    raw = sys.stdin.buffer.read()
    try:
        if reader == "docx":
            from .docx_reader import read_in_process as read_docx
            result = read_docx(raw, name, limits.max_original_bytes)
        else:
            result = read_in_process(raw, name, limits)
    except DocumentError as exc:
        result = {"error": str(exc)}
    except MemoryError:
        result = {"error": f"{name}: ran out of memory (ACCORD_PDF_MEMORY_BYTES; a decompression bomb?)"}
    except Exception as exc:   # a library's failure on one hostile file
        result = {"error": f"{name}: cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    _child()
