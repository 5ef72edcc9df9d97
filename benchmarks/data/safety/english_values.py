"""Composed English values for ``build_pii_wide``: street addresses in the formats of the US, the
UK, Canada, Australia, Ireland and India (one line or several, with flats, units, PO boxes and
building names), people's names in the ways customers write them (lower case, capitals, titles,
initials, hyphens, apostrophes, particles) and phone numbers of many countries in their national
and international formats, with extensions.

Each split has its own pools (``POOLS``): the ``fresh`` pools were written after the detector was
tuned, so nothing in them was seen while tuning; the ``outside`` pools were written blind to the
detector: addresses of Kenya, Nigeria, Ghana, Jamaica, Pakistan, Hong Kong, the UAE and the
Philippines and rural routes of the US, Canada and Australia, names of locales no other pool
has (Ukrainian, Bulgarian, Greek and Georgian ones transliterated), phone numbers of regions no
other pool has, written in more ways. Phone numbers come from ``phonenumbers``' numbering plans
(a valid random number of a region), written the ways people write them. ``DISTRACTORS`` fill
the slots that are not personal data (order and tracking numbers, amounts, dates, cities).
"""

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

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
    box_words: tuple[str, ...] = ("PO Box", "P.O. Box", "P O Box", "Post Office Box", "GPO Box")
    phone_style: str = "common"  # "varied": also run together, "(0)", brackets, dots (outside)


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
    # Written blind to the detector, after fresh had been read: name locales in none of the
    # other pools nor the lexicon (Cyrillic, Greek and Georgian ones transliterated as their
    # speakers write them in English), addresses of eight countries no other split has (their
    # own hand-written streets and districts; the Philippines from Faker en_PH) and rural
    # routes, phone regions of no other split, written in more ways.
    "outside": Pools(
        name_locales=(
            "ga_IE", "en_NG", "ig_NG", "ha_NG", "sw", "az_AZ", "uz_UZ", "es_CL", "fr_BE",
            "uk_UA", "bg_BG", "el_GR", "ka_GE",
        ),
        address_countries=("KE", "NG", "GH", "JM", "PK", "HK", "AE", "PH"),
        phone_regions=(
            "JM", "TT", "BB", "BS", "GH", "UG", "TZ", "ZM", "RW", "PK", "LK", "BD", "NP", "MT",
            "CY", "FJ", "GR", "UA",
        ),
        buildings=(
            "Amani Court", "Sapphire Heights", "Palm Grove Apartments", "Golden Bay Tower",
            "Cedar Crest Residences", "Harbourview Mansion", "Crescent Plaza", "Baobab House",
        ),
        street_words=(),  # each country's composer has its own streets
        titles=(
            "Sgt.", "Lt.", "Capt", "Col.", "Cpl", "Pastor", "Fr.", "Engr.", "Atty.", "Hon.",
            "Chief", "Alhaji", "Madam", "Prof", "Dr", "Mrs", "Mr.", "Rev", "Sister", "Dame",
        ),
        box_words=("P.O. Box", "PO Box", "P.M.B.", "Private Bag", "Box", "POB", "P. O. Box"),
        phone_style="varied",
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


# The outside split's countries: each district with streets that run through it.
KE_DISTRICTS = (
    ("Kilimani", "Nairobi", "00100", ("Argwings Kodhek Road", "Lenana Road", "Kindaruma Road")),
    ("Westlands", "Nairobi", "00800", ("Waiyaki Way", "Rhapta Road", "Mpaka Road")),
    ("Lavington", "Nairobi", "00603", ("James Gichuru Road", "Muthangari Drive")),
    ("Nyali", "Mombasa", "80118", ("Links Road", "Mount Kenya Road")),
    ("Milimani", "Kisumu", "40100", ("Aga Khan Road", "Oginga Odinga Street")),
)
NG_DISTRICTS = (
    ("Victoria Island", "Lagos", "101241", ("Adeola Odeku Street", "Ajose Adeogun Street")),
    ("Ikoyi", "Lagos", "106104", ("Awolowo Road", "Bourdillon Road")),
    ("Ikeja GRA", "Lagos", "100271", ("Isaac John Street", "Oduduwa Crescent")),
    ("Wuse II", "Abuja", "904101", ("Aminu Kano Crescent", "Adetokunbo Ademola Crescent")),
    ("Garki", "Abuja", "900103", ("Ahmadu Bello Way", "Ladoke Akintola Boulevard")),
    ("GRA Phase 2", "Port Harcourt", "500272", ("Tombia Street", "Evo Road")),
)
GH_DISTRICTS = (
    ("Osu", "Accra", "GA", ("Oxford Street", "Cantonments Road")),
    ("East Legon", "Accra", "GA", ("Lagos Avenue", "Boundary Road")),
    ("Airport Residential Area", "Accra", "GA", ("Liberation Road", "Volta Street")),
    ("Adum", "Kumasi", "AK", ("Prempeh II Street", "Harper Road")),
    ("Community 25", "Tema", "GT", ("Hospital Road", "Meridian Road")),
)
JM_TOWNS = (
    ("Kingston 6", "St. Andrew", ("Hope Road", "Barbican Road", "Lady Musgrave Road")),
    ("Kingston 10", "St. Andrew", ("Half Way Tree Road", "Constant Spring Road")),
    ("Montego Bay", "St. James", ("Gloucester Avenue", "Barnett Street")),
    ("Mandeville", "Manchester", ("Caledonia Road", "Ward Avenue")),
    ("Ocho Rios", "St. Ann", ("Main Street", "DaCosta Drive")),
    ("Spanish Town", "St. Catherine", ("Brunswick Avenue", "Old Harbour Road")),
)
PK_AREAS = (
    ("F-8/3", "Islamabad", "44000"), ("G-11/2", "Islamabad", "44000"),
    ("DHA Phase 5", "Lahore", "54792"), ("Gulberg III", "Lahore", "54660"),
    ("Model Town", "Lahore", "54700"), ("Clifton Block 5", "Karachi", "75600"),
    ("Gulshan-e-Iqbal Block 13-D", "Karachi", "75300"), ("PECHS Block 2", "Karachi", "75400"),
)  # fmt: skip
HK_DISTRICTS = (
    ("Tsim Sha Tsui", "Kowloon", ("Nathan Road", "Canton Road", "Granville Road")),
    ("Mong Kok", "Kowloon", ("Argyle Street", "Soy Street")),
    ("Causeway Bay", "Hong Kong", ("Hennessy Road", "Yee Wo Street")),
    ("Sha Tin", "New Territories", ("Sha Tin Centre Street", "Tai Chung Kiu Road")),
    ("Central", "Hong Kong", ("Queen's Road Central", "Wellington Street")),
    ("North Point", "Hong Kong", ("King's Road", "Java Road")),
)
AE_AREAS = (
    ("Al Barsha 1", "Dubai"), ("Jumeirah 2", "Dubai"), ("Dubai Marina", "Dubai"),
    ("Al Nahda 2", "Dubai"), ("Al Reem Island", "Abu Dhabi"), ("Khalifa City A", "Abu Dhabi"),
    ("Al Majaz 3", "Sharjah"),
)  # fmt: skip
RURAL_PLACES = {
    "US": (
        ("Millersburg", "OH", "44654"), ("Hartville", "MO", "65667"), ("Glasgow", "MT", "59230"),
        ("Elkins", "WV", "26241"), ("Council", "ID", "83612"),
    ),
    "CA": (("Didsbury", "AB", "T0M"), ("Kemptville", "ON", "K0G"), ("Rosthern", "SK", "S0K"),
           ("Baddeck", "NS", "B0E")),
    "AU": (("Bungendore", "NSW", "2621"), ("Tallarook", "VIC", "3659"),
           ("Kingaroy", "QLD", "4610"), ("Mount Barker", "WA", "6324")),
}  # fmt: skip
AU_RURAL_ROADS = ("Old Coach Road", "Back Creek Road", "Mountain View Road", "Wattle Flat Road")
AU_PROPERTIES = ('"Yarrabee"', '"Willow Creek"', '"Glenrock Station"', '"Bimbadeen"')


def _ke(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    district, town, code, streets = rng.choice(KE_DISTRICTS)
    street = rng.choice(streets)
    roll = rng.random()
    if roll < 0.4:
        unit = f"{rng.choice(('Flat', 'Apt', 'House'))} {rng.choice('ABCD')}{rng.randrange(1, 30)}"
        first = f"{rng.choice(pools.buildings)}, {unit}, {street}"
    elif roll < 0.7:
        first = f"House No. {rng.randrange(1, 120)}, {street}"
    else:
        first = f"Plot {rng.randrange(100, 9999)}, {street}"
    return Address(first, [district, f"{town} {code}" if rng.random() < 0.5 else town])


def _ng(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    district, city, code, streets = rng.choice(NG_DISTRICTS)
    number = rng.choice(
        (
            f"No. {rng.randrange(1, 80)}",
            f"{rng.randrange(1, 80)}{rng.choice('ABC')}",
            f"Plot {rng.randrange(100, 2999)},",
            f"Flat {rng.randrange(1, 12)}, Block {rng.randrange(1, 9)}, {rng.randrange(1, 80)}",
        )
    )
    return Address(
        f"{number} {rng.choice(streets)}",
        [district, f"{city} {code}" if rng.random() < 0.4 else city],
    )


def _gh(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    district, city, prefix, streets = rng.choice(GH_DISTRICTS)
    number = rng.choice(
        (
            f"House No. {rng.randrange(1, 60)},",
            f"{rng.randrange(1, 200)}",
            f"Plot {rng.randrange(1, 90)},",
        )
    )
    locality = [district, city]
    if rng.random() < 0.5:
        locality.append(f"{prefix}-{_digits(rng, 3)}-{_digits(rng, 4)}")  # GhanaPost GPS
    return Address(f"{number} {rng.choice(streets)}", locality)


def _jm(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    town, parish, streets = rng.choice(JM_TOWNS)
    street = rng.choice(streets)
    roll = rng.random()
    if roll < 0.3:
        first = f"Apt {rng.randrange(1, 20)}, {rng.randrange(1, 120)} {street}"
    elif roll < 0.5:
        first = f"Lot {rng.randrange(1, 400)}, {street}"
    else:
        first = f"{rng.randrange(1, 120)} {street}"
    locality = [town] if town.startswith("Kingston") else [town, parish]
    if rng.random() < 0.25:
        locality.append("Jamaica W.I.")
    return Address(first, locality)


def _pk(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    area, city, code = rng.choice(PK_AREAS)
    first = rng.choice(
        (
            f"House {rng.randrange(1, 90)}, Street {rng.randrange(1, 60)}",
            f"{rng.randrange(1, 400)}-{rng.choice('ABCDEFGHJK')}",
            f"Flat {rng.randrange(1, 40)}, {rng.choice(pools.buildings)}",
            f"Plot {rng.randrange(1, 200)}-C, Lane {rng.randrange(1, 12)}",
        )
    )
    return Address(first, [area, f"{city} {code}" if rng.random() < 0.6 else city])


def _hk(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    district, region, streets = rng.choice(HK_DISTRICTS)
    floor, number = rng.randrange(2, 40), rng.randrange(1, 300)
    street = f"{number} {rng.choice(streets)}"
    first = rng.choice(
        (
            f"Flat {rng.choice('ABCDEFGH')}, {floor}/F, {rng.choice(pools.buildings)}, {street}",
            f"Room {floor}{rng.randrange(1, 30):02d}, {floor}/F, {street}",
            f"{floor}/F, Block {rng.randrange(1, 6)}, {street}",
        )
    )
    return Address(first, [district, region])


def _ae(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    area, city = rng.choice(AE_AREAS)
    building, floor = rng.choice(pools.buildings), rng.randrange(1, 30)
    first = rng.choice(
        (
            f"Villa {rng.randrange(1, 99)}, Street {rng.randrange(1, 40)}",
            f"Apartment {floor}{rng.randrange(1, 20):02d}, {building}",
            f"Office {rng.randrange(100, 999)}, Floor {floor}, {building}",
        )
    )
    return Address(first, [area, city, "UAE"] if rng.random() < 0.3 else [area, city])


def _ph(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    # Faker en_PH: "Unit 2537 Cypress Residences, 9739 Palanan Street, Makati, 0591 Metro Manila"
    parts = str(fake.address()).split(", ")
    building = len(parts) > 3 and not re.search(r"(Street|Road|Avenue|Drive|Extension)$", parts[0])
    take = 2 if building else 1
    return Address(", ".join(parts[:take]), parts[take:])


def _rural(fake: Faker, rng: random.Random, pools: Pools) -> Address:
    """A rural route, highway contract, rural mail box or farm, of the US, Canada or Australia."""
    country = rng.choice(("US", "CA", "AU"))
    town, region, code = rng.choice(RURAL_PLACES[country])
    route, box, number = rng.randrange(1, 9), rng.randrange(1, 999), rng.randrange(100, 9999)
    if country == "US":
        first = rng.choice(
            (
                f"RR {route} Box {box}",
                f"HC {rng.randrange(60, 85)} Box {box}",
                f"Rural Route {route}, Box {box}",
                f"{number} County Road {rng.randrange(1, 400)}",
            )
        )
        return Address(first, [f"{town}, {region} {code}"])
    if country == "CA":
        code = f"{code} {rng.randrange(10)}{rng.choice('ABCEGHJKLMNPRSTVXY')}{rng.randrange(10)}"
        first = rng.choice(
            (
                f"RR {route}, Site {rng.randrange(1, 30)}, Comp {rng.randrange(1, 60)}",
                f"{number} Concession Road {rng.randrange(1, 14)}, RR {route}",
                f"{number} Township Road {rng.randrange(300, 600)}",
            )
        )
        return Address(first, [f"{town} {region} {code}"])
    first = rng.choice(
        (
            f"RMB {number}",
            f"Lot {rng.randrange(1, 40)}, {number} {rng.choice(AU_RURAL_ROADS)}",
            f"{rng.choice(AU_PROPERTIES)}, {number} {rng.choice(AU_RURAL_ROADS)}",
        )
    )
    return Address(first, [f"{town} {region} {code}"])


ADDRESS_COMPOSERS: dict[str, Callable[[Faker, random.Random, Pools], Address]] = {
    "US": _us, "GB": _uk, "CA": _ca, "AU": _au, "IE": _ie, "IN": _in, "ZA": _za, "SG": _sg,
    "KE": _ke, "NG": _ng, "GH": _gh, "JM": _jm, "PK": _pk, "HK": _hk, "AE": _ae, "PH": _ph,
    "RURAL": _rural,
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
    **dict.fromkeys(("KE", "NG", "GH", "JM", "PK", "HK", "AE", "RURAL"), "en_US"),  # unused
    "PH": "en_PH",
}


def _composed(
    locale_fake: Callable[[str], Faker], rng: random.Random, pools: Pools, country: str = ""
) -> Address:
    country = country or rng.choice(pools.address_countries)
    return ADDRESS_COMPOSERS[country](locale_fake(COUNTRY_LOCALES[country]), rng, pools)


def _po_box(locale_fake: Callable[[str], Faker], rng: random.Random, pools: Pools) -> str:
    box = rng.choice(pools.box_words)
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
        if pools.phone_style == "varied":  # of the region drawn, not a neighbour on +1
            if phonenumbers.is_valid_number_for_region(number, region):
                landline = kind == phonenumbers.PhoneNumberType.FIXED_LINE
                return _phone_varied(number, region, landline, rng)
        elif phonenumbers.is_valid_number(number):
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


def _phone_varied(
    number: phonenumbers.PhoneNumber, region: str, landline: bool, rng: random.Random
) -> str:
    """A number as people type it: as printed, run together, "+cc (0)", "00", bracketed area
    code, dots or dashes between the groups; a third of the landlines with an extension."""
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    international = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    groups = re.findall(r"\d+", national)
    code, _, rest = international.partition(" ")
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata is not None else None
    style = rng.randrange(9)
    if style == 0:
        text = national
    elif style == 1:
        text = "".join(groups)
    elif style == 2:
        text = international
    elif style == 3:
        text = "-".join([code, *re.findall(r"\d+", rest)])
    elif style == 4:
        text = rng.choice(("00", "00 ")) + international[1:]
    elif style == 5 and trunk == "0":
        text = f"{code} (0){rest}" if national.startswith("0") else international
    elif style == 6:
        text = ".".join(groups)
    elif style == 7 and len(groups) > 2:
        text = f"({groups[0]}) {' '.join(groups[1:])}"
    else:
        text = "-".join(groups)
    if landline and rng.random() < 0.35:
        before, after = rng.choice(((" ext. ", ""), (" x", ""), (" Ext: ", ""), (" (ext. ", ")")))
        text += f"{before}{rng.randrange(1, 999)}{after}"
    return text


class NameSource(Protocol):
    def first_name(self) -> str: ...
    def last_name(self) -> str: ...


# Names of Cyrillic, Greek and Georgian locales as their bearers write them in English:
# (forms at the start of a word, forms elsewhere); two-letter keys are tried first.
_UK = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "є": "ie",
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "ї": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ю": "iu",
    "я": "ia",
    "'": "",
    "’": "",
    "зг": "zgh",
}
_BG = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sht",
    "ъ": "a",
    "ь": "y",
    "ю": "yu",
    "я": "ya",
}
_EL = {
    "α": "a",
    "β": "v",
    "γ": "g",
    "δ": "d",
    "ε": "e",
    "ζ": "z",
    "η": "i",
    "θ": "th",
    "ι": "i",
    "κ": "k",
    "λ": "l",
    "μ": "m",
    "ν": "n",
    "ξ": "x",
    "ο": "o",
    "π": "p",
    "ρ": "r",
    "σ": "s",
    "ς": "s",
    "τ": "t",
    "υ": "y",
    "φ": "f",
    "χ": "ch",
    "ψ": "ps",
    "ω": "o",
    "ου": "ou",
    "αι": "ai",
    "ει": "ei",
    "οι": "oi",
    "αυ": "av",
    "ευ": "ev",
    "γγ": "ng",
    "γκ": "gk",
    "μπ": "mp",
    "ντ": "nt",
}
_KA = {
    "ა": "a",
    "ბ": "b",
    "გ": "g",
    "დ": "d",
    "ე": "e",
    "ვ": "v",
    "ზ": "z",
    "თ": "t",
    "ი": "i",
    "კ": "k",
    "ლ": "l",
    "მ": "m",
    "ნ": "n",
    "ო": "o",
    "პ": "p",
    "ჟ": "zh",
    "რ": "r",
    "ს": "s",
    "ტ": "t",
    "უ": "u",
    "ფ": "p",
    "ქ": "k",
    "ღ": "gh",
    "ყ": "q",
    "შ": "sh",
    "ჩ": "ch",
    "ც": "ts",
    "ძ": "dz",
    "წ": "ts",
    "ჭ": "ch",
    "ხ": "kh",
    "ჯ": "j",
    "ჰ": "h",
}
LATIN: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "uk_UA": ({"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}, _UK),
    "bg_BG": ({}, _BG),
    "el_GR": ({"μπ": "b", "ντ": "d", "γκ": "g"}, _EL),
    "ka_GE": ({}, _KA),
}  # fmt: skip


def _latin(name: str, locale: str) -> str:
    initial, table = LATIN[locale]
    # Greek accents and diaereses go; Cyrillic й and ї keep theirs (they are other letters).
    if locale == "el_GR":
        name = "".join(
            c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c)
        )
    source, out, i = name.lower(), "", 0
    while i < len(source):
        start = i == 0 or not source[i - 1].isalpha()
        for size in (2, 1):
            piece = source[i : i + size]
            found = initial.get(piece) if start else None
            found = table.get(piece) if found is None else found
            if found is not None and len(piece) == size:
                out, i = out + found, i + size
                break
        else:
            out, i = out + source[i], i + 1
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in out.split(" "))


@dataclass(frozen=True)
class _LatinNames:
    fake: Faker
    locale: str

    def first_name(self) -> str:
        return _latin(str(self.fake.first_name()), self.locale)

    def last_name(self) -> str:
        return _latin(str(self.fake.last_name()), self.locale)


def _name_source(fake: Faker, locale: str) -> NameSource:
    return _LatinNames(fake, locale) if locale in LATIN else fake


def _name(fake: NameSource, rng: random.Random, style: str) -> str:
    first, last = str(fake.first_name()), str(fake.last_name())
    if style == "lower":
        return f"{first} {last}".lower().replace("i\u0307", "i")  # "İ".lower() keeps a dot
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
    if style == "reversed":
        return f"{last}, {first}"
    if style == "middle":
        return f"{first} {rng.choice('ABCDEFGHJKLMNOPRSTW')}. {last}"
    return f"{first} {last}"


# Values that are no personal data, put beside the labelled ones to test precision: order and
# tracking numbers, amounts, dates and cities on their own.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
CURRENCIES = ("$", "KES ", "₦", "PHP ", "J$", "£", "AED ", "Rs. ", "GH₵", "HK$", "USD ")
CITIES = ("Nairobi", "Lagos", "Accra", "Kingston", "Karachi", "Dubai", "Manila", "Cebu",
          "Hong Kong", "Montego Bay", "Abuja", "Toronto", "Brisbane")  # fmt: skip


def _order_number(rng: random.Random) -> str:
    return rng.choice(
        (
            f"#{_digits(rng, 6)}",
            f"ORD-{_digits(rng, 8)}",
            _digits(rng, 10),
            f"{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
            f"SO{_digits(rng, 7)}",
            f"INV-{rng.randrange(2024, 2027)}-{_digits(rng, 5)}",
        )
    )


def _amount(rng: random.Random) -> str:
    whole = f"{int(10 ** rng.uniform(0.7, 4.7)):,}"
    return f"{rng.choice(CURRENCIES)}{whole}" + (
        f".{_digits(rng, 2)}" if rng.random() < 0.5 else ""
    )


def _date(rng: random.Random) -> str:
    day, month, year = rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(2024, 2027)
    return rng.choice(
        (
            f"{day} {MONTHS[month - 1]} {year}",
            f"{day:02d}/{month:02d}/{year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{MONTHS[month - 1][:3]} {day}",
            f"{day}.{month:02d}.{year % 100:02d}",
        )
    )


def _tracking(rng: random.Random) -> str:
    return rng.choice(
        (
            f"{_letters(rng, 2)}{_digits(rng, 9)}{rng.choice(('KE', 'NG', 'JM', 'HK', 'PH'))}",
            f"1Z{_letters(rng, 3)}{_digits(rng, 13)}",
            f"JD{_digits(rng, 16)}",
            _digits(rng, 12),
        )
    )


DISTRACTORS: dict[str, Callable[[random.Random], str]] = {
    "order_no": _order_number,
    "amount": _amount,
    "date": _date,
    "tracking": _tracking,
    "city": lambda rng: rng.choice(CITIES),
}


def english_value(
    split: str, slot: str, rng: random.Random, locale_fake: Callable[[str], Faker]
) -> str | None:
    """The value of a composed slot, or None for a slot this module does not fill."""
    pools = POOLS[split]
    if slot.startswith("person"):
        locale = rng.choice(pools.name_locales)
        fake = _name_source(locale_fake(locale), locale)
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
    if slot in ("rural", "rural_lines"):
        address = _composed(locale_fake, rng, pools, country="RURAL")
        return ("\n" if slot == "rural_lines" else ", ").join([address.street, *address.locality])
    if slot == "tel":
        return _phone(rng, pools)
    if slot in DISTRACTORS:
        return DISTRACTORS[slot](rng)
    return None
