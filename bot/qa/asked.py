"""What a question asks for (a date, a quantity, a person, ...) and whether a sentence gives it."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

from ..cache import bytes_cached
from ..text import chinese
from ..text.words import ASKING_WORDS, fold_key, stopwords, tokenize

MONTHS = (r"January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                r"fifteen|twenty|thirty|forty|fifty|hundred|dozens?|hundreds?|thousands?|"
                r"millions?|billions?|trillions?|half|double")
# A number in digits not inside a code or a model name ("JC300" is no quantity), or in words.
NUMBER = re.compile(rf"(?<![A-Za-z])\d|\b({NUMBER_WORDS})\b", re.I)
# "How much does it cost": the quantity asked is an amount of money.
ASKS_MONEY = re.compile(r"\b(cost|costs|costing|price[sd]?|pay|paid|pays|spend|spent|spends|"
                        r"worth|budgets?|fees?|fares?|salary|salaries|charges?|charged|"
                        r"tickets?|tolls?|fund(?:s|ing|ed)?|investments?|grants?|subsid(?:y|ies))\b", re.I)
# ... unless a share of it is asked ("what percentage of the money ...").
ASKS_SHARE = re.compile(r"\b(percentage|percent|share|proportion|rate|ratio)\b", re.I)
# Not "per cent": a share is no sum.
MONEY = re.compile(r"[$€£¥]|\b(HK\$|RMB|US\$|yuan|dollars?|euros?|pounds?|yen|ringgit|renminbi|"
                   r"(?<!per )cents?)\b|\d\s*[千万萬亿億]?元|港元|美元|欧元|歐元|人民币|人民幣|港币|港幣", re.I)
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                  "ninth", "tenth", "eleventh", "twelfth")
ORDINAL = re.compile(rf"\b({'|'.join(_ORDINAL_WORDS)}|\d+(?:st|nd|rd|th))\b", re.I)
# Not a sum ("1500万元", "2000 million"): a year is no count of anything.
YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,]\d)"
                  r"(?!\s*(?:[万萬亿億千百元]|million\b|billion\b))")
DATE = re.compile(rf"\b(1[5-9]\d\d|20\d\d)\b|\b({MONTHS})\b\.?\s*\d|\d{{1,2}}\s+({MONTHS})\b|"
                  r"\b(today|yesterday|tomorrow|this (week|month|year)|last (week|month|year)|"
                  r"next (week|month|year)|(mon|tues|wednes|thurs|fri|satur|sun)day|"
                  r"afternoon|morning|evening|century|decade|since|until|\d{1,2}:\d\d)\b|"
                  # "lifted after ten years", "within six months": when, told from another time.
                  rf"\b(after|within|in)\s+(\d+|{NUMBER_WORDS})\s+(years?|months?|weeks?|days?)\b|"
                  # Chinese dates: a digit touches 年/月/日 (no word boundary between them).
                  r"\d\s*[年月日号號]|[年月][初底中]|[上下]午|星期|週[一二三四五六日]|周[一二三四五六日]",
                  re.I)
# A body by what it is, or by a name that ends in what it is ("SMRT Corporation").
BODY = re.compile(r"(?i:\b(corporations?|compan(y|ies)|firms?|operators?|joint ventures?|consortium|"
                  r"agenc(y|ies)|associations?|foundations?|universit(y|ies)|institut(e|es|ions?)|"
                  r"academy|chambers? of commerce|ministr(y|ies)|departments?|bureaus?|"
                  r"authorit(y|ies)|councils?|commissions?|committees?|banks?|enterprises?|"
                  r"groups?|organi[sz]ations?|bod(y|ies))\b)|"
                  r"\b[A-Z][\w&-]*\s+(Ltd|Limited|Inc|Corp|Co|Group|Holdings|Bank|Berhad|Bhd)\b")
# A person by a title before the name: surely a person, where two capitalised words may be a
# place or a treaty ("Le Bourget", "Paris Agreement").
_TITLES = (r"Mr|Ms|Mrs|Dr|Prof|Professor|Sir|Dame|President|Minister|Premier|Mayor|Secretary|"
           r"Secretary-General|Chairman|Chair|Director|Commissioner|Ambassador|Administrator|"
           r"Governor|Senator|Chief Executive|King|Queen|Prince")
# ... also an office then the name ("the President of the European Commission, Jean-Claude
# Juncker", "the Secretary for Justice, Mr Paul Lam").
TITLED = re.compile(rf"\b({_TITLES})\.?\s+[A-Z]|"
                    rf"\b({_TITLES})\s+(?:of|for)\s+(?:the\s+)?(?:[A-Z][\w'’-]*\s+){{0,4}}"
                    r"[A-Z][\w'’-]*,\s+(?:(?:Mr|Ms|Mrs|Dr)\.?\s+)?[A-Z][a-z]")
# A body by its name, which ends in what it is ("the Joint Implementation Committee", "SMRT
# Corporation"): surely a body, as a title before a name is surely a person.
NAMED_BODY = re.compile(r"\b[A-Z][\w&'’-]*\s+(?:(?:of|for|and|on)\s+)?"
                        r"(Committee|Council|Commission|Corporation|Company|Agency|Authority|"
                        r"Bureau|Ministry|Department|Bank|University|Institute|Association|"
                        r"Foundation|Secretariat|Office|Board|Ltd|Limited|Inc|Group|Holdings)\b")
# A person or a body: a title before a name, or a run of two capitalised words not at the start.
# An office before a name, in Chinese (局長鄭家豪, 省长王海涛): someone, named by title.
CHINESE_TITLES = ("局长", "局長", "署长", "署長", "司长", "司長", "主席", "省长", "省長", "市长", "市長",
                  "厅长", "廳長", "部长", "部長", "主任", "行政长官", "行政長官", "书记", "書記", "校长",
                  "校長", "总裁", "總裁", "院长", "院長", "秘书长", "秘書長", "处长", "處長", "会长", "會長",
                  "董事长", "董事長", "理事长", "理事長", "总干事", "總幹事", "总理", "總理", "大使",
                  "总领事", "總領事", "议员", "議員", "先生", "女士")
PERSON = re.compile(TITLED.pattern + r"|"
                    r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+\s+[A-Z][a-z]+|\b(minister|government|office|"
                    r"parliament|delegation|president|mayor|secretary|leaders?|officials?)\b|"
                    # "Who will operate it?": a body answers too, by what it is.
                    + BODY.pattern + "|" + r"(?:" + r"|".join(CHINESE_TITLES) + r")[\u4e00-\u9fff]{2,3}")
# "in March", "on Monday", "in 2023" are times, not places.
_NOT_A_PLACE = rf"(?!(?:{MONTHS}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|" \
               r"(?:1[5-9]|20)\d\d\b)"
PLACE = re.compile(r"\b(in|at|to|from|near|across|within|inside|outside|between|venue|city|country|"
                   r"province|region|district|hotel|hall|centre|center|building|park)\b\s*(the\s+)?"
                   + _NOT_A_PLACE + r"[A-Z\d]|\b(venue|hotel|hall|headquarters|city|capital)\b|"
                   r"\b(at|in|during)\s+(the|a|an|its|his|her|their)\s+([\w-]+\s+){0,3}"
                   r"(ceremony|meeting|conference|forum|event|summit|symposium|session|"
                   r"plenary|dinner|banquet|reception|visit|trip|tour)\b")
NEGATION = re.compile(r"\b(not|no|never|none|nor|neither|without|n't|fail(ed|s)?|refus(e|ed|es)|exclud(e|ed|es|ing)|"
                      r"reject(ed|s)?|den(y|ied|ies)|lack(ed|s)?|turn(ed|s|ing)? down|rul(e|ed|es|ing) out|"
                      r"veto(ed|es)?|left out|omit(s|ted)?)\b|n't\b|"
                      # Chinese: what was refused or left out, not every 不 or 未 (不断, 未来).
                      r"拒绝|拒絕|否决|否決|排除|反对|反對|不同意|不包括|未能|未获|未獲|未纳入|未納入|"
                      r"没有获得|沒有獲得|没有纳入|沒有納入|没有同意|沒有同意", re.I)

# What the question asks for, tried in order; the first that matches decides.
ASKS = [
    (re.compile(r"^\s*(when|until when|since when|what (date|day|year|month|time|period)s?|"
                r"on what (date|day)s?|in what (year|month)|which (date|day|year|month)s?|"
                r"how long ago)\b", re.I), "date"),
    (re.compile(r"\bhow (many|much|long|old|large|big|far|often|tall|high|fast)\b|"
                r"\bwhat (percentage|percent|share|proportion|amount|number|value|rate|sum|"
                r"total|volume|size)\b|"
                # "What is the (top) speed / the budget of ...": a measure, asked by name.
                r"^\s*what(?:'s|’s| is| was| are| were| will be| would be)\s+(?:the\s+)?"
                # Not "What are the five areas ...": a count before the noun asks for the list.
                rf"(?!(?:\d+|{NUMBER_WORDS})\s)(?:[\w-]+\s+)?(cost|price|budget|fee|fare|toll|"
                r"salary|population|speed|temperature|length|height|area|distance|duration)s?\b|"
                r"\bcosts?(\s+to\s+[\w-]+)?\s*\??\s*$", re.I), "quantity"),
    (re.compile(r"^\s*(who|whom|whose)\b|^\s*(which|what) (person|people|official|minister|"
                r"leader)\b", re.I), "person"),
    (re.compile(r"^\s*(where|from where|in what (place|city|country|venue)|at what (place|venue)|"
                r"in which (place|city|country|venue|hotel)|which (place|city|country|venue)s?)\b",
                re.I), "place"),
    # "What did Lee say ...?", "What did he compare them to?": what someone said.
    (re.compile(r"^\s*what (did|does|do|has|have|had|will|would)\s+((?:\S+\s+){1,6}?)(say|tell|stress|"
                r"note|describe|call|compare|announce|add|remark|promise|pledge|urge)\b", re.I),
     "speech"),
    # "What was the chief's reaction ...", "What remarks did the mayor make", "How did he
    # respond": what someone said, asked by the name of a speech.
    (re.compile(r"^\s*what\s+(was|were|is|are)\s+((?:\S+\s+){1,6}?)(reactions?|remarks|"
                r"comments|response|responses|message|views?)\b", re.I), "speech"),
    (re.compile(r"^\s*what\s+(remarks|comments|message|reaction)\s+(?:did|does|do|has|have|"
                r"had)\s+((?:\S+\s+){1,6}?)(make|give|offer|deliver|have|send)\b", re.I), "speech"),
    (re.compile(r"^\s*how\s+(did|does|do|has|have|had)\s+((?:\S+\s+){1,6}?)(react|respond|"
                r"reply|comment)\b", re.I), "speech"),
    (re.compile(r"^\s*(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should|"
                r"shall|may|must)\b", re.I), "yesno"),
    (re.compile(r"^\s*(which|what)\s+(?!is\b|are\b|was\b|were\b|did\b|does\b|do\b|has\b|have\b|"
                r"will\b|would\b|can\b|could\b|should\b|happen|ones?\b)([\w-]+)", re.I), "thing"),
]


# The same kinds asked in Chinese (Simplified and Traditional), where the question word sits
# anywhere in the sentence: 李家超哪天开始访问重庆？ asks for a date.
ASKS_ZH = [
    (re.compile(r"什么时候|什麼時候|何时|何時|哪天|哪一天|哪年|哪一年|几月|幾月|几号|幾號|哪个月|哪個月|"
                r"哪一日|什么日期|什麼日期"), "date"),
    (re.compile(r"第几|第幾|排名第?几|排名第?幾"), "rank"),
    (re.compile(r"多少|几[个個份所条條家名位次项項座年天人]|幾[个個份所条條家名位次项項座年天人]|多大|"
                r"多长|多長|多久|多远|多遠|多高|比例|百分之"), "quantity"),
    (re.compile(r"谁|誰|哪[一二两兩三四五六七八九十几幾\d]*位|何人|"
                r"哪些(?:人|官员|官員|领导|領導|嘉宾|嘉賓|部长|部長)"), "person"),
    (re.compile(r"哪里|哪裡|哪裏|哪儿|哪兒|在哪|何地|何处|何處|什么地方|什麼地方"), "place"),
    # ... and "安倍晋三说欧盟和日本将扮演什么角色": who said, then what about, then 什么.
    (re.compile(r"说了什么|說了什麼|说过什么|說過什麼|怎么说|怎麼說|表示了什么|表示了什麼|讲了什么|講了什麼|"
                r"(?<![小传傳])[说說説](?![明服])[^，,。？?]{0,30}什[么麼]"), "speech"),
    (re.compile(r"[吗嗎]\s*[？?]?\s*$|是否|有没有|有沒有"), "yesno"),
]
ASKS_MONEY_ZH = re.compile(r"票价|票價|价格|價格|价钱|價錢|费用|費用|成本|多少钱|多少錢|年薪|薪水|工资|工資|"
                           r"预算|預算|造价|造價|花费|花費")


# "According to Mr Lee, what ...": the rest of the question asks; who is cited says whose words.
ACCORDING = re.compile(r"^\s*(?:according to|in the words of|as per)\s+([^,]{1,80}),\s*", re.I)


CITED_PERSON = re.compile(r"(the\s+)?((Mr|Ms|Mrs|Dr|Prof|PM|Mayor|Minister|Premier|President|"
                          r"Secretary|Governor|Chief|Chairman|Director|Commissioner)\b|"
                          r"(mayor|minister|premier|president|secretary|governor|chief|spokes\w*)\b|"
                          r"[A-Z][\w'-]+(\s+[A-Z][\w'-]+)*\s*$)")
CITED_TEXT = re.compile(r"\b(agreement|plan|report|treaty|protocol|accord|declaration|statement|"
                        r"charter|act|programme|program|memorandum|framework|convention|law|"
                        r"document|text|article|website|survey|data|figures)s?\s*$", re.I)


# "And who signed it?", "So when does it open?": a follow-up's opening word asks nothing.
LEAD_IN = re.compile(r"^\s*(?:(?:and|so|but|then|also|ok|okay|well|now)\b[\s,]*)+", re.I)


def asked_type(question: str) -> str | None:
    """The kind of thing the question asks for, or None when it does not say (why, how, what)."""
    question = LEAD_IN.sub("", question)
    if chinese.has_han(question):
        # 甚麼 is how Hong Kong writes 什麼 (甚麼時候, 甚麼地方).
        question = question.replace("甚麼", "什麼").replace("甚么", "什么")
        for pattern, kind in ASKS_ZH:
            if pattern.search(question):
                return kind
    cited = ACCORDING.match(question)
    if cited:
        kind = asked_type(question[cited.end():])
        # What a person is cited for is what they said; a text cited ("according to the
        # agreement") says nothing about the kind asked.
        if kind in (None, "thing") and CITED_PERSON.match(cited.group(1)) \
                and not CITED_TEXT.search(cited.group(1)):
            return "speech"
        return kind
    for pattern, kind in ASKS:
        m = pattern.search(question)
        if m:
            if kind == "speech" and not SPEAKER.search(m.group(2)):
                return None   # "What does the agreement say about finance?": a text says it
            if kind == "thing":
                # "Which railway training body ...": the noun it ends with says the kind.
                return HEAD_KINDS.get(_head(question, m) or "", "thing")
            return kind
    return None


def speaker(question: str) -> str:
    """Who the question asks to have spoken ("Japan's trade minister" of "What did Japan's
    trade minister say ..."), as the question words it; "" when it asks no one's words."""
    question = LEAD_IN.sub("", question)
    if chinese.has_han(question):
        return ""
    cited = ACCORDING.match(question)
    if cited:
        return cited.group(1) if asked_type(question) == "speech" else ""
    for pattern, kind in ASKS:
        m = pattern.search(question)
        if m:
            return m.group(2) if kind == "speech" and SPEAKER.search(m.group(2)) else ""
    return ""


# Who is said to speak in "what did ... say": a name, a pronoun, or a person by office.
SPEAKER = re.compile(r"\b[A-Z]|\b(he|she|they|i|we|you|mayor|minister|premier|president|secretary|"
                     r"chief|leader|official|spokes\w*|governor|chair\w*)s?\b")


# "Which X ..." asks for a person or a body, a place or a date when its noun X says so.
HEAD_KINDS = {**dict.fromkeys(("person", "people", "official", "officials", "minister",
                               "ministers", "leader", "leaders"), "person"),
              # "Which companies ...": a body answers, not any person named nearby.
              **dict.fromkeys(("body", "bodies", "organisation", "organisations", "organization",
                               "organizations", "ministry", "ministries", "department",
                               "departments", "company", "companies", "firm", "firms",
                               "operator", "operators", "agency", "agencies", "institution",
                               "institutions", "university", "universities", "bank", "banks",
                               "enterprise", "enterprises", "group", "groups"), "body"),
              **dict.fromkeys(("place", "places", "city", "cities", "country", "countries",
                               "venue", "venues", "hotel", "district", "province", "region"),
                              "place")}
# Where the noun phrase after "which" ends: a verb, a preposition or a clause begins.
HEAD_END = re.compile(r"\s+(?:did|does|do|is|are|was|were|will|would|can|could|should|has|have|"
                      r"had|in|at|on|of|for|to|from|with|by|that|who|whose|under|during|"
                      r"between|among|[a-z]+ed)\b", re.I)
HEAD_WORDS = 4   # a longer run is not one noun phrase


def _head(question: str, m: re.Match) -> str | None:
    """The last word of the noun phrase after "which"/"what" (lower case); `m`: ASKS' "thing"
    match of the question."""
    words = HEAD_END.split(question[m.start(2):], maxsplit=1)[0].split()[:HEAD_WORDS]
    words = [re.sub(r"[^\w-]", "", w) for w in words]
    return words[-1].lower() if words and words[-1] else None


def asked_thing(question: str) -> str | None:
    """The X of "which X" / "what X" (its stem), the thing a sentence must name to answer (the
    first word: "which science hub" must say science, the texts' own word more often than hub)."""
    m = ASKS[-1][0].search(question)
    if not m:
        return None
    toks = tokenize([m.group(2)])[0]
    return toks[0] if toks else None


# 涵蓋哪些範疇, 哪五個範疇: the X of a Chinese "which Xs" (two characters, a classifier passed).
ASKED_THING_ZH = re.compile(r"(?:哪些|哪[几幾一二三四五六七八九十两兩\d]+\s*[个個项項方条條家间間所位名类類种種份]?)"
                            r"([\u4e00-\u9fff]{2})")


def asked_thing_zh(question: str) -> str | None:
    """The X of a Chinese "which Xs" question, in Simplified characters."""
    m = ASKED_THING_ZH.search(question)
    return chinese.to_simplified(m.group(1)) if m else None


# "Which sectors will it focus on?", "What does the agreement cover?", "有哪些": the answer is
# a list, which a sentence introducing one ("the following four priority areas:") gives.
_PREP = r"(?:(?:in|at|from|to|for|on|with|by|under|across|into)\s+)?"   # "In which markets ..."
ASKS_LIST = re.compile(
    rf"^\s*{_PREP}(?:which|what)\s+(?:(?:\d+|{NUMBER_WORDS}|main|key|other)\s+)?(?:[\w-]+\s+){{0,2}}?"
    r"[\w-]*[^s\W]s\s+(?:did|does|do|will|would|are|were|have|has|can|could|should|must)\b|"
    rf"^\s*what\s+(?:are|were)\s+the\s+(?:(?:\d+|{NUMBER_WORDS}|main|key)\s+)?"
    r"(?:[\w-]+\s+){0,3}?[\w-]*[^s\W]s\s*(?:of\b[^?]*)?\??\s*$|"
    rf"^\s*{_PREP}(?:which|what)\b.*\b(?:cover|covers|covered|include|includes|included|contain|contains|"
    r"consist|consists|comprise|comprises|deal with|deals with|focus on|focuses on|"
    r"concentrate on|concentrates on|involve|involves)\b|"
    r"哪些|哪几[个個项項方]|哪幾[个個项項方]|包括[什甚][么麼]|涵盖[什甚][么麼]|涵蓋[什甚][么麼]|"
    # 哪五個範疇: a count of two or more (哪一天 asks for one)
    r"哪(?:[两兩二三四五六七八九十]|[2-9]|\d{2,})\s*[个個项項方条條类類种種份大]", re.I)


def asks_list(question: str) -> bool:
    """Whether the question asks for several things of a kind (a list answers it)."""
    return bool(ASKS_LIST.search(question))


MEASURE = re.compile(r"^\s*what(?:'s|’s| is| was| are| were| will be| would be)\s+(?:the\s+)?"
                     rf"(?!(?:\d+|{NUMBER_WORDS})\s)(?:[\w-]+\s+)?(population|speed|temperature|length|height|area|"
                     r"distance|duration)s?\b", re.I)


# What a number counts, said in other words: "How many nations" is answered by "seven other
# countries". Only words that name the same thing; a unit ("hours") has no other name.
UNIT_SYNONYMS = [("nation", "nations", "country", "countries", "state", "states"),
                 # what government texts sign, under their other names
                 ("agreement", "agreements", "deal", "deals", "accord", "accords", "pact", "pacts",
                  "treaty", "treaties", "memorandum", "memoranda", "memorandums"),
                 ("company", "companies", "firm", "firms", "enterprise", "enterprises",
                  "business", "businesses", "corporation", "corporations"),
                 ("person", "persons", "people", "individual", "individuals")]


@lru_cache(maxsize=1)
def _unit_groups() -> list[frozenset[str]]:
    return [frozenset(tokenize([" ".join(group)])[0]) for group in UNIT_SYNONYMS]


def same_units(unit: str) -> set[str]:
    """The stem of a counted thing and of its other names (UNIT_SYNONYMS)."""
    return {unit}.union(*(g for g in _unit_groups() if unit in g))


def counted(question: str) -> str | None:
    """The stem of what "how many X" counts, or of the measure "what is the X of" names
    (population, speed, ...): a number of something else does not answer it."""
    m = re.search(r"\bhow many\s+([\w-]+)", question, re.I) or MEASURE.search(question)
    toks = tokenize([m.group(1)])[0] if m else []
    return toks[0] if toks else None


COUNTED_WORDS = 3   # "how many cooperation deals": a modifier, then the head


def counted_units(question: str) -> set[str] | None:
    """The stems a number's sentence may name for "how many X Y" (X's, Y's and their other
    names): the head of a compound is its last word ("cooperation deals" counts deals), but
    a verb can follow unmarked ("how many people live"), so any of the few words will do."""
    unit = counted(question)
    if unit is None:
        return None
    m = re.search(r"\bhow many\s+", question, re.I)
    words = (HEAD_END.split(question[m.end():], maxsplit=1)[0].split()[:COUNTED_WORDS]
             if m else [])
    stems = set(tokenize([" ".join(words)])[0]) | {unit}
    return set().union(*(same_units(stem) for stem in stems))


# What a sentence says, whatever the question: looked up once per sentence and kind (the same
# passages' sentences are weighed question after question).
SPEECH = re.compile(r"[“”\"]|\b(said|says|say|stated|states|noted|notes|stressed|stresses|told|"
                    r"added|remarked|described|compared|likened|called|pointed out|expressed|"
                    r"believes?|believed|hopes?|hoped|pledged|promised|urged|announced)\b")
HOW_OLD = re.compile(r"\bhow old\b|多大年纪|多大年紀|几岁|幾歲|年龄|年齡", re.I)
AGE = re.compile(rf"\b(aged?|age of)\s+\d|\b(\d+|{NUMBER_WORDS})[\s-]+years?[\s-]+old\b|"
                 r"\bborn\b|\d+\s*岁|\d+\s*歲|出生", re.I)
# A rank: an ordinal of a superlative ("fourth largest", "the 3rd biggest"), "ranked second",
# 第四大; not any ordinal ("the Sixth Committee", "the first time").
RANK = re.compile(r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
                  r"\d+(?:st|nd|rd|th))[\s-]+(?:largest|biggest|busiest|highest|most|top|"
                  r"leading|fastest)\b|\branked\s+(?:\w+\s+){0,2}?(?:first|second|third|fourth|"
                  r"fifth|\d+(?:st|nd|rd|th))\b|第[一二三四五六七八九十\d]+大|排名第", re.I)
SAYS = {"speech": SPEECH, "age": AGE, "rank": RANK, "date": DATE, "number": NUMBER, "money": MONEY, "person": PERSON,
        "place": PLACE, "body": BODY, "titled": TITLED, "named_body": NAMED_BODY}


# A day of a month ("On May 10", "9月5日", "2023年5月"): its digits count nothing.
DAY_OF_MONTH = re.compile(rf"\b(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+(?:1[5-9]|20)\d\d)?|"
                          rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})\b(?:,?\s+(?:1[5-9]|20)\d\d)?|"
                          r"\d{1,4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号號])?|"
                          r"\d{1,2}\s*月\s*\d{1,2}\s*[日号號]", re.I)


@bytes_cached(0.02)
def _says(key: tuple[str, str]) -> bool:
    kind, sentence = key
    if kind == "count":   # a number that is not the day of a month nor a year ("In 2018")
        return bool(NUMBER.search(YEAR.sub(" ", DAY_OF_MONTH.sub(" ", sentence))))
    return bool(SAYS[kind].search(sentence))


# The word before "by", past "over"/"up"/"jointly" ("presided over by"): looked at only where
# "by" is, so that the work is linear in the sentence.
BY = re.compile(r"\bby\b")
BEFORE_BY = re.compile(r"([A-Za-z][\w-]*)\s+(?:(?:over|up|jointly)\s+)?$")
AGENT_LOOKBACK = 40   # characters before "by" that hold its verb


AGENT_ZH = re.compile(r"由([^，,。；;！？!?]{2,60})")


def agent_of(sentence: str, question_tokens: set[str]) -> bool:
    """Whether `sentence` says who did what the question asks about in the passive ("was
    signed by ...", "is chaired by ..."): `question_tokens`, the question's word stems."""
    if chinese.has_han(sentence):
        # 合作安排由局長鄭家豪與廳長林曉東代表雙方簽署: the clause after 由 ends in the verb.
        for m in AGENT_ZH.finditer(sentence):
            words = tokenize([m.group(1)])[0]
            if words and words[-1] in question_tokens:
                return True
        return False
    if " by " not in sentence:
        return False
    verbs = []
    for m in BY.finditer(sentence):
        before = BEFORE_BY.search(sentence[max(0, m.start() - AGENT_LOOKBACK):m.start()])
        if before:
            verbs.append(before.group(1))
    return bool(verbs) and bool(set(tokenize([" ".join(verbs)])[0]) & question_tokens)


def names_a_named_body(sentence: str) -> bool:
    """Whether `sentence` names a body by a name that says what it is ("the Joint
    Implementation Committee")."""
    return _says(("named_body", sentence))


def names_a_titled_person(sentence: str) -> bool:
    """Whether `sentence` names someone by title ("Foreign Minister Laurent Fabius")."""
    return _says(("titled", sentence))


_PLACE_RUN = re.compile(r"[\w'’-]+(?:\s+[A-Z][\w'’-]*)*")


def _places(text: str) -> list[str | None]:
    """The places `text` names after "in", "at", ... (each a run of capitalised words), None for
    a venue ("the hotel"), "event:ceremony" for an event ("at the signing ceremony")."""
    out: list[str | None] = []
    for m in PLACE.finditer(text):
        if m.group(7):   # at an event: "event:ceremony"
            out.append(f"event:{m.group(7).lower()}")
            continue
        if not text[m.end() - 1].isupper():
            out.append(None)
            continue
        run = _PLACE_RUN.match(text, m.end() - 1)
        out.append(run.group().lower() if run else None)
    return out


def _new_place(sentence: str, question: str) -> bool:
    """Whether a place the sentence gives is not the one the question says it is in: "Where did
    he go after signing it in Haikou?" is not answered by "signed it in Haikou"."""
    asked = {p for p in _places(question) if p}
    lower = question.lower()
    # "Where did the signing ceremony take place?" is not answered by "at the signing ceremony".
    return any(p is None or (p not in asked and not (p.startswith("event:") and p[6:] in lower))
               for p in _places(sentence))


# Where, in Chinese: "设在南方科技大学", "位于", "赴成都", "在广州签署".
PLACE_ZH = re.compile(
    r"(?:位于|位於|设在|設在|设于|設於|落户|落戶|坐落|前往|抵达|抵達|到访|到訪|赴)[\u4e00-\u9fff]|"
    r"在[\u4e00-\u9fff\w（）()]{2,15}?(?:举行|舉行|举办|舉辦|召开|召開|签署|簽署|签订|簽訂|会见|會見|"
    r"会面|會面|开幕|開幕|成立|展出|揭牌|出席)")


def gives(kind: str | None, sentence: str, question: str) -> bool:
    """Whether `sentence` holds the kind of thing asked (True when nothing in particular is asked)."""
    if kind is None or kind == "yesno":
        return True
    if kind == "place":
        if chinese.has_han(sentence):
            return bool(PLACE_ZH.search(sentence))
        return _says((kind, sentence)) and _new_place(sentence, question)
    if kind in ("date", "person", "speech", "body", "rank"):
        return _says((kind, sentence))
    if kind == "quantity":
        if not _says(("count", sentence)):
            return False
        if HOW_OLD.search(question):   # an age, not "one country, two systems"
            return _says(("age", sentence))
        money = ASKS_MONEY.search(question) or ASKS_MONEY_ZH.search(question)
        if money and not ASKS_SHARE.search(question) and "比例" not in question:
            # A sum is the answer, whatever the question calls it ("how much funding").
            return _says(("money", sentence))
        units = counted_units(question)
        # "how many hours": a number of the thing counted, not any number.
        return units is None or bool(units & set(tokenize([sentence])[0]))
    if kind == "thing":
        thing = asked_thing(question)
        return thing is None or thing in tokenize([sentence])[0]
    return True


# What people ask about a person that government texts seldom state, and the words a passage
# that states it uses: "Where was she born?" is not answered by a passage with no birth in it.
ATTRIBUTES = [
    (re.compile(r"\b(born|birthplace|birthday|birth)\b|出生|生日", re.I),
     re.compile(r"\b(born|birth\w*|native of)\b|出生|生于|生於|生日", re.I)),
    (re.compile(r"\b(graduat\w*|alma mater|studied|educated|degree)\b|毕业|畢業|学历|學歷", re.I),
     re.compile(r"\b(graduat\w*|alumn\w*|degree|studied|educated|student of)\b|毕业|畢業|学历|學歷", re.I)),
    (re.compile(r"\b(married|marry|wife|husband|spouse|children)\b|结婚|結婚|妻子|丈夫", re.I),
     re.compile(r"\b(married|marri\w+|wife|husband|spouse|children|sons?|daughters?)\b|结婚|結婚|妻|丈夫", re.I)),
    (re.compile(r"\b(die|died|death|pass(ed)? away)\b|去世|逝世", re.I),
     re.compile(r"\b(died|dies|death|passed away|late)\b|去世|逝世", re.I)),
]


def attribute_missing(question: str, passage_text: str) -> bool:
    """Whether the question asks a personal attribute (birth, schooling, family, death) that
    `passage_text` does not speak of at all."""
    return any(asks.search(question) and not states.search(passage_text)
               for asks, states in ATTRIBUTES)


# "the service desk in Qinzhou": a thing, a preposition, the place it is at.
PLACE_SLOT = re.compile(r"\b([A-Za-z][\w-]*)\s+(in|at|near|from|to)\s+(?:the\s+)?"
                        r"([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,4})")


def _swapped(question: str, sentence: str,
             slots: Callable[[str], list[tuple[Any, str]]]) -> list[str]:
    """The names the question puts in a slot (a thing's place, a verb's object) where the
    sentence fills the same slot with another name and never says the question's."""
    asked_slots = slots(question)
    if not asked_slots:
        return []
    lower = sentence.lower()
    said = [(key, name.lower()) for key, name in slots(sentence)]
    return [name for key, name in asked_slots
            if name.lower() not in lower
            and any(k == key and other != name.lower() for k, other in said)]


def _place_slots(text: str) -> list[tuple[tuple[str, str], str]]:
    return [((word.lower(), prep.lower()), place) for word, prep, place in
            (m.groups() for m in PLACE_SLOT.finditer(text)) if word.lower() not in ASKING_WORDS]


def swapped_places(question: str, sentence: str) -> list[str]:
    """The places the question puts a thing at ("the desk in Qinzhou") where the sentence puts
    the same thing, after the same preposition, at another ("the desk in Nanning"): the
    question's place is not said there, and may be swapped (the caller checks its other forms)."""
    return _swapped(question, sentence, _place_slots)


# "adopted the Kyoto Protocol": a verb and the name it acts on.
OBJECT_SLOT = re.compile(r"\b([a-z][a-z-]{2,})\s+(?:the\s+)?([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,4})")
_NOT_VERBS = {"in", "at", "near", "from", "to", "with", "of", "for", "by", "on", "and", "or", "between",
              "about", "than", "as", "into", "over", "under", "across", "after", "before", "since",
              "during", "within"}


def _object_slots(text: str) -> list[tuple[str, str]]:
    out = []
    for m in OBJECT_SLOT.finditer(text):
        word = m.group(1).lower()
        if word in _NOT_VERBS or word in stopwords():
            continue
        stem = tokenize([word])[0]
        if stem:
            out.append((stem[0], m.group(2)))
    return out


def swapped_objects(question: str, sentence: str) -> list[str]:
    """The names the question has a verb act on ("adopted the Kyoto Protocol") where the
    sentence has the same verb act on another ("adopted the Paris Agreement")."""
    return _swapped(question, sentence, _object_slots)


def is_negated(text: str) -> bool:
    return bool(NEGATION.search(text))


# A thing's beginning and its end: "When was the bureau dissolved?" is not answered by "the
# bureau was established in 1939". Not "close" (close cooperation) or "end" (by the end of June).
BEGINS = re.compile(r"\b(establish(?:ed|es|ing|ment)?|found(?:ed|ing)|set up|launch(?:ed|es|ing)?|"
                    r"inaugurat\w*|creat(?:e|ed|es|ion)|formed|sign(?:ed|s|ing)?)\b|"
                    r"成立|设立|設立|建立|创办|創辦|启动|啟動|签署|簽署", re.I)
ENDS = re.compile(r"\b(dissolv\w*|abolish\w*|disband\w*|closed|closure|ended|terminat\w*|"
                  r"expir\w*|scrapped|cancel\w*|withdr[ae]w\w*|wound up|shut down)\b|"
                  r"解散|撤销|撤銷|废除|廢除|终止|終止|取消|关闭|關閉|退出", re.I)


def opposite_event(question: str, sentence: str) -> bool:
    """Whether the question asks of a thing's end and the sentence tells only its beginning, or
    the other way round."""
    for asked_for, other in ((ENDS, BEGINS), (BEGINS, ENDS)):
        if asked_for.search(question) and not other.search(question) \
                and other.search(sentence) and not asked_for.search(sentence):
            return True
    return False


_ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
# 第三次, 第二届, 第3轮: Chinese numbers a meeting, a session or a round so.
ORDINAL_ZH = re.compile(r"第\s*([一二三四五六七八九十]+|\d+)\s*(?=[次届屆轮輪期场場])")
_ZH_DIGITS = "一二三四五六七八九"


def _zh_number(numeral: str) -> int:
    if numeral.isdigit():
        return int(numeral)
    tens, _, units = numeral.partition("十")
    if "十" not in numeral:
        return _ZH_DIGITS.index(numeral) + 1 if len(numeral) == 1 else 0
    return (_ZH_DIGITS.index(tens) + 1 if tens else 1) * 10 + (
        _ZH_DIGITS.index(units) + 1 if units else 0)


def _ordinal_number(word: str) -> str:
    m = _ORDINAL_DIGITS.match(word)
    if m:
        return m.group(1)
    return str(_ORDINAL_WORDS.index(word) + 1) if word in _ORDINAL_WORDS else word


def ordinals(text: str) -> set[str]:
    """The ordinals a text says ("third", "6th", 第三次), as numbers: "the third plenary" is not
    the second, and is "the 3rd" or 第三次 in other texts. Not the first: it says "earliest" as
    often as it numbers ("the first countries to sign" where the text says "founding
    members", "when did it first ...")."""
    said = {_ordinal_number(m.lower()) for m in ORDINAL.findall(text)}
    if chinese.has_han(text):
        said |= {str(_zh_number(m)) for m in ORDINAL_ZH.findall(text)}
    return said - {"1", "0"}


# Times told from the reader's present ("today", "next year"): dated texts speak of their own
# days, so a question placed in the reader's is answered only by a passage placed the same way.
RELATIVE_TIMES = {
    "today": r"\btoday(?:'s|’s)?\b|\btonight\b|今天|今日|今晚",
    "tomorrow": r"\btomorrow(?:'s|’s)?\b|明天|明日",
    "yesterday": r"\byesterday(?:'s|’s)?\b|昨天|昨日",
    "now": r"\b(?:now|currently|at present|these days|nowadays|so far|to date|as of today)\b|"
           r"現在|现在|目前|如今|迄今|至今",
    "this year": r"\bthis year\b|今年",
    "next year": r"\bnext year\b|明年",
    "last year": r"\blast year\b|去年",
    "this week": r"\bthis week\b|本週|本周|這週|这周",
    "next week": r"\bnext week\b|下週|下周",
}
_RELATIVE = {key: re.compile(pattern, re.I) for key, pattern in RELATIVE_TIMES.items()}


def relative_times(text: str) -> set[str]:
    """The times `text` tells from the reader's present, in English, whatever the language."""
    return {key for key, pattern in _RELATIVE.items() if pattern.search(text)}


# A dated text's "2024" is its reader's "last year" when it was written in 2025.
YEAR_OFFSETS = {"last year": -1, "this year": 0, "next year": 1}


def dated_years(text: str, doc_date: str) -> set[str]:
    """The relative years ("last year") that `text`, written on `doc_date`, names by number:
    a report of 2025 that gives "in 2024" tells what a question's "last year" asks, as the
    reader of that report meant it."""
    written = YEAR.search(doc_date or "")
    if not written:
        return set()
    named = years(text)
    return {key for key, offset in YEAR_OFFSETS.items()
            if str(int(written.group(0)) + offset) in named}


def years(text: str) -> set[str]:
    return set(YEAR.findall(text))


# A day of a month of a year, in the three ways the texts write it: "1 January 2021",
# "January 1, 2021", "2021年1月1日" (the abbreviations too: "Jan. 1, 2021").
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_MONTH = rf"(?P<month>{MONTHS})\b\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>1[5-9]\d\d|20\d\d)"
_FULL_DATES = (re.compile(rf"\b{_DAY}\s+{_MONTH},?\s+{_YEAR}\b", re.I),
               re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I),
               re.compile(rf"{_YEAR}\s*年\s*(?P<month>\d{{1,2}})\s*月\s*(?P<day>\d{{1,2}})\s*[日号號]"),
               re.compile(rf"\b{_YEAR}-(?P<month>\d\d)-(?P<day>\d\d)\b"))   # a document's date


def _month(month: str) -> int | None:
    if month.isdigit():
        return int(month)
    key = month.lower().rstrip(".")[:3]
    return next((n for n, name in enumerate(_MONTH_NAMES, 1) if name.startswith(key)), None)


def full_dates(text: str) -> set[str]:
    """The full dates `text` gives (day, month and year), as "YYYY-MM-DD" whatever the writing:
    a question's "on 1 January 2021" is not answered by a text's "1 January 2022" even when
    the text names 2021 elsewhere."""
    out = set()
    for pattern in _FULL_DATES:
        for m in pattern.finditer(text):
            month = _month(m["month"])
            if month:
                out.add(f"{m['year']}-{month:02d}-{int(m['day']):02d}")
    return out


NUMBER_VALUE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")


def numbers(text: str) -> set[str]:
    """The numbers written in digits, other than years, without thousands separators."""
    out = set()
    for m in NUMBER_VALUE.finditer(text):
        value = m.group(0).replace(",", "")
        if not YEAR.fullmatch(value):
            out.add(value)
    return out


_CAPITALISED = re.compile(r"(?<![\w’'-])[A-Z][\w’'-]*(?:\s+(?:(?:of|and|for|the|de|von)\s+)?"
                          r"[A-Z][\w’'-]*)*")
_SENTENCE_START = re.compile(r"(^|[.!?:;]\s+|[\"“(]\s*)$")


def names(question: str, lowercase_words: set[str] = frozenset()) -> list[str]:
    """The question's names: runs of capitalised words, less what only looks like one.

    A capitalised word opening the question ("Name an ...", "Savannah ...") is a name only
    when another capitalised word follows it; a word the texts also write in lower case
    ("Finance", "Summit") is a common noun (`lowercase_words`: words seen written in lower
    case), unless it is part of a longer run."""
    stop = set(stopwords())
    out: list[str] = []
    for m in _CAPITALISED.finditer(question):
        words = m.group(0).split()
        at_start = bool(_SENTENCE_START.search(question[:m.start()]))
        while words and (words[0].lower() in stop or words[0].lower() in ASKING_WORDS):
            words, at_start = words[1:], False if len(words) > 1 else at_start
        if not words:
            continue
        if len(words) == 1:
            word = words[0]
            if at_start or word.lower() in lowercase_words:
                continue
        out.append(" ".join(words))
    return out


def has_word(text: str, phrase: str) -> bool:
    """`phrase` in `text` with no word character either side: a regex built from the question
    would do it, and fill re's pattern cache (512 entries of any size) with every question."""
    start = text.find(phrase)
    while start >= 0:
        end = start + len(phrase)
        if (start == 0 or not chinese.is_word_char(text[start - 1])) and \
                (end == len(text) or not chinese.is_word_char(text[end])):
            return True
        start = text.find(phrase, start + 1)
    return False


LOWER_WORD = re.compile(r"(?<![\w’'-])[a-z][a-z-]+")


# A web address is no prose: "nasa.gov/specials/artemis" does not make "Artemis" a common noun.
ADDRESS = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w.-]+|"
                     r"\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|gov|net|int|edu)\b\S*")


ADDRESS_HINT = re.compile(r"://|www\.|@|\.(?:com|org|gov|net|int|edu)\b")


def lowercase_words(texts: Sequence[str]) -> set[str]:
    """Words the texts write in lower case: a question's "Finance" is then a common noun."""
    # Most passages hold no address: the full pattern only runs where one may be.
    return {w for t in texts
            for w in LOWER_WORD.findall(ADDRESS.sub(" ", t) if ADDRESS_HINT.search(t) else t)}


def question_names(question: str, texts: Sequence[str]) -> list[str]:
    """The names a question asks about ("Hong Kong and Shanghai" as two), judged against the
    words `texts` write in lower case, and the Chinese names the variants table knows."""
    return each_name(names(question, lowercase_words(texts))) + chinese.names_in(question)


# "Secretary for Justice", "Bureau for Trade": an office or a body named for what it is for.
OFFICE_FOR = re.compile(r"\b(Secretary|Minister|Ministry|Director|Commissioner|Ambassador|"
                        r"Bureau|Office|Department|Agency|Council|Commission|Committee|Centre|"
                        r"Center|Institute|Authority|Board|Fund|Foundation|Association|Society|"
                        r"Alliance|Network|Programme|Program)\s*$")


def each_name(runs: Sequence[str]) -> list[str]:
    """A run of capitalised words split where "and" joins two names ("Hong Kong and Chongqing"),
    and where "for" joins two ("the Artemis Accords for NASA"), unless it names an office or a
    body by what it is for ("Secretary for Justice")."""
    out: list[str] = []
    for run in runs:
        for part in re.split(r"\s+and\s+", run):
            pieces = re.split(r"\s+for\s+", part)
            joined = pieces[0]
            for piece in pieces[1:]:
                if OFFICE_FOR.search(joined):
                    joined = f"{joined} for {piece}"
                else:
                    out.append(joined)
                    joined = piece
            out.append(joined)
    return out


def group_forms(groups: Sequence[Mapping[str, Any]]) -> list[set[str]]:
    """The folded forms of each variants-table group a question matched."""
    return [{fold_key(n) for n in g["names"]} for g in groups]


ACRONYM_PLURAL = re.compile(r"(?<=[A-Z]{2})s$")


def forms_of(name: str, forms: Sequence[set[str]]) -> set[str]:
    """Every folded form of `name` the variants table knows (its own, without "'s", if none)."""
    key = fold_key(re.sub(r"’s|'s$", "", name))
    found = next((f for f in forms if key in f), {key})
    singular = ACRONYM_PLURAL.sub("", name)   # "the two SARs": the texts' "SAR" too
    return found | forms_of(singular, forms) if singular != name else found


def missing_names(text: str, names: Sequence[str], group_forms: Sequence[set[str]]) -> int:
    """How many of `names` `text` (folded) holds in no form the variants table knows."""
    missing = 0
    for name in names:
        if not any(has_word(text, f) or _has_parts(text, f) for f in forms_of(name, group_forms)):
            missing += 1
    return missing


def _has_parts(text: str, form: str) -> bool:
    # "EU-Japan", "Chongqing-backed": a compound the texts write apart ("the EU and Japan").
    parts = [p for p in form.split("-") if p]
    return len(parts) > 1 and all(has_word(text, p) for p in parts)
