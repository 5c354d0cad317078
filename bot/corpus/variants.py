"""Name variants: the table in the corpus, pairs derived from the texts, and query expansion."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from ..errors import DocumentError
from ..text import chinese
from ..text.words import fold_in_place as _fold, fold_key_uncached as _key, tokenize
from .passages import Passage

VARIANTS_FILE = "variants.yaml"
# Countries, cities and bodies readers name one way and texts another ("Britain", "the UK"):
# packaged, and added to a corpus's table where its texts hold one of the names.
COMMON_FILE = Path(__file__).resolve().parent.parent / "data" / "common_variants.json"
# "phrase": not a name, words of an agreement said otherwise ("come into force" = "take effect").
TYPES = {"person", "place", "organisation", "term", "phrase"}
# Both spellings are what people write; the table keeps one.
SPELLINGS = {"organization": "organisation"}
MAX_ALTERNATIVES = 4
MAX_CHINESE = 2       # Chinese forms added besides them (when the texts hold Chinese ones)
MAX_ADDED_CHARS = 300  # all alternatives of one question together (86 in the eval sets at most)
COMMON_SHARE = 0.2   # a name in more passages than this already finds them; expanding it adds noise

# "the Secretary for Commerce and Economic Development, Mr Algernon Yau" and
# "Secretary for Commerce and Economic Development, Yau Ying-wah" name one office-holder.
OFFICE = re.compile(
    r"(?P<title>(?:(?:Deputy|Under|Vice|Chief|Financial|Permanent)\s+)*"
    r"(?:Secretary|Director|Mayor|Chief Executive)\s+(?:for|of)\s+"
    r"[A-Z][A-Za-z]*(?:,?\s+(?:and\s+)?[A-Z][A-Za-z]*)*?)"
    r"(?:\s+of the [^,;]{3,80}?)?,\s+(?:(?:Mr|Ms|Mrs|Dr|Professor|Prof)\.?\s+)?"
    r"(?P<name>[A-Z][a-z]+(?:[ -][A-Z]?[a-z]+){1,2})(?=[;,.]|\s+etc|$)"
)
TITLE_SYNONYMS = {"deputy": "under"}  # Mainland reports say "Deputy" where Hong Kong says "Under"


# A name's edges: no letter or digit may touch it, but a Chinese character may (Chinese text
# has no spaces between words: "李家超在重庆", "John Lee在重庆").
NOT_BEFORE = rf"(?<![^\W{chinese.HAN}])"
NOT_AFTER = rf"(?![^\W{chinese.HAN}])"


def load_table(path: Path) -> list[dict[str, Any]]:
    """The variants table of a corpus folder ([] when it has none)."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, list):
        raise DocumentError(f"{path.name}: must be a list of groups, each with 'names'")
    groups = []
    for i, group in enumerate(data, 1):
        names = group.get("names") if isinstance(group, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip()
                                                                   for n in names):
            raise DocumentError(f"{path.name}: group {i} needs 'names', a list of names")
        kind = group.get("type", "term")
        kind = SPELLINGS.get(kind, kind)
        if kind not in TYPES:
            raise DocumentError(f"{path.name}: group {i} has type {kind!r}; use one of "
                                f"{', '.join(sorted(TYPES))}")
        groups.append({"type": kind, "names": [n.strip() for n in names],
                       "note": str(group.get("note", "")), "origin": "table"})
    return groups


def _office_key(title: str) -> str:
    words = _key(title).replace(",", " ").split()
    return " ".join(TITLE_SYNONYMS.get(w, w) for w in words)


def derive_from_texts(passages: Sequence[Passage]) -> list[dict[str, Any]]:
    """Pairs of names that two documents give the same office-holder, lined up by title."""
    holders: dict[str, dict[str, set[str]]] = {}
    for p in passages:
        for m in OFFICE.finditer(p.text):
            holders.setdefault(_office_key(m["title"]), {}).setdefault(m["name"], set()).add(p.doc_id)
    groups = []
    for office, names in sorted(holders.items()):
        docs = set().union(*names.values())
        distinct = {_key(n): n for n in names}
        if len(distinct) >= 2 and len(docs) >= 2:
            groups.append({"type": "person", "names": sorted(distinct.values()),
                           "note": f"same holder of: {office}", "origin": "texts"})
    return groups


def merge(groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join groups that share a name (a derived pair may extend a table group)."""
    merged: list[dict[str, Any]] = []
    for group in groups:
        keys = {_key(n) for n in group["names"]}
        hit = next((g for g in merged if keys & {_key(n) for n in g["names"]}), None)
        if hit is None:
            merged.append({**group, "names": list(group["names"])})
            continue
        for name in group["names"]:
            if _key(name) not in {_key(n) for n in hit["names"]}:
                hit["names"].append(name)
        if group["origin"] not in hit["origin"]:
            hit["origin"] += "+" + group["origin"]
    return merged


def load_common(path: Path = COMMON_FILE) -> list[dict[str, Any]]:
    """The packaged table of common names (COMMON_FILE)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [{"type": g.get("type", "term"), "names": list(g["names"]), "note": "",
             "origin": "common"} for g in data["groups"]]


def passages_with_names(keys: set[str], texts: Iterable[str]) -> dict[str, list[int]]:
    """For each folded name in `keys`, the rows of the folded `texts` that hold it as a word
    (no word character either side; Chinese may touch it). One Aho-Corasick pass over each
    text for all names, overlapping ones too ("Hong Kong" inside "Hong Kong Special
    Administrative Region"): a regex per name and text costs names x passages."""
    import ahocorasick

    keys = {k for k in keys if k}
    if not keys:
        return {}
    automaton = ahocorasick.Automaton()
    for key in keys:
        automaton.add_word(key, key)
    automaton.make_automaton()
    found: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        seen: set[str] = set()
        for end, key in automaton.iter(text):
            if key in seen:
                continue
            start = end - len(key) + 1
            if (start > 0 and chinese.is_word_char(text[start - 1])) or \
                    (end + 1 < len(text) and chinese.is_word_char(text[end + 1])):
                continue
            seen.add(key)
            found.setdefault(key, []).append(row)
    return found


def prepare(table: list[dict[str, Any]], passages: Sequence[Passage],
            common: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Table plus derived groups plus the common ones the texts use; each name found in the
    texts gets the passages it is in, so that a question is expanded only to names that find
    passages its own words do not. `common`: the common groups [default: load_common()]."""
    common = load_common() if common is None else common
    groups = merge(table + derive_from_texts(passages))
    # The corpus's own table decides the names it lists: a common group only adds names it
    # does not list at all.
    own = {_key(n) for g in groups for n in g["names"]}
    groups += [g for g in common if not own & {_key(n) for n in g["names"]}]
    found = passages_with_names({_key(n) for g in groups for n in g["names"]},
                                (_key(p.text) for p in passages))
    common_share = COMMON_SHARE * max(len(passages), 1)
    for group in groups:
        group["in_corpus"] = {}
        for name in group["names"]:
            hits = found.get(_key(name))
            if hits:
                group["in_corpus"][name] = {"passages": len(hits),
                                            "ids": hits if len(hits) <= common_share else None}
    # A common group the texts never use would make its names "known" to them: "the United
    # States" must stay unknown to texts that never name it in any form.
    return [g for g in groups if g["in_corpus"] or g["origin"] != "common"]


NAME_TAIL = re.compile(r"(?:[ -][A-Z][\w’'-]*)+")


class Expander:
    """Adds to a question the other names, found in the texts, of every name it mentions."""

    def __init__(self, groups: Sequence[dict[str, Any]]) -> None:
        self.groups = list(groups)
        self._by_form: dict[str, int] = {}
        for i, group in enumerate(self.groups):
            for name in group["names"]:
                self._by_form.setdefault(_key(name), i)
        forms = sorted(self._by_form, key=len, reverse=True)
        self._pattern = (re.compile(NOT_BEFORE + "(" + "|".join(re.escape(f).replace(r"\ ", r"\s+")
                                                               for f in forms) + ")" + NOT_AFTER)
                         if forms else None)
        # Follow-ups in Chinese carry these names; a phrase (签署, 生效) is no name.
        chinese.register_names(f for f, i in self._by_form.items()
                               if self.groups[i].get("type") != "phrase")

    def expand(self, question: str) -> tuple[str, list[dict[str, Any]]]:
        """(question with alternatives in brackets after each name, the groups matched)."""
        if self._pattern is None:
            return question, []
        matches = list(self._pattern.finditer(_fold(question)))
        mentioned = {_key(m.group(0)) for m in matches}
        asked = _key(question)
        seen, used, out, last, added = set(), [], [], 0, 0
        for m in matches:
            gi = self._by_form[_key(m.group(0))]
            if gi in seen:
                continue
            seen.add(gi)
            group = self.groups[gi]
            found = group.get("in_corpus", {})
            said = {n: c for n, c in found.items() if _key(n) in mentioned}
            if any(c["ids"] is None for c in said.values()):
                continue  # a name in a large share of passages finds them by itself
            covered = set().union(*(c["ids"] for c in said.values()))
            alts = [n for n, c in found.items() if _key(n) not in mentioned
                    and _key(n) not in asked
                    and (c["ids"] is None or set(c["ids"]) - covered)]
            if group.get("type") == "phrase":
                # "signed" adds nothing by "sign" or "signing" (one stem): only other words
                # ("put pen to paper" -> "signed") are worth the query's length.
                stems = set(tokenize([question])[0])
                alts = [n for n in alts if chinese.has_han(n) or not set(tokenize([n])[0]) <= stems]
            # Chinese forms have their own quota (Chinese passages are found by them, whatever
            # the English forms are); 陳國基 and 陈国基 fold to one form: one of them is enough.
            han = list({_key(n): n for n in reversed(alts) if chinese.has_han(n)}.values())[::-1]
            alts = [n for n in alts if not chinese.has_han(n)][:MAX_ALTERNATIVES] + han[:MAX_CHINESE]
            if not alts:
                continue
            addition = " (" + ", ".join(alts) + ")"
            if added + len(addition) > MAX_ADDED_CHARS:
                break   # a question naming dozens of things: the query stays bounded
            added += len(addition)
            used.append(group)
            # "Chief Executive Lee Ka-chiu": the alternatives go after the whole name the
            # match begins, not inside it.
            tail = NAME_TAIL.match(question, m.end())
            end = tail.end() if tail else m.end()
            out.append(question[last:end] + addition)
            last = end
        out.append(question[last:])
        return "".join(out), used
