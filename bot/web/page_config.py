"""What the chat page and the widget say for a corpus: title, greeting, example questions (page.yaml)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

PAGE_FILE = "page.yaml"
MAX_FILE_BYTES = 64 * 1024
MAX_TITLE = 120
MAX_TEXT = 600
MAX_EXAMPLES = 6
MAX_EXAMPLE = 200
LANGUAGES = ("en", "zh-Hant", "zh-Hans")
FIELDS = ("title", "description", "greeting", "examples")

log = logging.getLogger("accord.page")

# Used when page.yaml leaves a field out; {n} is the number of documents.
DEFAULTS = {
    "en": {"title": "Ask the documents",
           "description": "Answers quoted from {n} documents, with numbered sources.",
           "greeting": "Ask a question: answers are quoted from the documents, with numbered sources.",
           "example": "What does “{title}” say?"},
    "zh-Hant": {"title": "查詢文件",
                "description": "答案引自 {n} 份文件，並附編號來源。",
                "greeting": "請提出問題：答案引自文件原文，並附編號來源。",
                "example": "「{title}」說了甚麼？"},
    "zh-Hans": {"title": "查询文件",
                "description": "答案引自 {n} 份文件，并附编号来源。",
                "greeting": "请提出问题：答案引自文件原文，并附编号来源。",
                "example": "“{title}”说了什么？"},
}


def _text(value: Any, limit: int) -> str | None:
    return " ".join(value.split())[:limit] if isinstance(value, str) and value.strip() else None


def _fields(raw: Any) -> dict[str, Any]:
    """The known fields of one language's block, bounded; anything else is ignored."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key, limit in (("title", MAX_TITLE), ("description", MAX_TEXT), ("greeting", MAX_TEXT)):
        text = _text(raw.get(key), limit)
        if text:
            out[key] = text
    examples = raw.get("examples")
    if isinstance(examples, list):
        out["examples"] = [t for t in (_text(e, MAX_EXAMPLE) for e in examples[:MAX_EXAMPLES]) if t]
    return out


def read_page_file(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """page.yaml of the corpus folder as {language: fields}; a missing or broken file is {}."""
    path = Path(corpus_dir) / PAGE_FILE
    try:
        if not path.is_file():
            return {}
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"over {MAX_FILE_BYTES} bytes")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        log.warning("%s ignored: %s", PAGE_FILE, str(exc).splitlines()[0] if str(exc) else exc)
        return {}
    if not isinstance(data, dict):
        log.warning("%s ignored: it must be a mapping of title, greeting, examples", PAGE_FILE)
        return {}
    page = {"en": _fields(data)}
    translations = data.get("translations")
    for lang in LANGUAGES[1:]:
        if isinstance(translations, dict):
            page[lang] = _fields(translations.get(lang))
    return page


def page_texts(corpus_dir: Path, documents: list[dict], lang: str) -> dict[str, Any]:
    """Title, description, greeting and examples in `lang`: page.yaml's translation, then its
    main block, then defaults derived from the corpus (its size and its documents' titles)."""
    page = read_page_file(corpus_dir)
    defaults = DEFAULTS.get(lang, DEFAULTS["en"])
    derived = {
        "title": defaults["title"],
        "description": defaults["description"].format(n=len(documents)).replace(
            "1 documents", "1 document"),
        "greeting": defaults["greeting"],
        "examples": [defaults["example"].format(title=str(d.get("title") or d.get("doc_id"))[:80])
                     for d in documents[:3]],
    }
    out = {}
    for key in FIELDS:
        for source in (page.get(lang, {}), page.get("en", {}), derived):
            if key in source:
                out[key] = source[key]
                break
    return out
