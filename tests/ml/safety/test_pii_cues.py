"""Names and phone numbers after the cues customers and e-mails use (issue 19, the misses of the
fresh PII split as classes): each case is written here with other values than the split's."""

import pytest

from ml.safety.pii import PiiDetector


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def _spans(detector: PiiDetector, text: str, entity: str) -> list[str]:
    return [text[s.start : s.end] for s in detector.detect(text) if s.entity == entity]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # a verb whose object is a person
        ("Could you tell Oluwaseun that the parcel is here?", "Oluwaseun"),
        ("Please let Capt. Dlamini know I rang.", "Capt. Dlamini"),
        ("Lt. Abernethy from your team emailed me.", "Lt. Abernethy"),
        # e-mail header fields and sign-offs, initials
        ("FROM: TOMASZ WIERZBICKI", "TOMASZ WIERZBICKI"),
        ("Best wishes,\nK.T. Oyelaran", "K.T. Oyelaran"),
        ("Many thanks,\nR Mbeki", "R Mbeki"),
        ("Yours faithfully,\nAmadou Diallo", "Amadou Diallo"),
        # a particle joined to the surname
        ("My colleague Karim al-Hassan will call you.", "Karim al-Hassan"),
        ("Please ring my cousin Nomvula Dlamini tomorrow", "Nomvula Dlamini"),
        # two capitalised words after "to", "is" ...
        ("Send the receipt to Chidi Okonkwo, our bookkeeper.", "Chidi Okonkwo"),
        ("Please pass it to Thabo Nkosi at the front desk.", "Thabo Nkosi"),
        # lower case, closed by "here"
        ("yes its tendai moyo here", "tendai moyo"),
    ],
)
def test_a_name_after_a_cue_is_found(detector: PiiDetector, text: str, name: str) -> None:
    assert name in _spans(detector, text, "PERSON")


def test_a_list_of_people_after_are_is_found_whatever_the_case(detector: PiiDetector) -> None:
    text = "The travellers are Kowalczyk, Ndlovu, brennan."
    assert _spans(detector, text, "PERSON") == ["Kowalczyk", "Ndlovu", "brennan"]


@pytest.mark.parametrize(
    "text",
    [
        "how long does it take to cook roast beef",
        "Is this card available to United States Residents?",
        "Are SWIFT Transfers available at this bank?",
        "how long does it take to get to Levi Stadium from the airport",
        "I want to travel to Costa Rica next month",
        "can I send it with Royal Mail?",
        "help me get an uber to ann arbor",
        "The passengers are tired, hungry and waiting.",
        # brands and products, the words shop customers name most
        "I want to upgrade to Samsung Galaxy",
        "Is Adobe Photoshop included?",
        "does it work with Microsoft Teams",
        "I switched from Adobe Photoshop last year",
    ],
)
def test_places_organisations_and_words_after_those_cues_are_no_names(
    detector: PiiDetector, text: str
) -> None:
    assert _spans(detector, text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        # the phone word heads the clause; "order" after it does not make it an order number
        ("Mobile number on the invoice is 0803 555 0199, please update it.", "0803 555 0199"),
        ("The phone on my account was +27 82 555 0143", "+27 82 555 0143"),
        # Buenos Aires: 011 is the trunk and area code, not the US exit code
        ("You can reach me on 011 4375-2211", "011 4375-2211"),
    ],
)
def test_a_phone_number_is_found_where_an_order_word_follows_the_phone_word(
    detector: PiiDetector, text: str, phone: str
) -> None:
    assert _spans(detector, text, "PHONE") == [phone]


@pytest.mark.parametrize(
    "text",
    ["problems with cancelling order 00004587345", "my order number is 0471 234 567"],
)
def test_an_order_number_is_no_phone(detector: PiiDetector, text: str) -> None:
    assert _spans(detector, text, "PHONE") == []
