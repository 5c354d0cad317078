"""Small PDFs and .docx files the tests make themselves (fpdf2, Pillow, python-docx)."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"   # Debian fonts-wqy-microhei
HEADER = "Hong Kong Cooperation Report 2024"

INTRO = ("Hong Kong and Shanghai signed a new cooperation agreement in May 2024. "
         "The agreement covers finance, trade and innovation.")
HYPHEN_LINES = ("Both governments will set up a joint commit-", "tee on financial services.")
LEFT_COLUMN = ("The left column talks about ports. Shanghai's port handled more containers "
               "than any other port in the world.")
RIGHT_COLUMN = ("The right column talks about airports. Hong Kong's airport is a hub for "
                "cargo flights across Asia.")
TABLE = [("Sector", "Target", "Year"), ("Finance", "30 projects", "2025"),
         ("Trade", "50 billion yuan", "2026")]
SCANNED = "The scanned page says that the two cities will exchange young scientists."
CHINESE = "沪港两地签署了新的合作协议。双方将加强金融合作。"


def _pdf():
    from fpdf import FPDF
    pdf = FPDF(format="A4", unit="pt")
    pdf.set_auto_page_break(False)
    pdf.add_font("sans", fname=SANS)
    pdf.set_font("sans", size=11)
    return pdf


def _page(pdf, number: int) -> None:
    pdf.add_page()
    pdf.set_font("sans", size=9)
    pdf.text(60, 40, HEADER)                       # running header, on every page
    pdf.text(290, 810, str(number))                # page number
    pdf.set_font("sans", size=11)


def _lines(pdf, x: float, y: float, lines, size: float = 11, width: float = 470) -> float:
    pdf.set_font("sans", size=size)
    for line in lines:
        pdf.text(x, y, line)
        y += size * 1.4
    return y


def _wrap(text: str, chars: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line else lines


def text_image(text: str, size: tuple[int, int] = (1240, 400), font: str = SANS,
               points: int = 36) -> Image.Image:
    """A white image with black text on it: what a scanner gives."""
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    face = ImageFont.truetype(font, points)
    y = 40
    for line in _wrap(text, 48) if font == SANS else [text]:
        draw.text((40, y), line, font=face, fill=0)
        y += int(points * 1.5)
    return img


def sample_pdf(scanned: bool = True, chinese: bool = True) -> bytes:
    """Pages: 1 heading + intro + hyphenated word; 2 two columns; 3 a table; 4 a scanned page;
    5 a Chinese page. Every page has a running header and a page number."""
    pdf = _pdf()
    _page(pdf, 1)
    y = _lines(pdf, 60, 90, ["Financial Cooperation"], size=18)
    y = _lines(pdf, 60, y + 10, _wrap(INTRO, 80))
    _lines(pdf, 60, y + 14, HYPHEN_LINES)
    _page(pdf, 2)
    _lines(pdf, 60, 90, ["Transport"], size=18)
    _lines(pdf, 60, 130, _wrap(LEFT_COLUMN, 36))
    _lines(pdf, 320, 130, _wrap(RIGHT_COLUMN, 36))
    _page(pdf, 3)
    _lines(pdf, 60, 90, ["Targets"], size=18)
    y = 130
    for row in TABLE:
        for x, cell in zip((60, 220, 400), row):
            pdf.text(x, y, cell)
        y += 18
    if scanned:
        _page(pdf, 4)
        buf = io.BytesIO()
        text_image(SCANNED).save(buf, format="PNG")
        pdf.image(buf, x=40, y=80, w=515)
    if chinese:
        _page(pdf, 5)
        pdf.add_font("cjk", fname=CJK)
        pdf.set_font("cjk", size=14)
        pdf.text(60, 100, CHINESE)
    return bytes(pdf.output())


def long_pdf(pages: int, scanned_every: int = 0) -> bytes:
    """A report of `pages` pages of prose (a running header, page numbers); every
    `scanned_every`-th page is an image of text."""
    pdf = _pdf()
    for n in range(1, pages + 1):
        _page(pdf, n)
        if scanned_every and n % scanned_every == 0:
            buf = io.BytesIO()
            text_image(f"Page {n} is a scanned page about cooperation in science number {n}.").save(
                buf, format="PNG")
            pdf.image(buf, x=40, y=80, w=515)
            continue
        y = _lines(pdf, 60, 90, [f"Section {n}"], size=16)
        body = " ".join(f"Sentence {i} of page {n} says that the cities cooperate on topic {i}."
                        for i in range(12))
        _lines(pdf, 60, y + 10, _wrap(body, 80))
    return bytes(pdf.output())


def sample_docx() -> bytes:
    """A .docx: a title heading, paragraphs, a second heading, a table."""
    import docx
    d = docx.Document()
    d.add_heading("Cooperation Agreement", level=1)
    d.add_paragraph(INTRO)
    d.add_heading("Targets", level=2)
    d.add_paragraph("The targets are listed in the table below.")
    table = d.add_table(rows=0, cols=3)
    for row in TABLE:
        cells = table.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = text
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
