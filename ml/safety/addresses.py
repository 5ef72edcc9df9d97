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
    rf"(?:St\.?[ ]|Port[ ]|Mount[ ]|Fort[ ])?[{UPPER}][{LOWER}]+(?:[{UPPER}][{LOWER}]+)?"
    rf"(?:[ -](?:[{UPPER}][{LOWER}]+|sur|am|an|im|de|del|la|le))*"
)
_NUMBER = r"\d{1,5}(?:\s?[A-Za-z](?![A-Za-z]))?(?:[/-]\d{1,5})?"

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


# USPS standard abbreviations (Publication 28, C1) that are not also an ordinary word, and the
# street types of the UK, Ireland, Australia, Canada and India with their abbreviations.
_USPS_ABBREVIATIONS = (
    "Aly", "Anx", "Arc", "Ave", "Av", "Byu", "Bch", "Bnd", "Blf", "Btm", "Blvd", "Br", "Brg",
    "Brk", "Byp", "Cyn", "Cpe", "Cswy", "Ctr", "Cir", "Clf", "Cmn", "Cor", "Crse", "Ct", "Cts",
    "Cv", "Crk", "Cres", "Crst", "Xing", "Xrd", "Curv", "Dl", "Dm", "Dv", "Dr", "Est", "Expy",
    "Fls", "Fry", "Fld", "Flt", "Frd", "Frst", "Frg", "Frk", "Ft", "Fwy", "Gdn", "Gdns", "Gtwy",
    "Gln", "Grn", "Grv", "Hbr", "Hvn", "Hts", "Hwy", "Hl", "Holw", "Inlt", "Jct", "Ky", "Knl",
    "Lk", "Lndg", "Ln", "Lgt", "Lf", "Lck", "Ldg", "Mnr", "Mdw", "Mdws", "Ml", "Msn", "Mtwy",
    "Mt", "Mtn", "Nck", "Orch", "Opas", "Pkwy", "Psge", "Pne", "Pl", "Pln", "Plz", "Pt", "Prt",
    "Pr", "Radl", "Rnch", "Rpd", "Rst", "Rdg", "Riv", "Rd", "Rte", "Shl", "Shr", "Skwy", "Spg",
    "Sq", "Sta", "Stra", "Strm", "St", "Smt", "Ter", "Trwy", "Trce", "Trak", "Trfy", "Trl",
    "Trlr", "Tunl", "Tpke", "Upas", "Vly", "Vw", "Vlg", "Vl", "Vis", "Wl",
)  # fmt: skip
_OTHER_STREET_TYPES = (
    "Street", "Road", "Avenue", "Lane", "Drive", "Way", "Close", "Crescent", "Terrace",
    "Gardens", "Grove", "Mews", "Row", "Walk", "Hill", "Place", "Square", "Court", "Boulevard",
    "Parade", "Green", "Rise", "View", "Vale", "Gate", "Wharf", "Yard", "Circus", "Broadway",
    "Chase", "End", "Fold", "Wynd", "Brae", "Croft", "Meadows", "Approach", "Embankment", "Quay",
    "Passage", "Esplanade", "Promenade", "Laneway", "Circuit", "Highway", "Track", "Loop",
    "Parkway", "Pde", "Tce", "Cct", "Cl", "Esp", "Bvd", "Hwy", "Gr", "Cres", "Pkwy", "Marg",
    "Nagar", "Colony", "Chowk", "Path", "Bagh", "Enclave", "Layout", "Main Road", "Cross Road",
    "Sector", "Drove", "Lea", "Dale", "Wood", "Side", "Mount", "Heights", "Park", "Precinct",
)  # fmt: skip


@cache
def _english_suffixes() -> str:
    # The USPS street suffixes (as Faker lists them), their abbreviations, and the others.
    from faker.providers.address.en_US import Provider as UsAddress

    suffixes = set(UsAddress.street_suffixes) | set(_USPS_ABBREVIATIONS) | set(_OTHER_STREET_TYPES)
    return _alternatives(tuple(suffixes))


@cache
def _cores() -> tuple[re.Pattern[str], ...]:
    return (
        # 12 High Street, 1600 Pennsylvania Avenue, 350 Fifth Ave., 5/266 Forest Hwy,
        # 1203-1680 Russell Pkwy, H.No. 57, Station Marg, 47/6, Bakshi Nagar
        re.compile(
            rf"(?<![\w.,/-])(?:H\.?\s?No\.?\s?)?{_NUMBER},?\s+(?:{_WORD}\s+){{1,4}}"
            rf"(?:{_english_suffixes()})\.?(?![\w])"
        ),
        # PO Box 123, P.O. Box 9, GPO Box 7831, Post Office Box 12
        re.compile(r"(?<![\w])(?:P\.?[ ]?O\.?|GPO|Post\s+Office|(?i:po))[ ]?Box\s+\d{1,6}(?![\w])"),
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


_UNIT = (
    r"(?i:flat|apt\.?|apartment|unit|suite|ste\.?|studio|room|floor|level|lvl\.?|building|"
    r"bldg\.?|block|shop|office|house\s+no\.?|no\.)"
)
# A building's name before the street: "Kingsway House, ", "The Old Mill, ".
_BUILDING = (
    rf"(?:The[ \t]+)?(?:[{UPPER}][{LOWER}]+[ \t]+){{0,3}}(?:House|Court|Lodge|Mansions|Towers?|"
    r"Point|Building|Cottage|Mill|View|Apartments|Hall|Centre|Center|Block|Estate|Farm|Chambers|"
    r"Plaza|Residency|Heights|Complex|Villa|Manor|Barn|Studios|Wharf|Gardens)"
)
# "Flat 3,\n", "Level 15, ", "Apartment 69, Orchard Lodge, " before the street, or "Flat "
# before its number ("Flat 40 Mohamed Walk").
_BEFORE = re.compile(
    rf"(?:(?:{_UNIT}[ \t]*#?[ \t]*[A-Za-z0-9-]{{1,5}}|{_BUILDING})[ \t]*,?[ \t]*\n?[ \t]*){{1,3}}$"
    rf"|{_UNIT}[ \t]+$"
)
_NEXT = r"(?:[ \t]*,[ \t]*|[ \t]*\n[ \t]*)"  # the next part of an address: after a comma or line
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
    # Co. Cork (Ireland), before the town tail would take "Co"
    re.compile(rf"{_NEXT}Co\.?[ \t]+[{UPPER}][{LOWER}]+(?![\w])"),
    re.compile(rf"{_NEXT}({_CITY})(?:[ \t]\d{{1,2}}(?=[ \t]*[,\n]))?(?![\w])"),
    # Eircode: D02 X285, T12 AB34
    re.compile(
        r"(?:[ \t]*,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t]?"
        r"[0-9AC-FHKNPRTV-Y]{4}(?![\w])"
    ),
    # Canada: ON M5V 2T6
    re.compile(r"[ \t]*,?[ \t]*(?:[A-Z]{2}[ \t]+)?[A-Z]\d[A-Z][ \t]?\d[A-Z]\d(?![\w])"),
    # Australia: NSW 2000, VIC, 3000
    re.compile(r"[ \t]*,?[ \t]+(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT|JBT)[ \t]*,?[ \t]+\d{4}(?!\d)"),
    # India: Tamil Nadu 600564, Maharashtra 400 001, Bhagalpur-706690
    re.compile(
        rf"(?:{_NEXT}[{UPPER}][{LOWER}]+(?:[ \t][{UPPER}][{LOWER}]+)?[ \t]+"
        r"|[ \t]*[-–][ \t]*|[ \t]+)\d{3}[ \t]?\d{3}(?!\d)"
    ),
    re.compile(r"[ \t]*,?[ \t]*(?:\d{5}(?:-\d{3,4})?)(?!\d)"),
    re.compile(r"(?:[ \t]*,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)\d{4}[ \t]?[A-Z]{2}(?![\w])"),  # 9002 DC
    re.compile(r"[ \t]*(?:\([A-Z]{2}\)|/[ \t]*[A-Z]{2}(?![\w]))"),  # (KR), / AC: the province
)
_CITY_TAILS = (_TAILS[4], _TAILS[6])


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
