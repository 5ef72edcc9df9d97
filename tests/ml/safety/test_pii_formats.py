"""The recognizers generalise over the ways addresses, names and phone numbers are written: each
test is one format of the class (issue 19), with a look-alike that must stay untouched."""

import pytest

from ml.safety.pii import PiiDetector


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def _found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in detector.detect(text)]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Call me on +49 1517 2406907 ext 5051 after 5pm.", "+49 1517 2406907 ext 5051"),
        ("my number is 0061 2 1216 0990", "0061 2 1216 0990"),
        ("whatsapp me: 081690 34111", "081690 34111"),
        ("Please text 32 10 70 65 when the driver is close.", "32 10 70 65"),
        ("Ring 315-829-6868 and ask for reception.", "315-829-6868"),
        ("(+358) 825183257", "(+358) 825183257"),
    ],
)
def test_phone_numbers_of_many_countries(detector: PiiDetector, text: str, phone: str) -> None:
    assert _found(detector, text) == [(phone, "PHONE")]


def test_a_zip_code_a_date_and_an_amount_are_no_phone_numbers(detector: PiiDetector) -> None:
    assert _found(detector, "Austin, TX 78701-4412 on 12.03.2024 for $1,234.56") == []


@pytest.mark.parametrize(
    "text",
    [
        "Can I cancel 448-7903456-1318060? I ordered it on December 13.",
        "The barcode under the box reads 4873 9191 9596 5245, is that the model?",
        "Can I cancel 0648631879? I ordered it on 10/13/2025.",
    ],
)
def test_order_numbers_barcodes_and_bare_digit_runs_are_no_phone_numbers(
    detector: PiiDetector, text: str
) -> None:
    assert "PHONE" not in [entity for _, entity in _found(detector, text)]


@pytest.mark.parametrize(
    "address",
    [
        "Level 15, 5/266 Forest Hwy, New Mackenziestad ACT 2853",
        "8421 Barber Trl, Lake Melindaburgh, NL Y2Y 5T1",
        "Apartment 9, Maple Towers, 156 Chandler Avenue\nEnnis\nCo. Cork\nD08 H4X7",
        "H.No. 10, Borra Marg, Chennai, Tamil Nadu 600564",
        "P.O. Box 9100, Byrdport QLD 8349",
        "1203-1680 Russell Pkwy, South Patricia, NS X1M 0A6",
    ],
)
def test_addresses_of_english_speaking_countries(detector: PiiDetector, address: str) -> None:
    assert _found(detector, f"Please send it to {address}.") == [(address, "ADDRESS")]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("NAME: JESSICA HILL", "JESSICA HILL"),
        ("The card belongs to M.M. Olaya.", "M.M. Olaya"),
        ("The booking is under Sandis van der Riekstiņa.", "Sandis van der Riekstiņa"),
        ("Regards,\nWilmar D'Trujillo", "Wilmar D'Trujillo"),
        ("Can Janet Lyons pick up the order for me?", "Janet Lyons"),
        ("Toms Rubene here, quick question about delivery times.", "Toms Rubene"),
        ("The order was placed by mary bundi", "mary bundi"),
        ("I spoke to Mrs Valette yesterday about the charge.", "Mrs Valette"),
    ],
)
def test_names_in_any_case_and_after_many_cues(detector: PiiDetector, text: str, name: str) -> None:
    assert _found(detector, text) == [(name, "PERSON")]


@pytest.mark.parametrize(
    "text",
    [
        "i'd like to report my card as damaged, it's bent",
        "I only made one transaction at this place, but it's appearing multiple times.",
        "translate hello english to french",
        "Can I change from AUD to GBP?",
        "I AM MISSING CASH FROM MY BANK ACCOUNT",
        "What is the max amount of top-ups?",
    ],
)
def test_ordinary_words_after_a_cue_are_no_names(detector: PiiDetector, text: str) -> None:
    assert _found(detector, text) == []
