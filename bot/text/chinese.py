"""Chinese text: detection, Traditional/Simplified folding, word segmentation, sentence ends."""
from __future__ import annotations

import io
import logging
import re
from functools import lru_cache
from threading import Lock
from typing import Callable

from ..cache import bytes_cached

# Han ideographs (basic, extension A, compatibility, extensions B-F) and the ideographic zero.
HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
HAN_CHAR = re.compile(f"[{HAN}]")
HAN_RUN = re.compile(f"[{HAN}]+")
LATIN_WORD = re.compile(r"[A-Za-z]+")

# Function characters and question words: they say how something is asked, not about what.
STOPWORDS = frozenset(
    "的 了 在 与 和 及 或 是 有 也 都 就 又 还 而 并 被 把 对 从 向 于 以 之 其 该 此 这 那 哪 "
    "吗 呢 吧 啊 呀 么 个 些 位 次 将 会 能 要 已 曾 给 让 由 为 什么 甚么 哪些 哪里 哪儿 哪个 哪位 "
    "哪家 哪所 怎么 怎样 怎么样 如何 为何 为什么 谁 多少 几 何时 何地 什么样 是否 有没有 请问 "
    "一下 他 她 它 他们 她们 它们 我 我们 你 你们 这些 那些 这个 那个 方面 关于 有关 说明 告诉 介绍".split())

# Sentence ends: full stop, exclamation and question marks, semicolon (full- and half-width),
# with any closing quotes or brackets that follow them; and a colon that ends its line (a list
# follows: "备忘录涵盖以下五个方面：" then one line per item, joined by a space on reading).
SENTENCE = re.compile(r"(?:[^。！？；!?;：]|：(?!\s|$))*(?:[。！？；!?;]+[」』”’\"'）)】〕》]*|：|$)")

# Dictionary words seen fewer times than this in jieba's corpus are dropped from its prefix
# dictionary: they split into smaller words the same way in texts and questions, and the
# dictionary (and its start-up time and memory) shrinks to about a third.
MIN_FREQ = 10

_lock = Lock()


def has_han(text: str) -> bool:
    """Whether the text holds any Chinese character."""
    return HAN_CHAR.search(text) is not None


def is_word_char(ch: str) -> bool:
    """What the regex \\w matches, less Chinese characters: Chinese is written without spaces,
    so a name may touch them (corpus.variants' NOT_BEFORE / NOT_AFTER)."""
    return (ch.isalnum() or ch == "_") and not HAN_CHAR.match(ch)


def is_chinese(text: str) -> bool:
    """Whether the text is written mainly in Chinese: at least two Chinese characters (about a
    word) to a Latin word ("John Lee 在重庆说了什么" is Chinese; "What did 李家超 say?" English)."""
    han = len(HAN_CHAR.findall(text))
    return han >= 2 and han >= 2 * len(LATIN_WORD.findall(text))


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc  # imported on first use: English-only corpora and questions never pay for it
    return opencc.OpenCC(config)


@bytes_cached(0.025)   # keyed by question text: bounded in bytes, like every request-path cache
def to_simplified(text: str) -> str:
    """Traditional characters and phrases folded to Simplified; other text unchanged."""
    return _converter("t2s").convert(text) if has_han(text) else text


def fold_same_length(text: str) -> str:
    """Simplified folding that keeps every character's offset (opencc may map a phrase to one
    of another length; those characters are then converted one at a time, or kept)."""
    if not has_han(text):
        return text
    folded = to_simplified(text)
    if len(folded) == len(text):
        return folded
    return "".join(s if len(s := to_simplified(c)) == 1 else c for c in text)


def is_traditional(text: str) -> bool:
    """Whether Chinese text is in Traditional characters: folding it to Simplified changes more
    of it than converting it to Traditional would."""
    han = "".join(HAN_RUN.findall(text))
    if not han:
        return False
    to_s = sum(a != b for a, b in zip(han, to_simplified(han)))
    to_t = sum(a != b for a, b in zip(han, _converter("s2t").convert(han)))
    return to_s > to_t


@lru_cache(maxsize=1)
def _tokenizer():
    """jieba's tokenizer over its own dictionary, built in memory: no cache file written (jieba
    would write one to the temp folder) and no log lines."""
    import jieba
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    with tk.get_dict_file() as f:
        lines = [ln for ln in f.read().decode("utf-8").splitlines()
                 if len(parts := ln.split(" ")) >= 2 and parts[1].isdigit() and int(parts[1]) >= MIN_FREQ]
    tk.FREQ, tk.total = tk.gen_pfdict(io.BytesIO("\n".join(lines).encode("utf-8")))
    tk.initialized = True
    return tk


def warm_up() -> None:
    """Load the segmenter and the converters now (about a second) rather than at the first
    question that needs them: in a preloading server's master, once for every worker."""
    _tokenizer()
    _converter("t2s")
    _converter("s2t")


@bytes_cached(0.025)
def words(run: str) -> tuple[str, ...]:
    """Search words of a run of Chinese characters, Simplified-folded, without function words.

    jieba's search mode without its HMM: unknown names fall into single characters the same way
    wherever they stand (the HMM joins them with their neighbours, differently in each
    sentence), and long words also give their parts (行政长官 -> 行政, 长官, 行政长官)."""
    out = []
    for w in _tokenizer().lcut_for_search(to_simplified(run), HMM=False):
        if HAN_RUN.fullmatch(w) and w not in STOPWORDS:
            out.append(w)
    return tuple(out)


def segment(text: str) -> str:
    """The text with each run of Chinese characters replaced by its words, space-separated, so
    a word tokenizer sees Chinese words; text without Chinese characters is returned as is."""
    if not has_han(text):
        return text
    return HAN_RUN.sub(lambda m: " " + " ".join(words(m.group(0))) + " ", text)


LONG_SENTENCE = 300   # characters: a longer run is cut after its commas, or at this length
COMMA = re.compile(r"(?<=[，、,：:])")


def _bounded(sentence: str) -> list[str]:
    """A sentence no longer than LONG_SENTENCE: pieces ending at a comma, or cut hard."""
    if len(sentence) <= LONG_SENTENCE:
        return [sentence]
    pieces, current = [], ""
    for part in COMMA.split(sentence):
        while len(part) > LONG_SENTENCE:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(part[:LONG_SENTENCE])
            part = part[LONG_SENTENCE:]
        if len(current) + len(part) > LONG_SENTENCE:
            pieces.append(current)
            current = ""
        current += part
    return [p for p in (*pieces, current) if p.strip()]


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a Chinese paragraph, ended by 。！？； (or their half-width forms) and any
    closing quotes after them, none longer than LONG_SENTENCE; stripped, together they hold
    every character but spaces."""
    return [p.strip() for s in SENTENCE.findall(paragraph) if s.strip()
            for p in _bounded(s.strip()) if p.strip()]


def has_sentence_ends(paragraph: str) -> bool:
    """Whether a paragraph is Chinese, punctuated the Chinese way (pysbd does not split on 。);
    an English paragraph quoting a 。 is left to pysbd."""
    return is_chinese(paragraph) and re.search(r"[。！？；]", paragraph) is not None


CHARS_PER_WORD = 1.25   # a passage of 160 English words ~ 200 Chinese characters (in model tokens)


def size_in_words(text: str) -> float:
    """The length of a text in English-word equivalents: whitespace words, and Chinese
    characters (which no space separates) at CHARS_PER_WORD to a word."""
    if not has_han(text):
        return len(text.split())
    han = len(HAN_CHAR.findall(text))
    return len(HAN_RUN.sub(" ", text).split()) + han / CHARS_PER_WORD


NO_ANSWER = {"zh-hans": "现有文件没有回答这个问题。", "zh-hant": "現有文件沒有回答這個問題。"}


def no_answer(question: str, english: str) -> str:
    """The refusal in the question's language: Simplified or Traditional Chinese, else English."""
    if not is_chinese(question):
        return english
    return NO_ANSWER["zh-hant" if is_traditional(question) else "zh-hans"]


# Chinese names known to the variants table, registered by it: follow-ups carry them.
_names: set[str] = set()


def register_names(names) -> None:
    """Remember the Chinese forms (Simplified-folded) of names, for names_in."""
    new = {fold_same_length(n) for n in names if has_han(n)} - _names
    if new:
        with _lock:
            _names.update(new)
        _names_pattern.cache_clear()


@lru_cache(maxsize=1)
def _names_pattern():
    forms = sorted(_names, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, forms))) if forms else None


def names_in(text: str) -> list[str]:
    """Registered Chinese names in a text (any script), in order, Simplified-folded."""
    pattern = _names_pattern()
    if pattern is None or not has_han(text):
        return []
    out: list[str] = []
    for m in pattern.finditer(fold_same_length(text)):
        if m.group(0) not in out:
            out.append(m.group(0))
    return out


# Follow-ups: a pronoun or "else/other" points back (他还去了哪些大学？); 那…呢 / …呢？ keeps the
# subject and changes the topic (那金融方面呢？).
REFERS_BACK = re.compile(r"[他她它]|那|这|其他|其余|还|另外|别的|此外|同样|也")
ELLIPSIS = re.compile(r"^\s*(那么?|还有|另外|至于)|呢\s*[？?]?\s*$")


def refers_back(question: str) -> bool:
    """Whether a Chinese question needs the earlier turns to be understood."""
    q = fold_same_length(question)
    return bool(REFERS_BACK.search(q) or ELLIPSIS.search(q)) or not content_words(q)


def is_ellipsis(question: str) -> bool:
    """Whether a Chinese follow-up keeps only the subject of the earlier turn (那…呢)."""
    return ELLIPSIS.search(fold_same_length(question)) is not None


def content_words(text: str) -> list[str]:
    """The Chinese search words of a text (all its runs), in order, without repeats."""
    out: list[str] = []
    for run in HAN_RUN.findall(text):
        out += [w for w in words(run) if w not in out]
    return out


_MONTH_NAMES = ("January February March April May June July August September October "
                "November December").split()
# A month, with its year and day when given (a year alone is written the same in English).
_ZH_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号號])?")


def english_dates(text: str) -> list[str]:
    """The dates of a Chinese text as English texts write them ("2023年5月10日" -> "10 May
    2023"): a question in Chinese shares them with English passages in no other form."""
    out = []
    for m in _ZH_DATE.finditer(text):
        year, month, day = m.groups()
        if 1 <= int(month) <= 12:
            out.append(" ".join(p for p in (str(int(day)) if day else "", _MONTH_NAMES[int(month) - 1],
                                            year or "") if p))
    return out


# The one-character names of provinces and cities that Chinese writes in pairs with Hong
# Kong's 港 ("港琼" Hong Kong and Hainan, "川港" Sichuan and Hong Kong, "深港" Shenzhen and Hong
# Kong). Not 澳 (港澳 names the Hong Kong and Macao offices more than Macao), 青 (港青 is Hong
# Kong's youth), 新, 黑, 宁 or 吉 (other words end or start so).
ABBREVIATED_PLACES = {
    "京": "北京", "津": "天津", "沪": "上海", "渝": "重庆", "冀": "河北", "晋": "山西", "蒙": "内蒙古",
    "辽": "辽宁", "苏": "江苏", "浙": "浙江", "皖": "安徽", "闽": "福建", "赣": "江西", "鲁": "山东",
    "豫": "河南", "鄂": "湖北", "湘": "湖南", "粤": "广东", "桂": "广西", "琼": "海南", "川": "四川",
    "黔": "贵州", "滇": "云南", "藏": "西藏", "陕": "陕西", "甘": "甘肃", "台": "台湾", "深": "深圳",
    "穗": "广州",
}
_PAIRED = re.compile(f"([{''.join(ABBREVIATED_PLACES)}])港|港([{''.join(ABBREVIATED_PLACES)}])")


def abbreviated_places(text: str) -> dict[str, list[str]]:
    """The pairs of a text that name a place by one character beside 港, each with the two
    places in full ("港瓊" -> {"港琼": ["香港", "海南"]}), in Simplified characters."""
    return {m.group(0): ["香港", ABBREVIATED_PLACES[m.group(1) or m.group(2)]]
            for m in _PAIRED.finditer(to_simplified(text))}


def spell_out_pairs(text: str, written: Callable[[str], bool]) -> str:
    """`text` with the places of its 港 pairs in full after it ("港瓊…？（香港、海南）"), for the
    pairs `written` says the texts do not write themselves (深港 in Shenzhen's own reports is
    found as it is)."""
    if not has_han(text):
        return text
    places = list(dict.fromkeys(name for pair, names in abbreviated_places(text).items()
                                if not written(pair) for name in names))
    return f"{text}（{'、'.join(places)}）" if places else text
