"""Regression tests for the classes of personal data that leaked or were over-redacted (issue 19):
each test names a class with the example that broke it."""

import pytest

from ml.safety.pii import PiiDetector, knowledge_spans


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def _found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in detector.detect(text)]


def _knowledge(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in knowledge_spans(text)]


# --- operators' knowledge text ------------------------------------------------------------------


def test_knowledge_keeps_brands_places_and_template_variables() -> None:
    assert _knowledge("We use the Visa or Mastercard wholesale rate of the moment.") == []
    assert _knowledge("We deliver to Portugal and Germany within 5 working days.") == []
    assert _knowledge("Visit our {{Website Name}} or call {{Customer Support Phone Number}}.") == []
    assert _knowledge("Ask Anna in the Lisbon store, 42 rue de Rivoli, order 370795561790.") == []


def test_knowledge_finds_private_data_but_not_the_company_contacts() -> None:
    text = (
        "Write to support@northwind.example or call our hotline 0800 123 4567. "
        "Test card 4111 1111 1111 1111 belongs to jane.roe@gmail.com, mobile 07700 900123."
    )
    assert _knowledge(text) == [
        ("4111 1111 1111 1111", "PAYMENT_CARD"),
        ("jane.roe@gmail.com", "EMAIL"),
        ("07700 900123", "PHONE"),
    ]


# --- customer messages: ordinary words are not names -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Wen will my refund arrive?",
        "Waht is the exchange rate for euros?",
        "Can I pay with Mastercard or Visa?",
        "Do you deliver to Portugal?",
    ],
)
def test_ordinary_words_are_not_names(detector: PiiDetector, text: str) -> None:
    assert _found(detector, text) == []


# --- addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Please send it to Rua das Flores 212, thanks", "Rua das Flores 212"),
        ("I live at Mannerheimintie 14 now", "Mannerheimintie 14"),
        ("new address: Søndergade 7.", "Søndergade 7"),
        ("Ship to 42 rue de Rivoli, 75004 Paris please", "42 rue de Rivoli, 75004 Paris"),
        ("deliver to Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ("address is Via Roma 10, Milano", "Via Roma 10, Milano"),
    ],
)
def test_addresses_in_other_languages(detector: PiiDetector, text: str, address: str) -> None:
    assert _found(detector, text) == [(address, "ADDRESS")]


def test_multi_line_address_with_its_parts(detector: PiiDetector) -> None:
    text = "Send it to:\nFlat 3,\n12 High Street\nLondon NW1 4NP\nthanks"
    assert _found(detector, text) == [("Flat 3,\n12 High Street\nLondon NW1 4NP", "ADDRESS")]
    text = "It went to 1600 Pennsylvania Avenue NW, Washington, DC 20500 instead."
    assert _found(detector, text) == [
        ("1600 Pennsylvania Avenue NW, Washington, DC 20500", "ADDRESS")
    ]


# --- names --------------------------------------------------------------------------------------


def test_names_in_lower_case_lists_and_other_languages(detector: PiiDetector) -> None:
    assert _found(detector, "name: priya patel") == [("priya patel", "PERSON")]
    assert _found(detector, "the account holders are Smith, Jones and Taylor") == [
        ("Smith", "PERSON"),
        ("Jones", "PERSON"),
        ("Taylor", "PERSON"),
    ]
    assert _found(detector, "Hi, I'm Jürgen Müller and my parcel is late") == [
        ("Jürgen Müller", "PERSON")
    ]


def test_chinese_names_and_no_whole_sentence_redaction(detector: PiiDetector) -> None:
    assert _found(detector, "客户赵敏") == [("赵敏", "PERSON")]
    assert _found(detector, "张三丰的手机是17712345678吗？我帮他下的单") == [
        ("张三丰", "PERSON"),
        ("17712345678", "PHONE"),
    ]


# --- numbers and written-out e-mails ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call me on 0471 23 45 67 tomorrow", "0471 23 45 67"),
        ("my mobile is 612 345 678", "612 345 678"),
        ("phone (21) 555-019 after six", "(21) 555-019"),
        ("phone (21) 555-0199 after six", "(21) 555-0199"),
        ("office +1 555 010 1234 ext. 204", "+1 555 010 1234 ext. 204"),
        ("desk 020 7946 0958 x12", "020 7946 0958 x12"),
    ],
)
def test_national_phone_formats_and_extensions(
    detector: PiiDetector, text: str, value: str
) -> None:
    assert _found(detector, text) == [(value, "PHONE")]


def test_twelve_digit_card_lower_case_iban_and_spelt_out_email(detector: PiiDetector) -> None:
    assert _found(detector, "card 4111 1111 1117 please") == [("4111 1111 1117", "PAYMENT_CARD")]
    assert _found(detector, "iban gb82 west 1234 5698 7654 32") == [
        ("gb82 west 1234 5698 7654 32", "IBAN")
    ]
    assert _found(detector, "write to jane.roe at example dot com") == [
        ("jane.roe at example dot com", "EMAIL")
    ]
    assert _found(detector, "mail jane [at] example [dot] org") == [
        ("jane [at] example [dot] org", "EMAIL")
    ]
