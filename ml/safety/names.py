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

# The locales whose name lists make up the lexicon. The evaluation's held-out and fresh names
# come from other locales (held out: en_IE, en_NZ, de_AT, de_CH, fr_CH, pt_BR, es_MX, nl_BE;
# fresh: see benchmarks/data/safety/SOURCE.md), so it measures names the lexicon lacks.
LEXICON_LOCALES = (
    "en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "pt_PT", "it_IT", "nl_NL", "fi_FI",
    "da_DK", "sv_SE", "no_NO", "pl_PL", "zh_CN", "cs_CZ", "hu_HU", "ro_RO", "hr_HR", "tr_TR",
    "id_ID",
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
    places = {c.casefold() for c in UsAddress.countries} | _CITIES | _LANGUAGES_AND_REGIONS
    places |= {state.casefold() for state in UsAddress.states}
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
# Languages, nationalities and regions: "translate to french", "Russian rubles", "to Europe".
_LANGUAGES_AND_REGIONS = {
    "english", "french", "german", "spanish", "italian", "portuguese", "russian", "chinese",
    "japanese", "korean", "arabic", "hindi", "dutch", "swedish", "polish", "turkish", "greek",
    "danish", "finnish", "norwegian", "irish", "scottish", "welsh", "british", "american",
    "canadian", "australian", "mexican", "brazilian", "indian", "european", "african", "asian",
    "latin", "hebrew", "thai", "vietnamese", "indonesian", "swahili", "mandarin", "cantonese",
    "europe", "asia", "africa", "america", "americas", "oceania", "antarctica", "scandinavia",
    "uk", "usa", "us", "eu", "uae", "nyc", "la", "sf", "dc", "orlando", "vegas", "las",
    "angeles", "francisco", "diego", "valencia", "detroit", "hawaii", "florida", "texas",
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
_TITLES = (
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sr|Sra|Srta|Herr|Frau|M|Mme|Mlle|Sir|Dame|Lady|Lord|"
    r"Rev|Revd|Fr|Pastor|Rabbi|Imam|Sheikh|Capt|Cpt|Captain|Col|Colonel|Lt|Lieut|Sgt|Sergeant|Maj|"
    r"Major|Gen|General|Cmdr|Adm|Cpl|Pte|Insp|Inspector|Det|Detective|Officer|Judge|Hon|Eng|Ing|"
    r"Mag|Mgr)"
)
_TITLE = re.compile(
    rf"(?<![\w]){_TITLES}\.?\s+({NAME_TOKEN}(?:\s{NAME_TOKEN})?|[{UPPER}]\.\s?{NAME_TOKEN})"
)
# Cues before a name. "explicit" cues say a name follows ("my name is", "name:", "regards,"):
# after them a name may be written in any case. "relational" cues often precede one ("my wife",
# "spoke to", "placed by"): after them only capitalised or known names count. "loose" cues ("for",
# "add", "under") take only two or more capitalised words, or a full name from the lexicon.
_EXPLICIT_CUE = re.compile(
    r"(?i:\b(?:my\s+name\s+is|my\s+name's|(?:full\s+|customer\s+|account\s+|first\s+|last\s+)?"
    r"names?\s*(?:is|are|[:：-])|name\s+on\s+the\s+(?:card|account|order|booking)(?:\s+is)?\s*:?|"
    r"in\s+the\s+name\s+of|under\s+the\s+name(?:\s+of)?|call\s+me|signed(?:\s+by)?\s*[:,]?|"
    r"(?:kind\s+|best\s+|warm\s+|warmest\s+|many\s+)?regards\s*,?|sincerely\s*,?|cheers\s*,|"
    r"thanks\s*,|(?:best|warm|kind|all\s+good|good)\s+wishes\s*,|many\s+thanks\s*,|"
    r"thanks\s+(?:again|a\s+lot|so\s+much)\s*,|yours(?:\s+(?:truly|faithfully|sincerely))?\s*,|"
    r"all\s+the\s+best\s*,|take\s+care\s*,|respectfully\s*,|cordially\s*,|with\s+thanks\s*,|"
    r"(?:from|sender|sent\s+by|to|cc|bcc|reply-to|author)\s*:|"
    r"thank\s+you\s*,|best\s*,|account\s+holders?(?:\s+is|\s+are)?\s*[:-]?|"
    r"card\s?holder(?:\s+is)?\s*[:-]?|holder\s*[:-]|recipient(?:\s+is)?\s*[:-]?|"
    r"customer\s*[:-]|client\s*[:-]|contact(?:\s+person)?\s*[:-]|attn\s*[:.]?|attention\s*:|"
    r"c/o|care\s+of|dear|addressed\s+to|on\s+behalf\s+of|this\s+is|i\s+am|i'm|im|it's|"
    r"it\s+is|its|"
    # the same in the other languages served
    r"mijn\s+naam\s+is|ik\s+ben|mein\s+name\s+ist|ich\s+hei(?:ß|ss)e|ich\s+bin|"
    r"je\s+m'appelle|je\s+suis|mon\s+nom\s+est|me\s+llamo|mi\s+nombre\s+es|soy|"
    r"chamo-me|o\s+meu\s+nome\s+é|meu\s+nome\s+é|sou\s+o|sou\s+a|mi\s+chiamo|"
    r"il\s+mio\s+nome\s+è|sono|nimeni\s+on|olen|mit\s+navn\s+er|jeg\s+hedder|jeg\s+er)"
    r"(?=[\s,:])[\s,:-]*)"
)
_RELATIONAL_CUE = re.compile(
    r"(?i:\b(?:my\s+(?:husband|wife|partner|son|daughter|mother|father|mum|mom|dad|brother|"
    r"sister|friend|colleague|boss|manager|neighbou?r|fianc[ée]e?|grandmother|grandfather|"
    r"assistant|tenant|landlord|cousin|uncle|aunt|nephew|niece|grandson|granddaughter|flatmate|"
    r"roommate|housemate|carer|caregiver|lawyer|solicitor|accountant|employer)|(?:spoke|talked|spoken|chatted)\s+(?:to|with)|agent|"
    r"representative|(?:placed|ordered|booked|made|paid|sent|signed|received|collected|"
    r"requested|opened)\s+by|belongs\s+to|booked\s+under|(?:is|was)\s+under|who\s+is|"
    r"ask\s+for|forward(?:ed)?\s+to|transfer(?:red)?(?:\s+ownership)?\s+to|hi|hello|hey|"
    r"tell|told|let|ask|asked|remind|inform|notify|thank|email|e-mail|cc|copy\s+in|"
    r"(?:speak|talk|reach|get\s+hold\s+of)\s*(?:to|with)?|(?:give|hand|pass)\s+(?:it|this|them)\s+to|"
    r"authori[sz]e|authori[sz]ed)\s+)"
)
_LOOSE_CUE = re.compile(r"(?i:\b(?:for|add|under|by|than|as|let)\s+)")
# Words that make a capitalised run a place or an organisation ("Levi Stadium", "Royal Mail").
_INSTITUTION_WORDS = frozenset(
    {"stadium", "airport", "bridge", "station", "mall", "store", "stores", "shop", "market",
     "hotel", "resort", "bank", "university", "college", "school", "hospital", "clinic", "center",
     "centre", "express", "mail", "post", "airlines", "airways", "air", "rail", "inc", "ltd",
     "llc", "gmbh", "group", "company", "corp", "corporation", "foundation", "club", "restaurant",
     "cafe", "bar", "grill", "kitchen", "pharmacy", "outlet", "plaza", "tower", "beach", "island",
     "islands", "lake", "river", "mountain", "valley", "city", "county", "republic", "kingdom",
     "states", "residents", "transfers", "payments", "prime", "plus", "pro", "music",
     "video", "tv", "online", "digital", "wallet", "card", "cards", "points", "rewards"}
)  # fmt: skip
# Prepositions that precede a name as often as anything else: after them only two capitalised
# words, written in one case, none a common word, place or organisation word, count ("Send the
# invoice to Simphiwe Mlotshwa", not "to Levi Stadium" or "SWIFT Transfers"). Not after "is",
# "can" ...: "Is Samsung Galaxy in stock?" names a product far more often than a person.
# Brands customers name in support chats: a capitalised run that holds one is a product or a
# company ("switched from Adobe Photoshop"), whatever rule proposed it.
_BRANDS = frozenset(
    {"samsung", "apple", "iphone", "ipad", "macbook", "adobe", "photoshop", "microsoft", "windows",
     "xbox", "google", "pixel", "android", "sony", "playstation", "nintendo", "nike", "adidas",
     "puma", "reebok", "lego", "ikea", "amazon", "kindle", "alexa", "netflix", "spotify", "disney",
     "hulu", "youtube", "facebook", "instagram", "whatsapp", "tiktok", "twitter", "linkedin",
     "zoom", "slack", "dropbox", "paypal", "venmo", "revolut", "klarna", "stripe", "visa",
     "mastercard", "amex", "maestro", "fedex", "ups", "dhl", "usps", "dpd",
     "gls", "tesla", "toyota", "honda", "bmw", "audi", "volkswagen", "mercedes", "nissan",
     "hyundai", "kia", "dell", "lenovo", "asus", "acer", "hp", "huawei", "xiaomi", "oneplus",
     "motorola", "nokia", "canon", "nikon", "garmin", "fitbit", "bose", "sonos", "dyson", "philips",
     "bosch", "siemens", "miele", "whirlpool", "lg", "panasonic", "toshiba", "intel", "nvidia",
     "amd", "oracle", "salesforce", "shopify", "ebay", "etsy", "walmart", "costco",
     "tesco", "sainsbury", "asda", "aldi", "lidl", "zara", "uniqlo", "gucci", "prada", "rolex",
     "starbucks", "mcdonald", "uber", "lyft", "airbnb", "expedia", "ryanair", "easyjet",
     "lufthansa", "emirates", "vodafone", "verizon", "comcast", "norton", "mcafee", "office",
     "outlook", "gmail", "hotmail", "yahoo", "chrome", "firefox", "safari", "teams", "galaxy",
     "airpods"}
)  # fmt: skip
_CAPITALISED_CUE = re.compile(r"(?i:\b(?:to|from|meet|met)\s+)")
# After a name: "Anna Smith here", "Anna Smith speaking".
_AFTER_CUE = re.compile(r"[ \t]*,?[ \t]+(?:here|speaking|writing)\b")
_LIST = re.compile(
    rf"(?<![\w]){ANY_CASE_TOKEN}(?:\s*,\s*{ANY_CASE_TOKEN})+"
    rf"(?:\s*,?\s+(?:and|&|or)\s+{ANY_CASE_TOKEN})?"
)
_LIST_CUE = re.compile(
    r"(?i:holders|names|surnames|guests|passengers|travell?ers|members|famil(?:y|ies)|"
    r"recipients|signatories|people|customers|owners|tenants|employees|staff|attendees|"
    r"participants|children|kids|drivers|users|contacts|witnesses|beneficiaries|authors)"
    r"(?:\s+(?:are|were|is|was|will\s+be|include|including|named|called))?\W{0,12}$"
)
# A token of a name: a word (any case, hyphens and apostrophes inside: "o'brien", "Jean-Luc",
# "KRIŠJĀNIS"), an initial ("J.", "M.M.", "E") or a particle ("van der", "de la", "al-").
_TOKEN = re.compile(
    rf"(?:[{UPPER}]\.(?:[ ]?[{UPPER}]\.)*|[{UPPER}](?=[ ][{UPPER}])|"
    rf"(?:[OoDdNn]['’])?[{UPPER}{LOWER}][{UPPER}{LOWER}]*(?:[-'’][{UPPER}{LOWER}]+)*)"
)
_PARTICLES = frozenset(
    {"van", "der", "den", "de", "la", "le", "da", "das", "do", "dos", "del", "della", "di", "von",
     "zu", "du", "des", "al", "el", "bin", "ibn", "ter", "ten", "st"}
)  # fmt: skip
_INITIAL = re.compile(rf"[{UPPER}]\.(?:[ ]?[{UPPER}]\.)*|[{UPPER}]")
# A particle joined to a capitalised name: "al-Perez", "el-Amin", "d'Angelo", "bin-Laden".
_JOINED_PARTICLE = re.compile(
    rf"(?:al|el|ul|bin|ibn|abu|ben|da|de|di|du|d|o)[-'’][{UPPER}][{LOWER}]+"
)


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    score: float


_WORD_ENDING = re.compile(r"(?:ing|ed|ly|ment|tion|sion|ness|ive|ous|ful|able|ible|ise|ize)$")
_CONTRACTION = re.compile(r"(?i)['’](?:m|ve|d|ll|re|s|t)$|n['’]t$")


def _token_kind(word: str, lex: Lexicon) -> str:
    """'name' (known or capitalised like one), 'lower' (an unknown lower-case word), 'initial',
    'particle', 'caps' (all capitals) or 'stop' (ends a name)."""
    key = word.casefold()
    if _CONTRACTION.search(word):
        return "stop"
    if _INITIAL.fullmatch(word):
        return "initial"
    if key in _PARTICLES and word.islower():
        return "particle"
    if key in lex.places or (key in lex.stop and not lex.is_name(word)):
        return "stop"
    if key in lex.common and not lex.is_name(word):
        # A common word that is also a surname ("White", "Cook") only in capitals, after a name.
        return "common_name" if key in lex.last_any or key in lex.first_any else "stop"
    if word.isupper() and len(word) > 1:
        return "caps"
    if word[0].isupper() or _JOINED_PARTICLE.fullmatch(word):
        return "name"
    if lex.is_name(word):
        return "known_lower"
    # An unknown lower-case word with the ending of a verb, adverb or abstract noun
    # ("appearing", "charged", "internationally", "payment") is no name.
    return "stop" if _WORD_ENDING.search(key) else "lower"


def _name_after(text: str, position: int, lex: Lexicon, tier: str) -> Found | None:
    """The name that starts at ``position`` after a cue of ``tier``, if any."""
    chosen: list[tuple[re.Match[str], str]] = []
    while len(chosen) < 4:
        token = _TOKEN.match(text, position)
        if token is None:
            break
        kind = _token_kind(token.group(), lex)
        if kind == "stop":
            break
        # A common word that is a name too ("White") only after a name, or first after "name:".
        after_name = bool(chosen) and chosen[-1][1] in {"name", "caps", "initial"}
        if kind == "common_name" and not after_name and (tier != "explicit" or chosen):
            break
        # Lower case after a cue that is not explicit: a known first name, then any surname.
        if (
            kind == "lower"
            and tier != "explicit"
            and not (chosen and chosen[-1][1] == "known_lower" and len(chosen) == 1)
        ):
            break
        chosen.append((token, kind))
        gap = re.match(r"[ ]", text[token.end() :])
        if gap is None:
            break
        position = token.end() + 1
    while chosen and chosen[-1][1] in {"particle", "initial"}:
        chosen.pop()
    if not chosen:
        return None
    kinds = [kind for _, kind in chosen]
    words = [token.group() for token, _ in chosen]
    # A name is written in one case: all capitalised, all capitals or all lower case.
    cases = {
        "lower" if w.islower() else "caps" if w.isupper() else "title"
        for w, k in zip(words, kinds, strict=True)
        if k not in {"particle", "initial"}
    }
    if "lower" in cases and len(cases) > 1:
        return None
    known = sum(lex.is_name(w) for w in words)
    real = [k for k in kinds if k not in {"particle", "initial"}]
    if tier == "explicit":
        if ("lower" in kinds or "caps" in kinds) and len(real) == 1 and not known:
            # one unknown lower-case or capital word ("this is urgent", "I AM MISSING").
            return None
    elif tier == "capitalised":
        end = chosen[-1][0].end()
        after = _TOKEN.match(text, end + 1) if text[end : end + 1] == " " else None
        if (
            len(real) != len(words)
            or not 2 <= len(real) <= 3
            or len({w.isupper() for w in words}) > 1
            or not all(k in {"name", "caps"} for k in kinds)
            or (len(real) == 3 and not known)
            or (after is not None and after.group()[0].isupper())
            or _place_or_institution(words, lex)
        ):
            return None
    elif (tier == "loose" and len(real) < 2 and not (known and len(words) >= 2)) or (
        tier == "relational"
        and not known
        and len(real) < 2
        and "initial" not in kinds
        and not (len(real) == 1 and kinds[0] == "name" and len(words[0]) > 2)
    ):
        return None
    if all(k == "lower" for k in real) and len(real) == 1 and tier != "explicit":
        return None
    first, last = chosen[0][0], chosen[-1][0]
    score = {"explicit": 0.8, "relational": 0.75, "loose": 0.7, "capitalised": 0.7}[tier]
    return Found(first.start(), last.end(), score)


_INTRODUCTION = re.compile(r"(?i:this\s+is|i\s+am|i'm|im|it's|it\s+is|its)")


def _cued_names(text: str, lex: Lexicon) -> Iterator[Found]:
    for cue, tier in (
        (_EXPLICIT_CUE, "explicit"),
        (_RELATIONAL_CUE, "relational"),
        (_LOOSE_CUE, "loose"),
        (_CAPITALISED_CUE, "capitalised"),
    ):
        for match in cue.finditer(text):
            found = _name_after(text, match.end(), lex, tier)
            if found is None:
                continue
            if tier == "explicit" and _INTRODUCTION.fullmatch(match.group().strip(" ,:-")):
                # "this is" / "I'm" / "it's" introduce a name less surely than "my name is": a
                # lower-case name there must hold a known name and, after "it's", two words
                # ("it's anna kowalski", not "it's bent"); or be two words that end the clause.
                value = text[found.start : found.end]
                words = value.split()
                known = [w for w in words if lex.is_name(w)]
                # "yes its rabee eshan here": two or three words closed by "here" / "speaking".
                closed = _AFTER_CUE.match(text, found.end) is not None and 2 <= len(words) <= 3
                if value.islower() and not closed:
                    it = match.group().strip(" ,:-").casefold().startswith("it")
                    after = text[found.end : found.end + 1]
                    if it and (len(words) < 2 or not known):
                        continue
                    if not known and (len(words) != 2 or (after and after not in ",.!?\n")):
                        continue
            yield found


def _names_before_cue(text: str, lex: Lexicon) -> Iterator[Found]:
    """ "Anna Smith here, ...": two or three capitalised words before "here" / "speaking"."""
    for match in _AFTER_CUE.finditer(text):
        words = list(
            re.finditer(rf"{NAME_TOKEN}", text[max(0, match.start() - 60) : match.start()])
        )
        offset = max(0, match.start() - 60)
        run: list[re.Match[str]] = []
        for word in reversed(words):
            if run and offset + word.end() + 1 != offset + run[-1].start():
                break
            if _token_kind(word.group(), lex) not in {"name", "caps"}:
                break
            run.append(word)
        if run and offset + run[0].end() == match.start() and 2 <= len(run) <= 3:
            yield Found(offset + run[-1].start(), offset + run[0].end(), 0.75)


def _name_lines(text: str, lex: Lexicon) -> Iterator[Found]:
    """A line of a message with several lines that holds only a name (a signature, the first
    line of an address block)."""
    if "\n" not in text:
        return
    for match in re.finditer(r"(?m)^[ \t]*(.+?)[ \t]*$", text):
        line = match.group(1)
        words = line.split(" ")
        if not 2 <= len(words) <= 4 or not all(_TOKEN.fullmatch(w) for w in words):
            continue
        kinds = [_token_kind(w, lex) for w in words]
        if line.islower() and len(words) == 2:
            # "keith rogers": a known first name and a known surname
            if words[0] in lex.first and words[1] in lex.last:
                yield Found(match.start(1), match.end(1), 0.7)
            continue
        if (
            all(k in {"name", "caps", "particle", "initial"} for k in kinds)
            and sum(k in {"name", "caps"} for k in kinds) >= 2
        ):
            yield Found(match.start(1), match.end(1), 0.7)


def _full_names(text: str, lex: Lexicon) -> Iterator[Found]:
    """Two or three capitalised words: a first and a last name from the lexicon anywhere, or one
    known name and no common word when the run does not open a sentence ("Can Janet Lyons")."""
    for match in _NAME_RUN.finditer(text):
        words = match.group().split()
        if words[0].casefold() in lex.first and words[-1].casefold() in lex.last:
            yield Found(match.start(), match.end(), 0.7)
            continue
        start = match.start()
        while len(words) > 2 and words[0].casefold() in lex.common:
            start += len(words.pop(0)) + 1
        keys = [w.casefold() for w in words]
        if _place_or_institution(words, lex):
            continue
        if (
            any(lex.is_name(w) for w in words)
            and not any(k in lex.common or k in lex.places for k in keys)
            and not _sentence_start(text, start)
        ):
            yield Found(start, match.end(), 0.65)


_FAMILY = re.compile(rf"(?<![\w])the\s+({NAME_TOKEN})\s+famil(?:y|ies)\b", re.IGNORECASE)


def _families(text: str, lex: Lexicon) -> Iterator[Found]:
    """ "the Okafor family"."""
    for match in _FAMILY.finditer(text):
        word = match.group(1)
        if word[0].isupper() and word.casefold() not in lex.common | lex.places:
            yield Found(match.start(1), match.end(1), 0.75)


def _surname_lists(text: str, lex: Lexicon) -> Iterator[Found]:
    """ "Smith, Jones and Taylor": three or more capitalised surnames from the lexicon, or after a
    word that says people are listed ("guests:", "the passengers are") words that are no common
    word or place, at least two of them capitalised (a surname may be written in lower case in
    such a list: "Bukovec, Muñoz, ribič")."""
    for match in _LIST.finditer(text):
        items = [
            t
            for t in re.finditer(ANY_CASE_TOKEN, match.group())
            if t.group().casefold() not in {"and", "or"}
        ]
        words = [t.group().casefold() for t in items]
        cued = _LIST_CUE.search(text[: match.start()]) is not None
        # A place is no person, unless the list is one of people and it is a surname ("Jackson").
        if any(w in lex.places and not (cued and w in lex.last_any) for w in words) or all(
            w in lex.common for w in words
        ):
            continue
        capitalised = [bool(re.fullmatch(NAME_TOKEN, t.group())) for t in items]
        if cued:
            if sum(capitalised) < 2 or any(
                (w in lex.common and w not in lex.last_any)
                or (not cap and (w in lex.stop or _WORD_ENDING.search(w)))
                for w, cap in zip(words, capitalised, strict=True)
            ):
                continue
        elif len(items) < 3 or not all(capitalised) or any(w not in lex.last_any for w in words):
            continue
        for item in items:
            yield Found(match.start() + item.start(), match.start() + item.end(), 0.7)


def latin_names(text: str) -> list[Found]:
    lex = lexicon()
    found = list(_cued_names(text, lex))
    found += _names_before_cue(text, lex)
    found += _name_lines(text, lex)
    found += [Found(m.start(), m.end(), 0.85) for m in _TITLE.finditer(text)]
    found += _full_names(text, lex)
    found += _families(text, lex)
    found += _surname_lists(text, lex)
    return found


def _place_or_institution(words: list[str], lex: Lexicon) -> bool:
    """ "Costa Rica", "Levi Stadium", "Royal Mail", "Samsung Galaxy": a place as a whole, or a run
    with a word that names a kind of place or organisation, or a well-known brand."""
    return " ".join(words).casefold() in lex.places or any(
        w.casefold() in _INSTITUTION_WORDS or w.casefold() in _BRANDS for w in words
    )


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(")
    return not before or before[-1] in ".!?\n:;"


def ner_span_kept(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The part of a spaCy PERSON span that is a name, or None. Common words at its edges are
    trimmed ("Can Janet Lyons" -> "Janet Lyons"); a title stays ("Mrs Valette")."""
    value = text[start:end]
    stripped = value.strip(" \t\n'\"’‘“”.,;:!?()-")
    start += value.find(stripped) if stripped else 0
    end = start + len(stripped)
    if not stripped or CJK_RE.search(stripped) or re.search(r"[\d{}\[\]_@#/<>]", stripped):
        return None
    lex = lexicon()
    tokens = list(re.finditer(r"\S+", stripped))

    def edge_word(token: re.Match[str]) -> bool:
        key = token.group().casefold().rstrip(".,")
        return (key in lex.common or key in lex.places) and not lex.is_name(token.group())

    while tokens and edge_word(tokens[0]) and not re.fullmatch(_TITLES + r"\.?", tokens[0].group()):
        tokens.pop(0)
    while tokens and edge_word(tokens[-1]):
        tokens.pop()
    if not tokens:
        return None
    start, end = start + tokens[0].start(), start + tokens[-1].end()
    words = [t.group() for t in tokens if not re.fullmatch(_TITLES + r"\.?", t.group())]
    if not words:
        return None
    # "Cancel Order", "Dear Customer"; a common word may still be a known name's part, a place
    # never ("Valencia").
    if any(w.casefold() in lex.places for w in words) or _place_or_institution(words, lex):
        return None
    if any(w.casefold() in lex.common for w in words) and not all(
        lex.is_name(w) or w.casefold() in _PARTICLES for w in words
    ):
        return None
    known = any(lex.is_name(w) for w in words)
    capitalised = all(re.fullmatch(NAME_TOKEN, w) or w in _PARTICLES for w in words)
    # The model's guesses in lower case or capitals ("max", "AUD", "SWIFT") are mostly words;
    # names written that way are found by the cue grammar.
    if not capitalised or any(_CONTRACTION.search(w) for w in words):
        return None
    if len(words) == 1 and len(tokens) == 1:
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
