"""Turning raw page text into paragraphs and headings, dropping what is not content."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    text: str
    heading: bool = False
    page: int | None = None       # PDF page the block starts on (None: the format has no pages)
    page_end: int | None = None   # and ends on, when later


# Site furniture seen on news pages; matched against a whole line, case-insensitively.
FURNITURE = re.compile(
    r"^(leave a (comment|reply)|this site uses akismet.*|learn how your comment data is processed.*"
    r"|share this:?|click to (share|print).*|related( posts| articles)?:?|print|email|"
    r"(previous|next) (post|article):?.*|tags?:.*|posted in .*|\(over\)|\(end\)|advertisement"
    r"|you may also like:?|read more:?)$",
    re.IGNORECASE,
)
MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
HEADING_MARK = re.compile(r"^(#{1,6})(?:\s+(.*?))?\s*#*\s*$")   # the rule; _heading runs it
RULE = re.compile(r"^[-_*=~\s]{3,}$")
HASHTAGS = re.compile(r"^(#[^\s#]+\s*){1,}$")
BREADCRUMB = re.compile(r"^(home|首页|首頁|主页|主頁)\s*(»|>|/|›)", re.IGNORECASE)
# Markdown images are debris in text (their alt text is a caption at best); a link keeps its text.
MD_IMAGE = re.compile(r"!\[[^\]\n]{0,300}\]\([^()\s\[\]]{0,500}(?:\s+\"[^\"\n]{0,200}\")?\)")
MD_LINK = re.compile(r"(?<!!)\[([^\]\n]{1,300})\]\([^()\s\[\]]{0,500}\)")
NAV_SEPARATOR = " | "
NAV_SEGMENT_WORDS = 12   # a segment of a site's bar is a label, not a sentence
NAV_SEGMENT_CHARS = 80
NAV_END = tuple('.!?:;"”’)。！？：；」')
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")
DATELINE = re.compile(r"^date\s+\d{4}-\d{2}-\d{2}\s+", re.IGNORECASE)
PHOTO_CREDIT = re.compile(r"(?<=[.!?”\"])\s*+Photo(?:graph)?s? by [^\n]{1,80}?/\s*[\w ]{1,40}$")
END_MARK = re.compile(r"(?<!\s)\s*+\((over|end)\)\s*$", re.IGNORECASE)
BULLET = re.compile(r"^([-*+•]|\d{1,2}[.)])\s+")
# (?<!\s) and the possessive \s++: a whitespace run is tried once from its start, not from
# each of its characters (a line of 10,000 spaces took seconds).
SPACE_BEFORE_PUNCT = re.compile(r"(?<!\s)\s++([.,;:!?])(?=\s|$)")
TERMINAL = tuple('.!?:;"”’)')
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "cum", "for", "from", "in", "of", "on", "or",
               "the", "to", "with", "vs"}
REPEAT_MAX_CHARS = 200   # a line this short seen twice is a banner, not a paragraph


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _is_title(line: str, title_key: str) -> bool:
    key = _norm(line)
    if not title_key or not key:
        return False
    return key == title_key or (len(key) >= 12 and (key.startswith(title_key) or title_key.startswith(key)))


def _looks_like_heading(text: str) -> bool:
    """A short title-cased line without closing punctuation, e.g. 'Health and Chinese Medicine'."""
    words = text.split()
    if not 1 <= len(words) <= 12 or text.endswith(TERMINAL) or not text[0].isupper():
        return False
    content = [w for w in words if w.lower().strip(",") not in SMALL_WORDS]
    return all(w[0].isupper() or w[0].isdigit() for w in content)


def _heading(line: str) -> str | None:
    """The text of a Markdown heading line (HEADING_MARK's group 2), or None if it is not one.

    Done with string methods: the regex's lazy text and two adjacent whitespace runs took
    cubic time on a '# a' line with a long run of spaces (10,000 spaces: minutes)."""
    rest = line.lstrip("#")
    hashes = len(line) - len(rest)
    if not hashes:
        return None
    if hashes > 6 or not rest or rest[0] == "#":
        return "" if not rest.replace("#", "").strip() else None
    if not rest[0].isspace():
        return None   # '#tag', not a heading
    return rest.strip().rstrip("#").rstrip()


def _is_nav_bar(line: str) -> bool:
    """A line of short labels between ' | ' ('GovHK | Press Releases | Tuesday, January 3, 2017',
    '新聞 | 港澳 | 2018年10月23日'): a site's bar, not a sentence. A table row starts with '|'."""
    if NAV_SEPARATOR not in line or line.startswith("|") or line.endswith(("|",) + NAV_END):
        return False
    return all(part.strip() and len(part) <= NAV_SEGMENT_CHARS
               and len(part.split()) <= NAV_SEGMENT_WORDS and not part.strip().endswith(NAV_END)
               for part in line.split(NAV_SEPARATOR))


def _tidy(line: str) -> str:
    line = DATELINE.sub("", line)
    line = PHOTO_CREDIT.sub("", line)
    line = END_MARK.sub("", line)
    line = SPACE_BEFORE_PUNCT.sub(r"\1", line)
    return re.sub(r"[ \t\u00a0]+", " ", line).strip()


def clean(text: str, title: str = "") -> list[Block]:
    """Paragraphs and headings of a page, without banners, furniture and markdown debris."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [MD_LINK.sub(r"\1", MD_IMAGE.sub("", MD_ESCAPE.sub(r"\1", line))).strip()
             for line in text.split("\n")]
    counts = Counter(line for line in lines if line and not line.startswith("#"))
    title_key = _norm(title)

    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(" ".join(paragraph)))
            paragraph.clear()

    for line in lines:
        if not line:
            flush()
            continue
        if counts[line] > 1 and len(line) <= REPEAT_MAX_CHARS:
            continue  # a banner repeated through the page
        if (FURNITURE.match(line) or RULE.match(line) or HASHTAGS.match(line)
                or BREADCRUMB.match(line) or TIMESTAMP.match(line) or _is_nav_bar(line)):
            continue
        marked = _heading(line)
        if marked is not None:
            flush()
            heading = _tidy(marked)
            if heading and not _is_title(heading, title_key):
                blocks.append(Block(heading, heading=True))
            continue
        if _is_title(line, title_key) and len(_norm(line)) <= len(title_key) + 40:
            continue
        line = _tidy(BULLET.sub("", line))
        if line:
            paragraph.append(line)
    flush()
    return _mark_bare_headings(_join_broken(blocks))


def _join_broken(blocks: list[Block]) -> list[Block]:
    """Rejoin a paragraph split mid-sentence ('support the docking and' / 'establishment of')."""
    # Parts are gathered and joined once: joining a string per part was quadratic.
    groups: list[list[Block]] = []
    for block in blocks:
        prev = groups[-1][-1] if groups else None
        if (prev and not prev.heading and not block.heading and not prev.text.endswith(TERMINAL)
                and block.text[:1].islower()):
            groups[-1].append(block)
        else:
            groups.append([block])
    return [g[0] if len(g) == 1 else Block(" ".join(b.text for b in g), page=g[0].page)
            for g in groups]


def _mark_bare_headings(blocks: list[Block]) -> list[Block]:
    out = []
    for i, block in enumerate(blocks):
        followed = i + 1 < len(blocks) and not blocks[i + 1].heading
        if not block.heading and followed and _looks_like_heading(block.text):
            out.append(Block(block.text, heading=True, page=block.page))
        else:
            out.append(block)
    return out
