"""Reading a Word (.docx) file into headed paragraphs and table rows (python-docx)."""
from __future__ import annotations

import io
import zipfile

from ..errors import DocumentError
from ..settings import BY_KEY
from .tables import rows_to_text

MAX_RATIO = 100        # uncompressed / compressed size of a member past which it is a bomb
MAX_MEMBERS = 2000


def check_zip(raw: bytes, name: str, max_original_bytes: int = BY_KEY["MAX_ORIGINAL_BYTES"].default) -> None:
    """Refuse a .docx whose zip would expand past the bounds before anything inflates it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise DocumentError(f"{name}: not a .docx (not a zip archive; legacy .doc files are not "
                            "supported: save it as .docx)") from None
    members = archive.infolist()
    limit = 8 * int(max_original_bytes)
    total = sum(m.file_size for m in members)
    if len(members) > MAX_MEMBERS or total > limit or any(
            m.file_size > MAX_RATIO * max(m.compress_size, 1024) for m in members):
        raise DocumentError(f"{name}: the .docx expands to {total:,} bytes in {len(members)} parts, "
                            "past the bounds (a decompression bomb?)")
    if "word/document.xml" not in archive.namelist():
        raise DocumentError(f"{name}: not a Word document (no word/document.xml)")


def _heading(paragraph) -> bool:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    return style.lower().startswith(("heading", "title"))


def read_in_process(raw: bytes, name: str, max_original_bytes: int = BY_KEY["MAX_ORIGINAL_BYTES"].default) -> dict:
    """{"title", "blocks"} of a .docx: paragraphs, headings and tables in document order."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(raw, name, max_original_bytes)
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:
        raise DocumentError(f"{name}: the .docx is damaged ({type(exc).__name__})") from None
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if text:
                blocks.append({"text": text, "heading": _heading(item), "page": None})
        elif isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            blocks.extend({"text": t, "heading": False, "page": None} for t in rows_to_text(rows))
    if not blocks:
        raise DocumentError(f"{name}: the .docx has no text")
    title = (document.core_properties.title or "").strip()
    return {"title": title, "blocks": blocks}
