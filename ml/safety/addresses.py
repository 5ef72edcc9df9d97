"""Street addresses in Latin script: a street (English, and the European formats where the type
is a word before the name, "Rua das Flores 212", "42 rue de Rivoli", or the end of a compound,
"Mannerheimintie 14", "Søndergade 7", "Hauptstraße 5"), grown over the parts around it: a flat or
unit before it ("Flat 3,"), a direction, unit, city, state, ZIP or postcode after it, on the same
line or the next ("NW, Washington, DC 20500", "\\nLondon NW1 4NP", ", 75004 Paris").

Chinese addresses stay in ``ml.safety.pii`` (they need no growing: one pattern spans them).
"""

import re
from collections.abc import Iterator
from functools import cache

from ml.safety.names import LOWER, UPPER, Found, lexicon

_WORD = rf"[{UPPER}][{LOWER}{UPPER}'’.-]*"  # a capitalised word ("Pennsylvania", "O'Neil")
_CITY = (
    rf"[{UPPER}][{LOWER}]+(?:[{UPPER}][{LOWER}]+)?"
    rf"(?:[ -](?:[{UPPER}][{LOWER}]+|sur|am|an|im|de|del|la|le))*"
)
_NUMBER = r"\d{1,5}(?:\s?[A-Za-z](?![A-Za-z]))?(?:[/-]\d{1,4})?"

# Street types written before the street's name (Portuguese, Spanish, Italian, French, Polish...).
_PREFIXES = (
    "Rua", "R.", "Avenida", "Av.", "Avda.", "Travessa", "Tv.", "Praça", "Pç.", "Largo", "Alameda",
    "Estrada", "Rodovia", "Beco", "Calle", "C/", "Paseo", "Plaza", "Camino", "Carrer", "Carretera",
    "Ronda", "Via", "Viale", "Piazza", "Piazzale", "Corso", "Vicolo", "Contrada", "Rue", "Avenue",
    "Boulevard", "Bd", "Bd.", "Bld", "Place", "Allée", "Chemin", "Impasse", "Quai", "Route",
    "Cours", "Passage", "Square", "Ul.", "Ulica", "Aleja", "Al.", "Plac", "Osiedle", "Calea",
    "Strada", "Bulevardul", "Str.", "Leoforos", "Odos", "Av", "Urbanización", "Vial", "Rambla",
    "Pasadizo", "Cañada", "C.", "Callejón", "Glorieta", "Travesía", "Incrocio", "Rotonda",
    "Stretto", "Borgo", "Campo", "Parque", "Jardim", "Vila", "Quinta", "Circuito", "Cerrada",
    "Calzada", "Privada", "Prolongación", "Retorno", "Andador", "Callejon", "Boulevard",
)  # fmt: skip
# Street types at the end of a compound (German, Dutch, Danish, Swedish, Norwegian, Finnish).
_SUFFIXES = (
    "straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "ring", "damm", "ufer",
    "chaussee", "steig", "pfad", "markt", "graben", "berg", "straat", "laan", "plein", "gracht",
    "kade", "dreef", "singel", "dijk", "gade", "vej", "vænge", "stræde", "torv", "allé", "plads",
    "gatan", "vägen", "gränd", "torget", "stigen", "gata", "gaten", "veien", "vegen", "tie",
    "katu", "kuja", "polku", "väylä", "tori", "kaari", "rinne", "puisto", "ranta", "raitti",
    "boulevard", "bulevardi", "pad", "hof", "park", "plantsoen", "kanaal", "haven", "vænget",
)  # fmt: skip
# The same types as separate words ("Berliner Straße 12", "Am Weg 3").
_SEPARATE = (
    "Straße", "Strasse", "Str.", "Weg", "Allee", "Platz", "Gasse", "Ring", "Damm", "tie", "katu",
    "bulevardi", "kuja", "Vej", "vej", "Gade", "gade", "Allé", "allé", "Plads", "plads", "Torv",
)  # fmt: skip
_PARTICLE = (
    r"(?:de|da|das|do|dos|del|della|delle|dei|di|du|des|la|las|los|le|les|l'|d'|el|y|e|i|dell'"
    r"|van|der|den|von|zu)"
)


_HOUSE = rf"(?:{_NUMBER}|S/N|s/n|sn)"
_STREET_NAME = rf"(?:(?:{_PARTICLE})\s+|{_WORD}\s+){{0,4}}{_WORD}"


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _english_suffixes() -> str:
    # The USPS street suffixes (as Faker lists them) plus British ones.
    from faker.providers.address.en_US import Provider as UsAddress

    suffixes = set(UsAddress.street_suffixes) | {
        "Street", "St", "Road", "Rd", "Avenue", "Ave", "Lane", "Ln", "Drive", "Dr", "Way",
        "Close", "Crescent", "Terrace", "Gardens", "Grove", "Mews", "Row", "Walk", "Hill",
        "Place", "Pl", "Square", "Sq", "Court", "Ct", "Boulevard", "Blvd", "Parade", "Green",
        "Rise", "View", "Vale", "Gate", "Wharf", "Yard", "Circus", "Broadway",
    }  # fmt: skip
    return _alternatives(tuple(suffixes))


@cache
def _cores() -> tuple[re.Pattern[str], ...]:
    return (
        # 12 High Street, 1600 Pennsylvania Avenue, 350 Fifth Ave.
        re.compile(
            rf"(?<![\w.,]){_NUMBER},?\s+(?:{_WORD}\s+){{1,4}}(?:{_english_suffixes()})\.?(?![\w])"
        ),
        # Rua das Flores 212, Calle Mayor, 5, Via Roma 10, ul. Długa 5
        re.compile(
            rf"(?<![\w])(?:{_alternatives(_PREFIXES)})\s+{_STREET_NAME}"
            rf",?\s+(?:n\.?\s?[º°o]\.?\s*)?{_HOUSE}(?![\w])"
        ),
        # 42 rue de Rivoli, 12, Avenida da Liberdade (the type in any case after a number)
        re.compile(
            rf"(?<![\w]){_NUMBER},?\s+(?i:{_alternatives(_PREFIXES)})\s+{_STREET_NAME}(?![\w])"
        ),
        # Mannerheimintie 14, Søndergade 7, Hauptstraße 5, Kerkstraat 12a, Anna-Seghers-Weg 3
        re.compile(
            rf"(?<![\w])(?:[{UPPER}][{LOWER}]*-)*(?:[{UPPER}][{LOWER}-]*)?"
            rf"(?i:{_alternatives(_SUFFIXES)})(?![{LOWER}])\s*,?\s*{_NUMBER}"
            rf"(?:\s+[A-Z]\s?\d{{1,3}})?(?![\w])"
        ),
        # avenue Gay\n60186 Launay (no number, but a postcode and town follow)
        re.compile(
            rf"(?<![\w])(?i:{_alternatives(_PREFIXES)})\s+{_STREET_NAME}"
            rf"(?=[ \t]*[,\n][ \t]*\d{{4,5}}[ \t]+[{UPPER}])"
        ),
        # Berliner Straße 12
        re.compile(
            rf"(?<![\w])(?:{_WORD}\s+){{1,3}}(?:{_alternatives(_SEPARATE)})\s*{_NUMBER}(?![\w])"
        ),
    )


_UNIT = r"(?i:flat|apt\.?|apartment|unit|suite|studio|room|floor|building|bldg\.?)"
# "Flat 3,\n" before the street, or "Flat " before its number ("Flat 40 Mohamed Walk").
_BEFORE = re.compile(rf"(?:{_UNIT}\s*#?\s*[A-Za-z0-9-]{{1,5}}\s*,?[ \t]*\n?[ \t]*|{_UNIT}[ \t]+)$")
_TAILS = (
    re.compile(r"[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\.?(?![\w])"),
    re.compile(
        r"\s*,?[ \t]*(?:(?i:apt|apartment|suite|ste|unit|flat|room|floor|fl|bldg|piso|puerta|"
        r"piano|appartamento|interior|int|andar|apto|bloco|escalera|esc|scala|porta|etage|"
        r"étage|stock|top|lgh)\.?|#)"
        r"[ \t]*#?[ \t]*[A-Za-z0-9-]{1,6}(?![\w])"
    ),
    re.compile(r"[ \t]*(?:,[ \t]*|\n[ \t]*)?[A-Z]{2}\.?[ \t]+\d{5}(?:-\d{4})?(?!\d)"),
    re.compile(r"[ \t]*(?:,[ \t]*|\n[ \t]*)?[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}(?![A-Za-z])"),
    re.compile(
        rf"(?:[ \t]*,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:-\d{{3,4}})?"
        rf",?[ \t]+({_CITY})"
    ),
    re.compile(rf"(?:[ \t]*,[ \t]*|[ \t]*\n[ \t]*)({_CITY})(?![\w])"),
    re.compile(r"[ \t]*,?[ \t]*(?:\d{5}(?:-\d{3,4})?)(?!\d)"),
    re.compile(r"(?:[ \t]*,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)\d{4}[ \t]?[A-Z]{2}(?![\w])"),  # 9002 DC
    re.compile(r"[ \t]*(?:\([A-Z]{2}\)|/[ \t]*[A-Z]{2}(?![\w]))"),  # (KR), / AC: the province
)
_CITY_TAILS = (_TAILS[4], _TAILS[5])


_ABBREVIATION = re.compile(r"(?<![\w])(?i:st|rd|ave|dr|ln|blvd|str|av|sq|ct|pl|n|s|e|w)\.$")


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    before = _BEFORE.search(text[max(0, start - 40) : start])
    if before is not None:
        start -= len(before.group())
    common = lexicon().common
    grown = True
    while grown:
        grown = False
        for tail in _TAILS:
            match = tail.match(text, end)
            if match is None:
                continue
            if tail in _CITY_TAILS and all(w.casefold() in common for w in match.group(1).split()):
                continue
            end = match.end()
            grown = True
            break
    return start, end


def latin_addresses(text: str) -> Iterator[Found]:
    for core in _cores():
        for match in core.finditer(text):
            start, end = _grow(text, match.start(), match.end())
            if text[end - 1] == "." and not _ABBREVIATION.search(text, 0, end):
                end -= 1  # the sentence's full stop
            yield Found(start, end, 0.85)
