import pytest

from ml.safety.pii import PiiDetector, cn_id_valid, iban_valid, luhn_valid
from ml.safety.redact import redact


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def _found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in detector.detect(text)]


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert cn_id_valid("11010519491231002X")
    assert not cn_id_valid("110105194912310021")  # wrong check digit
    assert not cn_id_valid("110105194913310024")  # month 13


def test_numbers_next_to_chinese_characters(detector: PiiDetector) -> None:
    text = "卡号6222021234567890128有问题，身份证11010519491231002X，电话13800138000"
    assert _found(detector, text) == [
        ("6222021234567890128", "PAYMENT_CARD"),
        ("11010519491231002X", "CN_ID"),
        ("13800138000", "PHONE"),
    ]


def test_english_message(detector: PiiDetector) -> None:
    text = "I'm Mr. Jones, card 4111 1111 1111 1111, mail jane.doe@example.com, order ORD-48213"
    found = dict((entity, value) for value, entity in _found(detector, text))
    assert found == {
        "PERSON": "Mr. Jones",
        "PAYMENT_CARD": "4111 1111 1111 1111",
        "EMAIL": "jane.doe@example.com",
        "ORDER_ID": "ORD-48213",
    }


def test_numbers_that_are_not_personal_data(detector: PiiDetector) -> None:
    text = "I was charged $1,234.56 twice for 3 items on 2024-05-01; 4111111111111112 failed"
    assert _found(detector, text) == []


def test_workspace_order_pattern() -> None:
    detector = PiiDetector(order_patterns=[r"(?<![A-Z0-9])ZX\d{6}(?![0-9])"], use_ner=False)
    assert [s.entity for s in detector.detect("where is ZX123456")] == ["ORDER_ID"]


def test_placeholders_are_consistent_in_a_conversation(detector: PiiDetector) -> None:
    first = "my card is 4111 1111 1111 1111"
    one = redact(first, detector.detect(first), secret=b"s")
    second = "no, not 4111-1111-1111-1111, the other one: 5500 0000 0000 0004"
    two = redact(second, detector.detect(second), secret=b"s", placeholders=one.placeholders)
    assert one.text == "my card is <CARD_1>"
    assert two.text == "no, not <CARD_1>, the other one: <CARD_2>"
    assert all("4111" not in key for key in two.placeholders)


def test_mask_mode(detector: PiiDetector) -> None:
    text = "card 4111 1111 1111 1111"
    assert redact(text, detector.detect(text), secret=b"s", mode="mask").text == (
        "card **** **** **** 1111"
    )
