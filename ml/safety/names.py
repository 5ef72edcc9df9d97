"""People's names: Latin-script names from a lexicon and context cues, Chinese names from a
surname list and context cues, and the filter that spaCy's English NER spans must pass.

The English spaCy model tags misspelt words ("Wen will my refund ..."), brands ("Mastercard"),
template variables ("{{Website Name}}") and whole Chinese sentences as people. A span it finds is
kept only when it looks like a name: it has no digit, brace or Chinese character, and either a
token is a known first or last name (and it is not a lone word opening a sentence), or it has two
or more capitalised tokens none of which is a common English word.

The lexicon is Faker's first- and last-name lists of the locales in ``LEXICON_LOCALES`` (about
16,000 names, loaded once per process). No Chinese spaCy pipeline installs offline from PyPI (the
``zh-core-web-sm`` name there is a placeholder package), so Chinese names come from the common
surnames below and the words around them ("客户赵敏", "张三丰的手机").
"""

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

# The locales whose name lists make up the lexicon. Held-out evaluation names come from other
# locales (en_IE, en_NZ, de_AT, fr_CH, pt_BR ...): see benchmarks/data/pii_wide/build.py.
LEXICON_LOCALES = (
    "en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "pt_PT", "it_IT", "nl_NL", "fi_FI",
    "da_DK", "sv_SE", "no_NO", "pl_PL", "zh_CN",
)  # fmt: skip

_LATIN = [chr(c) for c in range(0x41, 0x250) if chr(c).isalpha()]
UPPER = "".join(c for c in _LATIN if c.isupper())
LOWER = "".join(c for c in _LATIN if c.islower())
# A capitalised name token: "Anna", "O'Brien", "Jean-Luc", "McDonald", "Müller".
NAME_TOKEN = rf"[{UPPER}][{LOWER}]*[{LOWER}](?:[-'’][{UPPER}][{LOWER}]+|[{UPPER}][{LOWER}]+)?"
# The same in any case ("priya").
ANY_CASE_TOKEN = rf"[{UPPER}{LOWER}][{LOWER}{UPPER}'’-]*[{LOWER}{UPPER}]"
_CJK = "\u4e00-\u9fff"
CJK_RE = re.compile(f"[{_CJK}]")


@dataclass(frozen=True)
class Lexicon:
    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str]  # common English words (casefolded): never a name on their own
    stop: frozenset[str]  # function words: never part of a name, whatever the cue
    last_any: frozenset[str]  # last names including those that are common words (White, Cook)
    first_any: frozenset[str]
    places: frozenset[
        str
    ]  # countries and big cities: "Paris, London and Berlin" is no list of people

    def is_name(self, token: str) -> bool:
        key = token.casefold()
        return key in self.first or key in self.last


def _names(provider: type, kind: str) -> set[str]:
    found: set[str] = set()
    for attribute in dir(provider):
        if kind in attribute and not attribute.startswith("_"):
            value = getattr(provider, attribute)
            if isinstance(value, dict | tuple | list | set | frozenset):
                found.update(str(v).casefold() for v in value)
    return found


@cache
def lexicon() -> Lexicon:
    from faker.providers.address.en_US import Provider as UsAddress
    from faker.providers.lorem.en_US import Provider as Lorem
    from spacy.lang.en.stop_words import STOP_WORDS

    first: set[str] = set()
    last: set[str] = set()
    for locale in LEXICON_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        first |= _names(provider, "first_name")
        last |= _names(provider, "last_name")
    common = {w.casefold() for w in Lorem.word_list} | {w.casefold() for w in STOP_WORDS}
    common |= _COMMON_EXTRA
    places = {c.casefold() for c in UsAddress.countries} | _CITIES
    # A word that is common English is not taken as a name from the lexicon alone.
    return Lexicon(
        first=frozenset(first - common),
        last=frozenset(last - common),
        common=frozenset(common),
        stop=frozenset(w.casefold() for w in STOP_WORDS),
        last_any=frozenset(last),
        first_any=frozenset(first),
        places=frozenset(places),
    )


# Words of customer-service text that the name lists also hold, or that NER takes for names.
_COMMON_EXTRA = {
    "hi", "hello", "hey", "thanks", "thank", "please", "pls", "plz", "ok", "okay", "yes", "no",
    "card", "cards", "visa", "mastercard", "amex", "paypal", "refund", "order", "account", "bank",
    "transfer", "top", "pin", "atm", "apple", "google", "pay", "cash", "help", "support", "chat",
    "live", "customer", "service", "website", "name", "app", "online", "delivery", "shipping",
    "invoice", "bill", "password", "cancel", "modify", "change", "update", "track", "price",
    "euro", "euros", "dollar", "dollars", "pound", "pounds", "rate", "fee", "fees", "charge",
    "black", "white", "brown", "green", "gray", "grey", "young", "long", "king", "mark",
    "will", "may", "june", "april", "august", "summer", "hope", "grant", "chase", "page", "rose",
    "lane", "street", "road", "avenue", "drive", "court", "park", "hill", "way", "north",
    "south", "east", "west", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "january", "february", "march", "july", "september", "october", "november",
    "december", "christmas", "easter", "ireland", "england", "wales", "scotland", "china",
}  # fmt: skip
_CITIES = {
    "london", "paris", "berlin", "madrid", "rome", "lisbon", "dublin", "amsterdam", "vienna",
    "brussels", "prague", "warsaw", "helsinki", "copenhagen", "stockholm", "oslo", "zurich",
    "geneva", "milan", "munich", "hamburg", "barcelona", "porto", "boston", "chicago", "houston",
    "dallas", "denver", "seattle", "austin", "phoenix", "atlanta", "miami", "toronto",
    "vancouver", "montreal", "sydney", "melbourne", "tokyo", "beijing", "shanghai", "delhi",
    "mumbai", "washington", "jackson", "lincoln", "madison", "york", "manchester", "leeds",
    "bristol", "liverpool", "glasgow", "edinburgh", "cardiff", "belfast", "sheffield",
}  # fmt: skip


# --- Latin-script names -------------------------------------------------------------------------

_NAME_RUN = re.compile(rf"(?<![\w@.]){NAME_TOKEN}(?:[ ]+{NAME_TOKEN}){{1,2}}(?![\w@])")
# Strong cues take any capitalised words, or lower-case words from the lexicon.
_STRONG_CUE = re.compile(
    r"(?i:\b(?:my\s+name\s+is|my\s+name's|name\s*[:：]|full\s+name\s*[:：]?|names?\s+is|"
    r"call\s+me|signed|regards,|cheers,|account\s+holder(?:\s+is)?\s*:?|cardholder\s*:?|"
    r"recipient\s*:?|addressed\s+to|in\s+the\s+name\s+of|for)\s+)"
)
_WEAK_CUE = re.compile(r"(?i:\b(?:this\s+is|i\s+am|i'm|im|it's|it\s+is)\s+)")
_TITLE = re.compile(
    rf"(?<![\w])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Herr|Frau|M|Mme|Mlle)\.?\s+"
    rf"({NAME_TOKEN}(?:\s{NAME_TOKEN})?)"
)
_LIST = re.compile(
    rf"(?<![\w]){NAME_TOKEN}(?:\s*,\s*{NAME_TOKEN})+(?:\s*,?\s+(?:and|&|or)\s+{NAME_TOKEN})?"
)
_LIST_CUE = re.compile(
    r"(?i:holders|names|surnames|guests|passengers|travell?ers|members|famil(?:y|ies)|"
    r"recipients|signatories|people|customers|owners|tenants|employees|staff)\W{0,12}$"
)
_TOKEN = re.compile(rf"[{UPPER}{LOWER}][{UPPER}{LOWER}'’-]*")


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    score: float


def _cued_names(text: str, lex: Lexicon) -> Iterator[Found]:
    for cue, strong in ((_STRONG_CUE, True), (_WEAK_CUE, False)):
        for match in cue.finditer(text):
            tokens: list[re.Match[str]] = []
            position = match.end()
            for token in _TOKEN.finditer(text, position):
                if token.start() != position or len(tokens) == 3:
                    break
                tokens.append(token)
                position = token.end() + 1 if text[token.end() : token.end() + 1] == " " else -1
            chosen: list[re.Match[str]] = []
            for token in tokens:
                word = token.group()
                capitalised = re.fullmatch(NAME_TOKEN, word) is not None
                key = word.casefold()
                if key in lex.places or (key in lex.stop and not lex.is_name(word)):
                    break
                if strong:
                    # after "name:", any capitalised word, or a known name in lower case
                    # ("mark smith": the common-word names count here)
                    if capitalised or key in lex.first_any or key in lex.last_any:
                        chosen.append(token)
                        continue
                    break
                if key in lex.common and not lex.is_name(word):
                    break
                if lex.is_name(word) or capitalised:
                    chosen.append(token)
                else:
                    break
            if not chosen:
                continue
            words = [t.group() for t in chosen]
            if not strong and not any(lex.is_name(w) for w in words) and len(words) < 2:
                continue
            # "for Anna Smith": only full names from the lexicon.
            if match.group().strip().casefold() == "for" and (
                len(words) < 2 or not all(lex.is_name(w) for w in words)
            ):
                continue
            yield Found(chosen[0].start(), chosen[-1].end(), 0.8 if strong else 0.75)


def _full_names(text: str, lex: Lexicon) -> Iterator[Found]:
    for match in _NAME_RUN.finditer(text):
        words = match.group().split()
        if words[0].casefold() in lex.first and words[-1].casefold() in lex.last:
            yield Found(match.start(), match.end(), 0.7)


def _surname_lists(text: str, lex: Lexicon) -> Iterator[Found]:
    for match in _LIST.finditer(text):
        items = [t for t in re.finditer(NAME_TOKEN, match.group())]
        words = [t.group().casefold() for t in items]
        if any(w not in lex.last_any or w in lex.places for w in words):
            continue
        if all(w in lex.common for w in words):
            continue
        if len(items) < 3 and not _LIST_CUE.search(text[: match.start()]):
            continue
        for item in items:
            yield Found(match.start() + item.start(), match.start() + item.end(), 0.7)


def latin_names(text: str) -> list[Found]:
    lex = lexicon()
    found = list(_cued_names(text, lex))
    found += [Found(m.start(), m.end(), 0.85) for m in _TITLE.finditer(text)]
    found += _full_names(text, lex)
    found += _surname_lists(text, lex)
    return found


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(")
    return not before or before[-1] in ".!?\n:;"


def ner_span_kept(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The part of a spaCy PERSON span that is a name, or None."""
    value = text[start:end]
    stripped = value.strip(" \t\n'\"’‘“”.,;:!?()-")
    start += value.find(stripped) if stripped else 0
    end = start + len(stripped)
    if not stripped or CJK_RE.search(stripped) or re.search(r"[\d{}\[\]_@#/<>]", stripped):
        return None
    lex = lexicon()
    words = stripped.split()
    # "Cancel Order", "Dear Customer"; a common word may still be a known name's part.
    if any(w.casefold() in lex.common or w.casefold() in lex.places for w in words) and not all(
        lex.is_name(w) or w.casefold() in {"de", "van", "von", "da"} for w in words
    ):
        return None
    known = any(lex.is_name(w) for w in words)
    capitalised = all(re.fullmatch(NAME_TOKEN, w) for w in words)
    if len(words) == 1:
        if not known or _sentence_start(text, start):
            return None
    elif not known and (not capitalised or _sentence_start(text, start)):
        return None
    return start, end


# --- Chinese names ------------------------------------------------------------------------------

# The most common single-character surnames (covering most of the population) and the compound ones.
_ZH_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕"
    "单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
    "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖"
    "巩明佘池查麻苑迟邝封"
)
_ZH_SURNAMES_2 = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "公冶", "太史",
)  # fmt: skip
# Characters that end a name: particles, pronouns and the first characters of words that follow
# a name ("的手机", "先生", "说", "在").
_ZH_STOP = (
    "的了是在说和与跟要想已把被也都还就又再刚从到去来吗呢啊吧您你我他她它们先女电手地订"
    "号帮给让请叫姓名为于对向找买下单收寄送住打发问用付退换查取等有没不很会能可这那个位"
)
_ZH_BEFORE_WORDS = (
    "客户 顾客 用户 会员 我叫 我是 名字是 名字叫 叫做 姓名 姓名是 联系人 "
    "收件人 收货人 寄件人 户名 持卡人 签收人 经办人 负责人 客服 同事 朋友 "
    "老公 老婆 妻子 丈夫 先生 女士 儿子 女儿 妈妈 爸爸 帮 给 替 和 跟 "
    "与 找 转给 致 请 让 代 由"
)
_ZH_BEFORE = tuple(_ZH_BEFORE_WORDS.split())
_ZH_AFTER_WORDS = (
    "的手机 的电话 的号码 的地址 的订单 的账户 的账号 的银行卡 的卡 的邮箱 "
    "的身份证 的包裹 的快递 先生 女士 小姐 同学 老师 经理 师傅 收 签收 说 "
    "已经 下单 买的 的名字"
)
_ZH_AFTER = tuple(_ZH_AFTER_WORDS.split())
_ZH_SURNAME = "(?:" + "|".join(_ZH_SURNAMES_2) + f"|[{_ZH_SURNAMES_1}])"
_ZH_NAME = re.compile(rf"{_ZH_SURNAME}[{_CJK}]{{1,2}}")
_ZH_BEFORE_RE = re.compile(
    "(?:" + "|".join(sorted(_ZH_BEFORE, key=len, reverse=True)) + r")[:：]?\s*$"
)


def chinese_names(text: str) -> list[Found]:
    """Surname + one or two given-name characters, with a cue word before or after it."""
    found: list[Found] = []
    position = 0
    while position < len(text):
        match = _ZH_NAME.search(text, position)
        if match is None:
            break
        start = match.start()
        before = _ZH_BEFORE_RE.search(text[max(0, start - 6) : start]) is not None
        candidates = []
        surname_length = 2 if match.group()[:2] in _ZH_SURNAMES_2 else 1
        for given in (2, 1):
            end = start + surname_length + given
            if end > len(text):
                continue
            name = text[start:end]
            if not all(CJK_RE.match(c) for c in name) or any(c in _ZH_STOP for c in name[1:]):
                continue
            rest = text[end:]
            after = (
                not rest
                or not CJK_RE.match(rest[0])
                or any(rest.startswith(word) for word in _ZH_AFTER)
            )
            if after and before:
                candidates.append((0.85, end))
            elif after and any(rest.startswith(word) for word in _ZH_AFTER):
                candidates.append((0.75, end))
            elif before and given == 2 and rest and rest[0] in _ZH_STOP:
                candidates.append((0.7, end))
        if candidates:
            score, end = max(candidates)
            found.append(Found(start, end, score))
            position = end
        else:
            position = start + 1
    return found
