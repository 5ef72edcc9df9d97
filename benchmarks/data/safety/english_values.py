"""Composed English values for ``build_pii_wide``: street addresses in the formats of the US, the
UK, Canada, Australia, Ireland and India (one line or several, with flats, units, PO boxes and
building names), people's names in the ways customers write them (lower case, capitals, titles,
initials, hyphens, apostrophes, particles) and phone numbers of many countries in their national
and international formats, with extensions.

Each split has its own pools (``POOLS``): the ``fresh`` pools were written after the detector was
tuned, so nothing in them was seen while tuning. Phone numbers come from ``phonenumbers``'
numbering plans (a valid random number of a region), written the ways people write them.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from faker import Faker


@dataclass(frozen=True)
class Pools:
    """What one split's composed values are drawn from."""

    name_locales: tuple[str, ...]  # Faker locales for people's names
    address_countries: tuple[str, ...]  # keys of ADDRESS_COMPOSERS
    phone_regions: tuple[str, ...]  # phonenumbers regions
    buildings: tuple[str, ...]
    street_words: tuple[str, ...]  # street names that are no person's name
    titles: tuple[str, ...]


POOLS = {
    "tuning": Pools(
        name_locales=(
            "en_US", "en_GB", "en_IN", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_PT", "nl_NL",
            "pl_PL", "tr_TR", "lv_LV", "is_IS", "yo_NG", "es_CO", "en_KE", "id_ID",
        ),
        address_countries=("US", "GB", "CA", "AU", "IE", "IN"),
        phone_regions=(
            "US", "CA", "GB", "AU", "IN", "DE", "FR", "ES", "IT", "NL", "SG", "ZA", "PT", "DK",
            "FI", "PL", "HK", "AE",
        ),
        buildings=(
            "Kingsway House", "Riverside Court", "The Old Mill", "Rose Cottage", "Park View",
            "Harbour Point", "Maple Towers", "Unity Building", "Victoria Mansions", "Orchard Lodge",
        ),
        street_words=(
            "Oak", "Maple", "Station", "Church", "Mill", "Victoria", "Elm", "Park", "Lake",
            "Market", "Bridge", "Cedar", "Highfield", "Meadow", "Spring", "Chapel", "Windsor",
            "Pine", "Queens", "Riverside", "Hillcrest", "Sunset", "Forest", "King George",
            "Mahatma Gandhi", "Old Mill", "Grand", "North", "Harbour",
        ),
        titles=("Mr", "Mrs", "Ms", "Dr", "Miss", "Prof.", "Mr.", "Mrs.", "Ms.", "Dr.", "Mx"),
    ),
    # Written after the detector was tuned: name locales in neither the lexicon nor the tuning
    # pools, phone regions not in the tuning pools, South African and Singaporean addresses
    # (formats never tuned on) besides the six countries, other streets and buildings.
    "fresh": Pools(
        name_locales=(
            "sk_SK", "sl_SI", "lt_LT", "et_EE", "zu_ZA", "en_PK", "es_AR", "fr_CA", "tw_GH",
            "en_TH",
        ),
        address_countries=("US", "GB", "CA", "AU", "IE", "IN", "ZA", "SG"),
        phone_regions=(
            "SE", "NO", "CH", "AT", "BE", "MX", "BR", "JP", "KR", "PH", "MY", "NG", "KE", "IL",
            "AR",
        ),
        buildings=(
            "Lighthouse Court", "Beacon House", "The Granary", "Ivy Cottage", "Summit Towers",
            "Carlton Mansions", "Waterside Lodge", "Meridian Point", "Elm Tree Farm",
        ),
        street_words=(
            "Acacia", "Birch", "Canal", "Dock", "Falcon", "Garden", "Heron", "Juniper", "Kestrel",
            "Lavender", "Magnolia", "Nelson", "Orchid", "Poplar", "Quarry", "Regent", "Tower",
            "Willow", "Nehru", "Long", "Jacaranda", "Ang Mo Kio", "Bedok North",
        ),
        titles=("Mr", "Mrs.", "Ms", "Dr.", "Sir", "Rev.", "Mx.", "Miss", "Capt."),
    ),
}  # fmt: skip

US_STREET_TYPES = (
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln", "Drive",
    "Dr", "Court", "Ct", "Place", "Pl", "Terrace", "Ter", "Way", "Circle", "Cir", "Parkway",
    "Pkwy", "Highway", "Hwy", "Trail", "Trl", "Pike", "Loop", "Square", "Sq", "Crossing", "Run",
    "Point", "Ridge", "Hollow", "Creek", "Heights", "Plaza", "Alley", "Expressway", "Turnpike",
)  # fmt: skip
UK_STREET_TYPES = (
    "Road", "Street", "Lane", "Close", "Crescent", "Avenue", "Drive", "Gardens", "Grove",
    "Terrace", "Mews", "Row", "Walk", "Hill", "Place", "Square", "Green", "Rise", "View", "Way",
    "Park", "Parade", "Court", "Vale", "Wharf", "Yard", "Chase", "End", "Fold", "Wynd", "Brae",
    "Gate", "Croft", "Meadows", "Approach", "Embankment", "Quay", "Circus", "Passage",
)  # fmt: skip
AU_STREET_TYPES = (
    "Street", "St", "Road", "Rd", "Avenue", "Ave", "Parade", "Pde", "Crescent", "Cres",
    "Highway", "Hwy", "Esplanade", "Esp", "Terrace", "Tce", "Court", "Ct", "Place", "Pl",
    "Circuit", "Cct", "Close", "Cl", "Drive", "Dr", "Boulevard", "Bvd", "Lane", "Laneway",
    "Grove", "Way", "Promenade", "Track",
)  # fmt: skip
IN_STREET_TYPES = (
    "Road",
    "Marg",
    "Nagar",
    "Street",
    "Lane",
    "Path",
    "Chowk",
    "Colony",
    "Main Road",
)
US_STATES = ("CA", "NY", "TX", "FL", "IL", "WA", "MA", "OH", "GA", "NC", "CO", "AZ", "OR", "MN")
CA_PROVINCES = ("ON", "QC", "BC", "AB", "MB", "NS", "SK", "NB", "NL", "PE")
AU_STATES = ("NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT")
IE_COUNTIES = ("Cork", "Galway", "Kerry", "Mayo", "Meath", "Kildare", "Wicklow", "Limerick")
IE_TOWNS = ("Dublin 2", "Dublin 8", "Cork", "Galway", "Limerick", "Sligo", "Ennis", "Athlone")
IN_CITIES = (
    ("Mumbai", "Maharashtra", "400"), ("Bengaluru", "Karnataka", "560"),
    ("Chennai", "Tamil Nadu", "600"), ("Pune", "Maharashtra", "411"),
    ("Hyderabad", "Telangana", "500"), ("New Delhi", "Delhi", "110"),
    ("Kolkata", "West Bengal", "700"), ("Jaipur", "Rajasthan", "302"),
)  # fmt: skip
UNITS = ("Flat", "Apt", "Apt.", "Apartment", "Unit", "Suite", "Ste", "#")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXY") for _ in range(count))


def _uk_postcode(rng: random.Random) -> str:
    area = rng.choice(("SW", "N", "E", "LS", "M", "B", "EH", "G", "CF", "BS", "NW", "SE", "OX"))
    district = str(rng.randrange(1, 20)) + (rng.choice("ABCDEFG") if rng.random() < 0.1 else "")
    return f"{area}{district} {rng.randrange(10)}{_letters(rng, 2)}"


def _ca_postcode(rng: random.Random) -> str:
    letter = "ABCEGHJKLMNPRSTVXY"
    return (
        f"{rng.choice(letter)}{rng.randrange(10)}{rng.choice(letter)} "
        f"{rng.randrange(10)}{rng.choice(letter)}{rng.randrange(10)}"
    )


def _eircode(rng: random.Random) -> str:
    key = rng.choice(("D02", "D04", "D08", "T12", "H91", "V94", "A94", "D6W", "F91", "N37"))
    return (
        f"{key} {rng.choice('ACDEFHKNPRTVWXY')}{_digits(rng, 1)}{_letters(rng, 1)}{_digits(rng, 1)}"
    )


@dataclass(frozen=True)
class Address:
    street: str  # "12 Oak Road" (with a unit or building where the format has one)
    locality: list[str]  # the lines after the street: "Leeds", "LS1 4AP"


def _street_name(fake: Faker, rng: random.Random, pools: Pools) -> str:
    return rng.choice(pools.street_words) if rng.random() < 0.5 else str(fake.last_name())


def _us(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    number = str(rng.randrange(1, 99999))
    direction = rng.choice(("", "", "", "N ", "S ", "E ", "W ", "North ", "West "))
    street = f"{number} {direction}{_street_name(fake, rng, pools)} {rng.choice(US_STREET_TYPES)}"
    if rng.random() < 0.3:
        street += rng.choice((" NW", " SE", " NE", " SW"))
    if rng.random() < 0.35:
        street += f"{rng.choice((', ', ' '))}{rng.choice(UNITS)} {rng.randrange(1, 2000)}"
    state, zip_code = rng.choice(US_STATES), _digits(rng, 5)
    if rng.random() < 0.2:
        zip_code += f"-{_digits(rng, 4)}"
    return Address(street, [f"{fake.city()}, {state} {zip_code}"])


def _uk(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    street = (
        f"{rng.randrange(1, 300)} {_street_name(fake, rng, pools)} {rng.choice(UK_STREET_TYPES)}"
    )
    roll = rng.random()
    if roll < 0.25:
        street = f"Flat {rng.randrange(1, 40)}, {street}"
    elif roll < 0.4:
        street = f"{rng.choice(pools.buildings)}, {street}"
    elif roll < 0.5:
        street = f"{rng.randrange(1, 40)}{rng.choice('ab')} {street.split(' ', 1)[1]}"
    return Address(street, [str(fake.city()), _uk_postcode(rng)])


def _ca(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    street = (
        f"{rng.randrange(1, 9999)} {_street_name(fake, rng, pools)} {rng.choice(US_STREET_TYPES)}"
    )
    if rng.random() < 0.3:
        street = f"{rng.randrange(100, 2500)}-{street}"  # unit-number
    elif rng.random() < 0.2:
        street += f", {rng.choice(('Suite', 'Unit', 'Apt'))} {rng.randrange(1, 900)}"
    return Address(street, [f"{fake.city()}, {rng.choice(CA_PROVINCES)} {_ca_postcode(rng)}"])


def _au(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    number = str(rng.randrange(1, 400))
    if rng.random() < 0.35:
        number = f"{rng.randrange(1, 30)}/{number}"  # unit/number
    street = f"{number} {_street_name(fake, rng, pools)} {rng.choice(AU_STREET_TYPES)}"
    if rng.random() < 0.15:
        street = f"Level {rng.randrange(1, 30)}, {street}"
    return Address(street, [f"{fake.city()} {rng.choice(AU_STATES)} {_digits(rng, 4)}"])


def _ie(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    street = (
        f"{rng.randrange(1, 200)} {_street_name(fake, rng, pools)} {rng.choice(UK_STREET_TYPES)}"
    )
    if rng.random() < 0.3:
        street = f"Apartment {rng.randrange(1, 90)}, {rng.choice(pools.buildings)}, {street}"
    town = rng.choice(IE_TOWNS)
    locality = [town] if town.startswith("Dublin") else [town, f"Co. {rng.choice(IE_COUNTIES)}"]
    return Address(street, [*locality, _eircode(rng)])


def _in(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    city, state, pin = rng.choice(IN_CITIES)
    number = rng.choice(
        (
            f"{rng.randrange(1, 400)}",
            f"H.No. {rng.randrange(1, 99)}",
            f"{rng.randrange(1, 90)}/{rng.randrange(1, 20)}",
        )
    )
    street = f"{number}, {_street_name(fake, rng, pools)} {rng.choice(IN_STREET_TYPES)}"
    return Address(street, [f"{city}, {state} {pin}{_digits(rng, 3)}"])


ZA_SUBURBS = (
    ("Gardens", "Cape Town", "8001"), ("Rosebank", "Johannesburg", "2196"),
    ("Berea", "Durban", "4001"), ("Hatfield", "Pretoria", "0083"),
)  # fmt: skip


def _za(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    suburb, city, code = rng.choice(ZA_SUBURBS)
    kind = rng.choice(("Street", "Road", "Avenue", "Drive", "Crescent"))
    street = f"{rng.randrange(1, 300)} {rng.choice(pools.street_words)} {kind}"
    return Address(street, [suburb, city, code])


def _sg(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    street = (
        f"Blk {rng.randrange(1, 999)} {rng.choice(pools.street_words)} "
        f"{rng.choice(('Avenue 3', 'Street 21', 'Road', 'Drive', 'Crescent'))}"
    )
    unit = f"#{rng.randrange(1, 30):02d}-{rng.randrange(1, 300):02d}"
    return Address(street, [unit, f"Singapore {_digits(rng, 6)}"])


ADDRESS_COMPOSERS: dict[str, Callable[[Faker, random.Random, Pools], Address]] = {
    "US": _us, "GB": _uk, "CA": _ca, "AU": _au, "IE": _ie, "IN": _in, "ZA": _za, "SG": _sg,
}  # fmt: skip


# Faker's cities and surnames of the country (Ireland and India have hand-written towns).
COUNTRY_LOCALES = {
    "US": "en_US",
    "GB": "en_GB",
    "CA": "en_CA",
    "AU": "en_AU",
    "IE": "en_GB",
    "IN": "en_IN",
    "ZA": "en_US",
    "SG": "en_US",
}


def _composed(locale_fake: Callable[[str], Faker], rng: random.Random, pools: Pools) -> Address:
    country = rng.choice(pools.address_countries)
    return ADDRESS_COMPOSERS[country](locale_fake(COUNTRY_LOCALES[country]), rng, pools)


def _po_box(locale_fake: Callable[[str], Faker], rng: random.Random, pools: Pools) -> str:
    box = rng.choice(("PO Box", "P.O. Box", "P O Box", "Post Office Box", "GPO Box"))
    address = _composed(locale_fake, rng, pools)
    return f"{box} {rng.randrange(1, 9999)}, {', '.join(address.locality)}"


def _phone(rng: random.Random, pools: Pools) -> str:
    region = rng.choice(pools.phone_regions)
    kind = rng.choice(
        (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    # The significant number keeps Italy's leading zero (national_number drops it).
    national = phonenumbers.national_significant_number(example)
    while True:
        keep = rng.randrange(2, 4)
        candidate = national[:keep] + _digits(rng, len(national) - keep)
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number):
            break
    style = rng.random()
    fmt = phonenumbers.PhoneNumberFormat
    if style < 0.3:
        text = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    elif style < 0.6:
        text = phonenumbers.format_number(number, fmt.NATIONAL)
    elif style < 0.7:
        text = phonenumbers.format_number(number, fmt.E164)
    elif style < 0.8:
        text = "00" + phonenumbers.format_number(number, fmt.INTERNATIONAL)[1:]
    else:
        text = phonenumbers.format_number(number, rng.choice((fmt.NATIONAL, fmt.INTERNATIONAL)))
        separator = rng.choice((".", "-", " "))
        text = (
            text.replace("(", "").replace(")", "").replace(" ", separator).replace("-", separator)
        )
    if rng.random() < 0.2:
        text += rng.choice((" ext. ", " ext ", " x", " extension ", ", ext. ")) + str(
            rng.randrange(1, 9999)
        )
    return text


def _name(fake: Faker, rng: random.Random, style: str) -> str:
    first, last = str(fake.first_name()), str(fake.last_name())
    if style == "lower":
        return f"{first} {last}".lower()
    if style == "upper":
        return f"{first} {last}".upper()
    if style == "initial":
        initials = rng.choice((f"{first[0]}.", f"{first[0]}. {last[0]}.", f"{first[0]}"))
        if initials.endswith(f"{last[0]}."):
            initials = f"{first[0]}.{rng.choice('ABDEJKLMRST')}."
        return f"{initials} {last}"
    if style == "hyphen":
        other = str(fake.last_name())
        return rng.choice(
            (
                f"{first} {last}-{other}",
                f"{first}-{rng.choice(('Marie', 'Luc', 'Anne', 'Louise'))} {last}",
            )
        )
    if style == "apostrophe":
        prefix = rng.choice(("O'", "D'", "O’", "N'"))
        return f"{first} {prefix}{last}"
    if style == "particle":
        particle = rng.choice(
            ("van der", "de la", "van", "de", "von", "da", "di", "del", "le", "al-")
        )
        joiner = "" if particle.endswith("-") else " "
        return f"{first} {particle}{joiner}{last}"
    if style == "first":
        return first
    if style == "three":
        return f"{first} {fake.first_name()} {last}"
    return f"{first} {last}"


def english_value(
    split: str, slot: str, rng: random.Random, locale_fake: Callable[[str], Faker]
) -> str | None:
    """The value of a composed slot, or None for a slot this module does not fill."""
    pools = POOLS[split]
    if slot.startswith("person"):
        fake = locale_fake(rng.choice(pools.name_locales))
        style = slot.partition("_")[2] or "plain"
        if style == "title":
            return f"{rng.choice(pools.titles)} {fake.last_name()}"
        if style == "title_full":
            return f"{rng.choice(pools.titles)} {fake.first_name()} {fake.last_name()}"
        if style == "surname":
            return str(fake.last_name())
        return _name(fake, rng, style)
    if slot == "street":
        return _composed(locale_fake, rng, pools).street
    if slot == "street_full":
        address = _composed(locale_fake, rng, pools)
        return ", ".join([address.street, *address.locality])
    if slot == "street_lines":
        address = _composed(locale_fake, rng, pools)
        return "\n".join([address.street, *address.locality])
    if slot == "po_box":
        return _po_box(locale_fake, rng, pools)
    if slot == "tel":
        return _phone(rng, pools)
    return None
