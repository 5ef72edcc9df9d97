"""Builds ``pii_wide.jsonl``: the wider PII set for the classes that leaked (issue 19), in ten
languages, with a tuning split and a held-out split.

    .venv/bin/python -m benchmarks.data.safety.build_pii_wide

Street addresses in each locale's own format (one line and several lines), names (lower case,
lists of surnames, names in other languages), national phone numbers and extensions, 12-digit
cards, lower-case IBANs and spelt-out e-mail addresses; Chinese sentences written here by hand
(names, mobile numbers, addresses). Faker (pinned in constraints.txt) fills the values, seeded,
so a re-run writes the same bytes.

The two splits share nothing that the detector could be tuned on: other sentence templates,
other Faker locales for names and addresses where Faker has one (English: en_US/en_GB for tuning,
en_IE/en_NZ held out; de_DE / de_AT+de_CH; fr_FR / fr_CH; pt_PT / pt_BR; es_ES / es_MX; nl_NL /
nl_BE; Finnish and Danish have one locale each) and other hand-written Chinese names and streets.
The name lexicon of ``ml.safety.names`` takes none of the held-out locales. Develop on
``"split": "tuning"`` only; report both.

Two English-only splits of composed values follow: ``fresh`` (written after tuning) and
``outside`` (48 templates, 576 messages, written blind to the detector once fresh had been
read: neither ``ml/safety`` nor any score of the split was looked at). Outside messages carry
order and tracking numbers, amounts, dates and cities beside the values (slots in
``UNLABELLED``: filled, never labelled) and 24 of them no personal data at all. Never tune on
``outside``.
"""

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from faker import Faker

from benchmarks.data.safety.english_values import DISTRACTORS, english_value
from ml.safety.checksums import luhn_valid

SPLITS = ("tuning", "heldout", "fresh", "outside")
OUTPUT = Path(__file__).resolve().with_name("pii_wide.jsonl")
SEED = 20261119
PER_TEMPLATE = {"en": 12, "zh": 12}
PER_TEMPLATE_OTHER = 8

LOCALES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"tuning": ("en_US", "en_GB"), "heldout": ("en_IE", "en_NZ")},
    "de": {"tuning": ("de_DE",), "heldout": ("de_AT", "de_CH")},
    "fr": {"tuning": ("fr_FR",), "heldout": ("fr_CH",)},
    "pt": {"tuning": ("pt_PT",), "heldout": ("pt_BR",)},
    "es": {"tuning": ("es_ES",), "heldout": ("es_MX",)},
    "it": {"tuning": ("it_IT",), "heldout": ("it_IT",)},
    "nl": {"tuning": ("nl_NL",), "heldout": ("nl_BE",)},
    "fi": {"tuning": ("fi_FI",), "heldout": ("fi_FI",)},
    "da": {"tuning": ("da_DK",), "heldout": ("da_DK",)},
}

# {slot} is filled and labelled; slot names map to entity types.
SLOTS = {
    "address": "ADDRESS",
    "address_lines": "ADDRESS",
    "name": "PERSON",
    "name_lower": "PERSON",
    "surname": "PERSON",
    "phone": "PHONE",
    "email_spelt": "EMAIL",
    "card12": "PAYMENT_CARD",
    "iban_lower": "IBAN",
    "street": "ADDRESS",
    "street_full": "ADDRESS",
    "street_lines": "ADDRESS",
    "po_box": "ADDRESS",
    "tel": "PHONE",
    "rural": "ADDRESS",
    "rural_lines": "ADDRESS",
    **{
        f"person{style}": "PERSON"
        for style in (
            "", "_lower", "_upper", "_title", "_title_full", "_initial", "_hyphen",
            "_apostrophe", "_particle", "_first", "_three", "_surname", "_reversed", "_middle",
        )
    },
}  # fmt: skip
# Filled but not labelled: order and tracking numbers, amounts, dates, cities (precision).
UNLABELLED = frozenset(DISTRACTORS)

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "tuning": (
            "Please ship my order to {address}.",
            "My new address is {address}, can you update it?",
            "Deliver to:\n{address_lines}\nThanks",
            "Hi, this is {name}. Where is my parcel?",
            "The account is in the name of {name}.",
            "name: {name_lower}",
            "Call me on {phone} after 5pm.",
            "My number changed to {phone}.",
            "Reach me at {email_spelt}.",
            "card number {card12}",
            "iban: {iban_lower}",
            "The account holders are {surname}, {surname} and {surname}.",
        ),
        "heldout": (
            "Can you send the replacement to {address} instead?",
            "I moved. New address:\n{address_lines}",
            "I'm writing on behalf of {name}, my mother.",
            "Please refund {name}, she paid twice.",
            "my name is {name_lower} and I need a refund",
            "You can phone me at {phone} or text.",
            "Landline: {phone}",
            "my email is {email_spelt}",
            "Paid with card {card12} yesterday",
            "refund to {iban_lower} please",
            "Passengers: {surname}, {surname}, {surname}",
            "Is {address} in your delivery area?",
        ),
    },
    "de": {
        "tuning": (
            "Bitte an {address} liefern.",
            "Meine neue Adresse:\n{address_lines}",
            "Mein Name ist {name}.",
            "Rufen Sie mich unter {phone} an.",
        ),
        "heldout": (
            "Die Lieferadresse ist {address}, danke.",
            "Rechnungsadresse:\n{address_lines}",
            "Ich bin {name} und warte auf mein Paket.",
            "Telefon: {phone}",
        ),
    },
    "fr": {
        "tuning": (
            "Livrez au {address} s'il vous plaît.",
            "Nouvelle adresse :\n{address_lines}",
            "Je m'appelle {name}.",
            "Appelez-moi au {phone}.",
        ),
        "heldout": (
            "Mon adresse est {address}, merci.",
            "Adresse de livraison :\n{address_lines}",
            "Bonjour, je suis {name}, client depuis 2019.",
            "Mon numéro : {phone}",
        ),
    },
    "pt": {
        "tuning": (
            "Enviem para {address}, por favor.",
            "Morada:\n{address_lines}",
            "O meu nome é {name}.",
            "Liguem para {phone}.",
        ),
        "heldout": (
            "A entrega é na {address}, obrigado.",
            "Endereço de entrega:\n{address_lines}",
            "Sou {name} e quero cancelar a encomenda.",
            "Telefone: {phone}",
        ),
    },
    "es": {
        "tuning": (
            "Envíenlo a {address}, por favor.",
            "Dirección:\n{address_lines}",
            "Me llamo {name}.",
            "Llámeme al {phone}.",
        ),
        "heldout": (
            "Mi dirección es {address}, gracias.",
            "Dirección de envío:\n{address_lines}",
            "Soy {name}, cliente desde hace años.",
            "Teléfono: {phone}",
        ),
    },
    "it": {
        "tuning": (
            "Spedite a {address}, grazie.",
            "Indirizzo:\n{address_lines}",
            "Mi chiamo {name}.",
            "Chiamatemi al {phone}.",
        ),
        "heldout": (
            "Il mio indirizzo è {address}.",
            "Indirizzo di consegna:\n{address_lines}",
            "Sono {name} e aspetto un rimborso.",
            "Telefono: {phone}",
        ),
    },
    "nl": {
        "tuning": (
            "Graag bezorgen op {address}.",
            "Adres:\n{address_lines}",
            "Mijn naam is {name}.",
            "Bel me op {phone}.",
        ),
        "heldout": (
            "Mijn adres is {address}, bedankt.",
            "Afleveradres:\n{address_lines}",
            "Ik ben {name} en mijn pakket is zoek.",
            "Telefoon: {phone}",
        ),
    },
    "fi": {
        "tuning": (
            "Toimittakaa osoitteeseen {address}.",
            "Osoite:\n{address_lines}",
            "Nimeni on {name}.",
            "Soittakaa numeroon {phone}.",
        ),
        "heldout": (
            "Uusi osoitteeni on {address}, kiitos.",
            "Toimitusosoite:\n{address_lines}",
            "Olen {name} ja odotan palautusta.",
            "Puhelin: {phone}",
        ),
    },
    "da": {
        "tuning": (
            "Send den til {address}.",
            "Adresse:\n{address_lines}",
            "Mit navn er {name}.",
            "Ring til {phone}.",
        ),
        "heldout": (
            "Min adresse er {address}, tak.",
            "Leveringsadresse:\n{address_lines}",
            "Jeg hedder {name} og venter på en pakke.",
            "Telefon: {phone}",
        ),
    },
}

# Chinese, written here: names, streets and sentences differ between the splits.
# English templates with composed values (``english_values``): many cues, formats and places in
# the sentence per type. ``fresh`` was written after the detector was tuned.
EN_COMPOSED_TEMPLATES: dict[str, tuple[str, ...]] = {
    "tuning": (
        # addresses
        "Please send the replacement to {street_full}.",
        "I moved last week, the new place is {street_full} so update my account",
        "ship to {street}, thanks",
        "Can you deliver to {street} instead of my work address?",
        "Address:\n{street_lines}",
        "Shipping address\n{street_lines}\n\nBilling is the same.",
        "my address is {street_full}",
        "The parcel went to {street} but I live at {street}.",
        "Two addresses on file: {street_full}; and {street_full}.",
        "Please collect the return from {street_lines}",
        "Invoice address - {street_full} - VAT number to follow",
        "is {street_full} within your delivery zone?",
        "Send it c/o my office: {street_lines}",
        "Our warehouse at {street} never got the pallet.",
        "I'd like to change my billing address to {po_box}.",
        "Mail the cheque to {po_box}",
        "Ship to:\n{person}\n{street_lines}",
        "HOME ADDRESS: {street_full}",
        "deliver to {street_full} pls, nobody is home before 6",
        "Returns were sent from {street_full} on Monday.",
        # names
        "Hi, my name is {person} and I need help with a refund.",
        "this is {person_lower}, my order hasn't arrived",
        "NAME: {person_upper}",
        "Please address the letter to {person_title_full}.",
        "I spoke to {person_title} yesterday about the charge.",
        "The card belongs to {person_initial}.",
        "Thanks, {person_hyphen}",
        "Regards,\n{person_apostrophe}",
        "The booking is under {person_particle}.",
        "{person} here, quick question about delivery times.",
        "Can {person} pick up the order for me?",
        "My husband {person} placed the order.",
        "my wife {person_first} will sign for it",
        "Please add {person_three} as a second user on the account.",
        "Kind regards\n{person}",
        "Attn: {person_title_full}",
        "Customer: {person}",
        "Account holder - {person_upper}",
        "The order was placed by {person_lower}",
        "I'm {person_first}, I ordered a jacket last week.",
        "hello its {person_lower} again",
        "Who is {person}? There's a charge from them on my statement.",
        "Your agent {person_first} promised me a callback.",
        "the recipient is {person}, not me",
        "Contact person: {person_initial}",
        "Guests: {person_surname}, {person_surname} and {person_surname}.",
        "We are the {person_surname} family and we booked two rooms.",
        "Cheers, {person_first}",
        "Sent on behalf of {person_title_full}",
        "Please transfer ownership to {person_hyphen}.",
        "{person_lower}\nacct ending 4421",
        "Dear {person_title},\nthank you for your message.",
        "Yes, the name on the card is {person_upper}.",
        "I called and {person} told me to write here.",
        # phones
        "Call me on {tel} after 5pm.",
        "my number is {tel}",
        "Phone: {tel}",
        "You can reach me at {tel} or by email.",
        "Please text {tel} when the driver is close.",
        "Mobile {tel}, landline {tel}",
        "New contact number - {tel}",
        "I tried calling {tel} but nobody answered.",
        "whatsapp me: {tel}",
        "Tel.: {tel}",
        "Ring {tel} and ask for reception.",
        "My old number {tel} no longer works, use {tel}.",
        "{tel} is my daughter's phone, please call her instead.",
        "Contact details\n{person}\n{tel}",
    ),
    "fresh": (
        # addresses
        "Hello, please can the courier bring it to {street_full} tomorrow?",
        "We relocated. Correct address: {street_full}.",
        "{street_full} is where I live, not the address on the label",
        "The label says {street} which is wrong",
        "Delivery address\n\n{street_lines}",
        "pls redirect parcel -> {street_lines}",
        "Both {street} and {street} are my addresses.",
        "Can I collect it instead of delivery to {street_full}?",
        "Please use my PO box: {po_box}",
        "Return label should show {street_full} as the sender.",
        "I'm staying at {street_full} until Friday.",
        "Billing address: {street_lines}\nThanks!",
        # names
        "Hi there, I'm {person}, I have a billing question.",
        "Could you tell {person_first} that the package is ready?",
        "customer name - {person_lower}",
        "FROM: {person_upper}",
        "Mail addressed to {person_title_full} keeps coming to my flat.",
        "{person_title} from your team called me this morning.",
        "Best wishes,\n{person_initial}",
        "Sincerely, {person_hyphen}",
        "The parcel was signed for by {person_apostrophe}.",
        "My colleague {person_particle} will send the documents.",
        "I'd like to add {person} to the delivery notes.",
        "Order for {person_three}, thanks",
        "The passengers are {person_surname}, {person_surname}, {person_surname}.",
        "Hi, {person} speaking. Is my refund processed?",
        "Is {person} authorised on this account?",
        "Send the invoice to {person}, our accountant.",
        "yes its {person_lower} here",
        "Please let {person_title} know I called.",
        # phones
        "Best number to reach me: {tel}",
        "Mob: {tel}",
        "Can someone call me back on {tel}?",
        "cell {tel} / office {tel}",
        "If I don't answer, try my partner on {tel}.",
        "Please update my phone number to {tel}.",
        "Contact me via WhatsApp at {tel}",
        "Phone number on the order was {tel} - it's outdated.",
        "Fax {tel}",
        "I am on {tel} all afternoon.",
    ),
    # Written blind to the detector (neither ml/safety nor any score of this split was read),
    # with order numbers, amounts, dates and cities beside the values, which are not labelled.
    "outside": (
        # addresses
        "Hi team, order {order_no} should go to {street_full}, I've moved out of the old flat.",
        "Kindly deliver to\n{street_lines}\nLandmark: opposite the petrol station",
        "The rider keeps saying address not found. It is {street_full}. Tell him to call when "
        "he reaches the gate.",
        "Billing: {po_box}\nShipping: {street_full}",
        "I paid {amount} on {date} and the parcel was meant to reach {street}. What happened?",
        "Can you change the delivery on {order_no} from {street} to {street_full}?",
        "postal address is {po_box} (no street deliveries out here)",
        "We're on a farm, so the mail comes to {rural}.",
        "{person_upper}\n{street_lines}\n\nthis is the address for the warranty registration",
        "{street_lines}\n\n^ that's my address from the 1st, please update it on all my "
        "subscriptions",
        "It shows delivered to {street} but that's a different unit. Tracking {tracking}.",
        "Our place doesn't show on the map. Postal address:\n{rural_lines}\nThe driver can "
        "phone ahead.",
        "Could it go to my office instead? {street_full}. Reception is on the ground floor.",
        "Correct address below (not the {city} one)\n{street_lines}",
        # names
        "From: {person}\nSent: {date}\nTo: Customer Care\nSubject: Refund for order {order_no}"
        "\n\nHello, I am still waiting for my money.",
        "Thanks for sorting this out!\n\n--\n{person_title_full}\nProcurement Officer",
        "Please ask for {person_first} at the gate, he will receive the package.",
        "my son {person_first} ordered this with my card without asking, cancel it please",
        "cc: {person}; {person_reversed}",
        "This request is made on behalf of our director, {person_upper}.",
        "For the attention of {person_middle} in Accounts Payable: invoice {order_no} is overdue.",
        "the box got left with my neighbour {person_lower}, can you check the driver's photo?",
        "I am {person_three} and I placed order {order_no} on {date}.",
        "Names on the tickets: {person}; {person}; {person_initial}",
        "Signed: {person_hyphen}\n{date}",
        "Your rep {person_title} was very rude to me on the phone on {date}.",
        "Post addressed to {person} still comes here, she moved out two years ago.",
        "I'm the executor for the late {person_title_full}. Please close the account.",
        "The receipt shows cashier {person_first} at till 4 and I was overcharged {amount}.",
        "Dear Sir/Madam,\nI, {person_upper}, hereby request a full refund for order {order_no}.",
        "Hi {person_first}, thanks for the quick reply yesterday. One more question about the "
        "{amount} charge.",
        "ORDER FOR: {person} | DELIVER BY: {date}",
        "Authorised collector: {person_middle} (my sister-in-law). She will bring her ID.",
        # phones
        "Invoice {order_no} for {amount}. For queries call our accounts line {tel}.",
        "Driver couldn't find the house, tell him to ring {tel} when he gets to the junction.",
        "Please note my new cell: {tel}. The old phone was stolen on {date}.",
        "two numbers, either is fine: {tel} or {tel}",
        "{person}\nSales Manager\nT: {tel}\nM: {tel}",
        "I was charged {amount} twice on {date}. Call me back at {tel}, reference {order_no}.",
        "Send the OTP to {tel} by SMS please, my email isn't working",
        "Text only please, I'm hard of hearing: {tel}",
        "Ring the shop on {tel} if it's out of stock and ask for {person_first}.",
        "You have {tel} on file but I haven't used it since {date}; the right one is {tel}.",
        "In case I'm out, my brother {person} can take the delivery, his phone is {tel}.",
        "pls call 4 delivery {tel}",
        "Tracking {tracking} shows a failed delivery. The courier can reach me on {tel} until "
        "6 pm.",
        # no personal data: order numbers, amounts, dates, tracking numbers, a city
        "Order {order_no} for {amount}, placed {date}, still shows processing. Tracking no. "
        "{tracking}.",
        "I bought the kettle at your {city} store on {date}; the receipt total was {amount}.",
    ),
}

ZH_NAMES = {
    "tuning": (
        "赵敏", "张三丰", "李娜", "王小明", "刘洋", "陈静", "欧阳娜娜", "周杰", "吴磊", "孙丽",
        "黄晓明", "林志强", "何平", "马云飞", "胡军", "杨帆",
    ),
    "heldout": (
        "郑爽", "高圆圆", "徐静", "朱丹", "郭涛", "罗琳", "梁文博", "宋佳", "韩雪", "唐宁",
        "冯远征", "司马南", "曹颖", "彭波", "谢娜", "邓超",
    ),
}  # fmt: skip
ZH_PLACES = {
    "tuning": (
        ("北京市", "朝阳区", "建国路"), ("上海市", "浦东新区", "世纪大道"),
        ("广东省广州市", "天河区", "体育西路"),
        ("浙江省杭州市", "西湖区", "文三路"), ("四川省成都市", "武侯区", "人民南路"),
    ),
    "heldout": (
        ("江苏省南京市", "鼓楼区", "中山路"), ("湖北省武汉市", "洪山区", "珞喻路"),
        ("天津市", "和平区", "南京路"),
        ("陕西省西安市", "雁塔区", "长安南路"), ("山东省青岛市", "市南区", "香港中路"),
    ),
}  # fmt: skip
ZH_TEMPLATES = {
    "tuning": (
        "客户{name}的订单还没到",
        "收件人：{name}，电话{phone}",
        "我叫{name}，想退货",
        "{name}的手机是{phone}吗？我帮他下的单",
        "请寄到{address}",
        "地址是{address}，谢谢",
        "我的手机号{phone}，收不到验证码",
    ),
    "heldout": (
        "请帮{name}查一下物流",
        "{name}先生昨天打过电话",
        "联系人{name}，手机{phone}",
        "麻烦转告{name}，快递到了",
        "我的地址：{address}",
        "送到{address}就行",
        "换了新号码{phone}，请更新",
    ),
}
ZH_MOBILE_PREFIXES = ("138", "139", "150", "177", "186", "199", "135", "158")


@dataclass
class Row:
    text: str
    spans: list[dict[str, object]]


def _fill(template: str, values: Callable[[str], str]) -> Row:
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        slot, _, rest = after.partition("}")
        text += before
        value = values(slot)
        if slot in UNLABELLED:
            text += value
            continue
        spans.append({"start": len(text), "end": len(text) + len(value), "entity": SLOTS[slot]})
        text += value
    return Row(text + rest, spans)


def _card12(rng: random.Random) -> str:
    while True:
        digits = "".join(str(rng.randrange(10)) for _ in range(12))
        if digits[0] in "56" and luhn_valid(digits):
            return (
                " ".join(digits[i : i + 4] for i in range(0, 12, 4))
                if rng.random() < 0.5
                else digits
            )


def _values(fake: Faker, rng: random.Random) -> Callable[[str], str]:
    def value(slot: str) -> str:
        if slot == "address":
            return " ".join(fake.street_address().split())
        if slot == "address_lines":
            return fake.address()
        if slot == "name":
            return f"{fake.first_name()} {fake.last_name()}"
        if slot == "name_lower":
            return f"{fake.first_name()} {fake.last_name()}".lower()
        if slot == "surname":
            return str(fake.last_name())
        if slot == "phone":
            return str(fake.phone_number())
        if slot == "email_spelt":
            user = f"{fake.first_name()}.{fake.last_name()}".lower().replace(" ", "")
            domain, tld = rng.choice((("example", "com"), ("mail", "org"), ("post", "net")))
            at, dot = rng.choice(((" at ", " dot "), (" [at] ", " [dot] "), ("(at)", "(dot)")))
            return f"{user}{at}{domain}{dot}{tld}"
        if slot == "card12":
            return _card12(rng)
        if slot == "iban_lower":
            compact = fake.iban().lower()
            return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        raise KeyError(slot)

    return value


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


def _composed(split: str, rng: random.Random) -> Callable[[str], str]:
    def locale_fake(locale: str) -> Faker:
        fake = _faker(locale)
        fake.seed_instance(rng.randrange(2**32))
        return fake

    def value(slot: str) -> str:
        found = english_value(split, slot, rng, locale_fake)
        if found is None:
            raise KeyError(slot)
        return found

    return value


def _zh_values(split: str, rng: random.Random) -> Callable[[str], str]:
    def value(slot: str) -> str:
        if slot == "name":
            return rng.choice(ZH_NAMES[split])
        if slot == "phone":
            return rng.choice(ZH_MOBILE_PREFIXES) + "".join(
                str(rng.randrange(10)) for _ in range(8)
            )
        if slot == "address":
            city, district, road = rng.choice(ZH_PLACES[split])
            return f"{city}{district}{road}{rng.randrange(1, 300)}号"
        raise KeyError(slot)

    return value


def build() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for split in SPLITS:
        for lang, templates in TEMPLATES.items():
            if split not in templates:
                continue  # the fresh split is English only
            locales = LOCALES[lang][split]
            per = PER_TEMPLATE.get(lang, PER_TEMPLATE_OTHER)
            for t_index, template in enumerate(templates[split]):
                for i in range(per):
                    seed = SEED + hash_key(split, lang, t_index, i)
                    fake = Faker(locales[i % len(locales)])
                    fake.seed_instance(seed)
                    rng = random.Random(seed)  # noqa: S311 (seeded on purpose: reproducible data)
                    row = _fill(template, _values(fake, rng))
                    rows.append(_row(split, lang, len(rows), row))
        for t_index, template in enumerate(EN_COMPOSED_TEMPLATES.get(split, ())):
            for i in range(PER_TEMPLATE["en"]):
                rng = random.Random(SEED + hash_key(split, "en+", t_index, i))  # noqa: S311
                rows.append(_row(split, "en", len(rows), _fill(template, _composed(split, rng))))
        for t_index, template in enumerate(ZH_TEMPLATES.get(split, ())):
            for i in range(PER_TEMPLATE["zh"]):
                rng = random.Random(SEED + hash_key(split, "zh", t_index, i))  # noqa: S311
                rows.append(_row(split, "zh", len(rows), _fill(template, _zh_values(split, rng))))
    return rows


def hash_key(split: str, lang: str, template: int, item: int) -> int:
    """A stable number per (split, language, template, item): Python's hash() is salted."""
    return int(sum(ord(c) * 31**k for k, c in enumerate(f"{split}:{lang}"))) % 10_000 * 1000 + (
        template * 100 + item
    )


def _row(split: str, lang: str, index: int, row: Row) -> dict[str, object]:
    return {
        "id": f"wide-{split}-{lang}-{index:04d}",
        "split": split,
        "lang": lang,
        "text": row.text,
        "spans": row.spans,
    }


def main() -> None:
    rows = build()
    with OUTPUT.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = Counter((r["split"], r["lang"]) for r in rows)
    print(f"{len(rows)} rows -> {OUTPUT}")
    for key, count in sorted(counts.items()):
        print(*key, count)


if __name__ == "__main__":
    main()
