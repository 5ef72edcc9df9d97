"""Phone numbers of any country, checked against the numbering plans of ``phonenumbers``
(Google's libphonenumber).

A candidate is a run of digit groups the way people write numbers: an optional ``+``, ``00`` or
``011`` before the country code, groups separated by one space, dot, dash or slash, an area code
in parentheses, a ``(0)`` trunk prefix, and an extension after it ("ext. 204", "x12"). It is a
phone number when it is a valid number: with a country code, of that country; without one, of
one of ``REGIONS`` (a number that is valid nowhere, a date, a card or an amount is not). After a
country code, or after a word that says a phone number follows ("phone:", "call me on"), a
number of a possible length is enough. Without such a word a candidate must also be written like
one: grouped, or with a country code or an area code in parentheses (a bare run of digits is
more often an account or reference number).
"""

import re
from collections.abc import Iterator
from functools import cache

import phonenumbers

from ml.safety.checksums import luhn_valid
from ml.safety.names import Found

# The countries whose national formats (no country code) are recognised: the English-speaking
# ones, the European languages the platform serves, and large markets. A number with its
# country code is checked against its own country, whatever this list holds.
REGIONS = (
    "US", "GB", "CA", "AU", "IE", "NZ", "IN", "ZA", "SG", "DE", "AT", "CH", "FR", "BE", "NL",
    "LU", "ES", "PT", "IT", "FI", "DK", "SE", "NO", "PL", "BR", "MX", "CN", "HK", "AR", "CO",
    "CL", "PE", "PH", "NG", "KE", "KR", "JP", "IL", "AE", "MY", "TR", "GR", "CZ",
)  # fmt: skip

_GROUP_SEPARATOR = r"(?:[ \t]?[.\-/][ \t]?|[ \t]|[ \t]?\(0\)[ \t]?)"
_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9+.,/-])"
    r"(?P<number>(?:(?P<international>\+|00(?=[1-9])|011(?=[ \t])|\(\+)[ \t]?)?"
    rf"(?:\(\d{{1,5}}\)|(?<=[(+])\d{{1,5}}\)|\d{{1,15}})"
    rf"(?:(?:(?<=\))|{_GROUP_SEPARATOR}|[ \t]?\(\d{{1,5}}\)[ \t]?)\d{{1,10}}){{0,7}})"
    r"(?P<extension>[ \t]*,?[ \t]*(?i:ext\.?|extension|x|\#)[ \t]*\d{1,5})?"
    r"(?![A-Za-z0-9]|[.,/-]\d)"
)
_CUE = re.compile(
    r"(?i:phone|mobile|mob\b|tel\b|tel\.|telephone|cell|landline|whats\s?app|fax|number|no\.|"
    r"\bcall|\bring|\btext|\bsms|reach\s+me|contact|dial|电话|手机|联系方式|telefon|handy|"
    r"téléphone|portable|numéro|telefone|telemóvel|celular|teléfono|móvil|telefono|cellulare|"
    r"telefoon|mobiel|puhelin|numero|mich\s+unter|appelez-moi|chiamatemi|llámeme|liguem|"
    r"bel\s+me|ring\s+til|soita)"
)
# Words that say a phone number follows whatever else the clause names ("Phone number on the
# order was ..."): they win over an order or account word after them.
_PHONE_HEAD = re.compile(
    r"(?i:\b(?:phone|telephone|cellphone|mobile|tel|cell|landline|whats\s?app|fax)\b|电话|手机)"
)
_NOT_PHONE_CUE = re.compile(
    r"(?i:\b(?:orders?|invoices?|accounts?|acct|cards?|iban|tracking|reference|ref|policy|"
    r"tickets?|booking|confirmation|serial|sku|zip|postcode|postal|pin|code|id|amount|"
    r"balance)\b|\$|€|£|¥)[^.!?\n]{0,12}$"
)
_DATE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")
_ZIP_PLUS_4 = re.compile(r"\d{5}-\d{4}")
_MIN_DIGITS, _MAX_DIGITS = 7, 15


@cache
def _valid_international(digits: str) -> bool:
    """After a "+" or "00" a number of its country's possible length is taken: people write the
    code on purpose, and test ranges ("+44 7700 900123") are no valid numbers."""
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse("+" + digits))
    except phonenumbers.NumberParseException:
        return False


@cache
def _valid_national(digits: str, *, possible: bool) -> bool:
    check = phonenumbers.is_possible_number if possible else phonenumbers.is_valid_number
    for region in REGIONS:
        try:
            if check(phonenumbers.parse(digits, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _valid(number: str, international: str | None, *, cued: bool) -> bool:
    if international:
        # "+44 (0)20 ...": the trunk zero in parentheses is not dialled with the country code.
        digits = re.sub(r"\D", "", number.replace("(0)", ""))
        if "+" not in international:
            digits = digits[len(international) :]
        if _MIN_DIGITS <= len(digits) <= _MAX_DIGITS and _valid_international(digits):
            return True
        if international != "011":
            return False
        # "011 15-6688-1329": Buenos Aires' trunk and area code, not the US exit code.
    digits = re.sub(r"\D", "", number)
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or any(
        shape.fullmatch(number.strip()) for shape in (_DATE, _ZIP_PLUS_4)
    ):
        return False
    # A run of digits that is a valid card is a card.
    if len(digits) >= 13 and luhn_valid(digits):
        return False
    # After "phone:" / "call me on", a number of a possible length is enough (test ranges
    # such as "0118 496 0525" are not valid numbers).
    return _valid_national(digits, possible=cued)


def _written_like_a_phone(number: str, international: str | None) -> bool:
    """A country code, an area code in parentheses, or digits in groups: a run of digits alone
    ("0159157307") is as often an order or account number."""
    stripped = number.strip()
    return bool(international) or stripped[0] == "(" or len(re.findall(r"\d+", stripped)) >= 2


def plausible_phone(value: str) -> bool:
    """Whether a span another recognizer proposes is written like a phone number and is one of
    a possible length, with its country code or in one of ``REGIONS`` (no date, zip or card)."""
    match = _CANDIDATE.fullmatch(value.strip())
    return match is not None and _valid(
        match.group("number"), match.group("international"), cued=True
    )


def phone_numbers(text: str) -> Iterator[Found]:
    for match in _CANDIDATE.finditer(text):
        start = match.start("number")
        before = text[max(0, start - 40) : start]
        not_phone = _NOT_PHONE_CUE.search(before)
        # "Phone number on the order was ...": the phone word heads the clause, so the number is
        # a phone number, and it outranks the order number the words after it suggest.
        headed = not_phone is not None and bool(
            _PHONE_HEAD.search(re.split(r"[.!?\n]", before[: not_phone.start()])[-1])
        )
        if not_phone and not headed:
            continue
        cued = headed or _CUE.search(before[-30:]) is not None
        international = match.group("international")
        number = match.group("number")
        if _valid(number, international, cued=cued) and (
            cued or _written_like_a_phone(number, international)
        ):
            yield Found(start, match.end(), 0.98 if headed else 0.9 if cued else 0.8)
