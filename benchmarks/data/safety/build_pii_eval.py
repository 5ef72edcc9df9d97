"""Builds ``pii_eval.jsonl``, the labelled set ``benchmarks.safety_eval`` scores PII detection on.

    .venv/bin/python -m benchmarks.data.safety.build_pii_eval

Four parts, each deterministic (fixed seeds), so a re-run reproduces the file byte for byte:

- customer-service sentences in English (Faker en_US and en_GB) and Chinese (Faker zh_CN) from
  templates, with one to three PII values each and their character spans;
- hard negatives without PII: amounts, dates, product names, place names, and long numbers that
  fail the Luhn or Chinese ID checksum;
- every Bitext row whose entity is an order id, invoice id or person name, span taken from the
  row's offsets less trailing punctuation (CDLA-Sharing-1.0, see SOURCE.md);
- about 200 Bitext rows whose entity is not PII (account type, city, country, amount), no spans.

Every value is checked (Luhn, IBAN mod 97, ISO 7064 MOD 11-2 and birth date) before it is written,
and every number in a negative is checked to fail those checks.
"""

import csv
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from faker import Faker

from ml.datasets import datasets_dir

OUTPUT = Path(__file__).resolve().with_name("pii_eval.jsonl")
SEED = 20240601
EN_SENTENCES = 1200
ZH_SENTENCES = 600
EN_NEGATIVE_COUNT = 260
ZH_NEGATIVE_COUNT = 140
# Non-PII Bitext entity types and how many rows of each become negatives (about 200 in all).
BITEXT_PII = {"order_id": "ORDER_ID", "invoice_id": "INVOICE_ID", "person_name": "PERSON"}
BITEXT_NEGATIVES = {
    "account_type": 80,
    "delivery_city": 50,
    "refund_amount": 40,
    "delivery_country": 30,
}

Span = dict[str, int | str]
Row = dict[str, object]


# --- checksums -------------------------------------------------------------------------------


def luhn_check_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    return luhn_check_digit(digits[:-1]) == digits[-1]


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_check_char(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _CN_ID_WEIGHTS, strict=True)) % 11]


def cn_id_valid(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return cn_id_check_char(number[:17]) == number[17]


# --- value generators ------------------------------------------------------------------------


def _group(digits: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, position = [], 0
    for size in sizes:
        parts.append(digits[position : position + size])
        position += size
    if position < len(digits):
        parts.append(digits[position:])
    return separator.join(part for part in parts if part)


class Values:
    """Realistic PII and filler values; one instance per language, all randomness seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (seeded on purpose: reproducible data)
        self.fakers: dict[str, Faker] = {}
        for offset, locale in enumerate(
            ("en_US", "en_GB", "zh_CN", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")
        ):
            self.fakers[locale] = Faker(locale)
            self.fakers[locale].seed_instance(seed + offset)
        self.locale = "en_US"  # the English locale of the sentence being built

    @property
    def fake(self) -> Faker:
        return self.fakers[self.locale]

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(count))

    # payment cards: 15-19 digits, valid Luhn, Visa / Mastercard / Amex / UnionPay
    def card_digits(self) -> str:
        brand = self.rng.choice(["visa", "visa", "mastercard", "mastercard", "amex", "unionpay"])
        faker = self.fakers["en_US"]
        if brand == "unionpay":
            prefix = self.rng.choice(["622202", "621700", "622848", "621661", "622588", "625807"])
            body = prefix + self.digits(self.rng.choice([16, 19]) - len(prefix) - 1)
            number = body + luhn_check_digit(body)
        elif brand == "visa" and self.rng.random() < 0.1:
            number = faker.credit_card_number(card_type="visa19")
        else:
            number = faker.credit_card_number(card_type=brand)
        assert luhn_valid(number), number
        assert 15 <= len(number) <= 19, number
        return number

    def card(self) -> str:
        number = self.card_digits()
        style = self.rng.choice(["compact", "space", "space", "dash"])
        if style == "compact":
            return number
        separator = " " if style == "space" else "-"
        if len(number) == 15:  # Amex prints 4-6-5
            return _group(number, (4, 6, 5), separator)
        return _group(number, (4, 4, 4, 4), separator)

    def iban(self) -> str:
        locale = self.rng.choice(["en_GB", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT"])
        number = self.fakers[locale].iban()
        assert iban_valid(number), number
        return _group(number, (4,) * 9, " ") if self.rng.random() < 0.5 else number

    def cn_id(self) -> str:
        number = self.fakers["zh_CN"].ssn(min_age=16, max_age=85)
        assert cn_id_valid(number), number
        return _group(number, (6, 8, 4), " ") if self.rng.random() < 0.1 else number

    def email(self) -> str:
        kind = self.rng.random()
        if self.locale == "zh_CN":
            if kind < 0.3:
                return f"{self.rng.randint(10000, 9999999999)}@qq.com"
            if kind < 0.6:
                romanized = (
                    self.fake.romanized_name().lower().replace(" ", self.rng.choice(["", "."]))
                )
                domain = self.rng.choice(["163.com", "126.com", "sina.com", "foxmail.com"])
                return f"{romanized}{self.rng.randint(1, 99)}@{domain}"
            return str(self.fake.free_email() if kind < 0.8 else self.fake.email())
        if kind < 0.4:
            return str(self.fake.free_email())
        if kind < 0.7:
            return str(self.fake.email())
        if kind < 0.85:
            return str(self.fake.company_email())
        first = self.fake.first_name().lower()
        last = self.fake.last_name().lower()
        return (
            f"{first}.{last}{self.rng.choice(['', '', str(self.rng.randint(1, 99))])}@outlook.com"
        )

    def phone(self) -> str:
        if self.locale == "zh_CN":
            mobile = self.rng.choice(["13", "15", "17", "18", "19"]) + self.digits(9)
            area, local = self.rng.choice(
                [("010", 8), ("021", 8), ("020", 8), ("0755", 8), ("0571", 7)]
            )
            landline = self.digits(local)
            return self.rng.choice(
                [
                    mobile,
                    mobile,
                    mobile,
                    f"+86 {_group(mobile, (3, 4, 4), ' ')}",
                    f"+86{mobile}",
                    _group(mobile, (3, 4, 4), "-"),
                    _group(mobile, (3, 4, 4), " "),
                    f"{area}-{landline}",
                    f"({area}){landline}",
                ]
            )
        if self.locale == "en_GB":
            london = "20 7946 0" + self.digits(3)
            mobile = "7700 900" + self.digits(3)
            return self.rng.choice(
                [
                    f"0{london}",
                    f"+44 {london}",
                    f"0{mobile}",
                    f"+44 {mobile}",
                    f"0161 496 0{self.digits(3)}",
                    f"(0118) 496 0{self.digits(3)}",
                    str(self.fake.phone_number()),
                ]
            )
        area = str(self.rng.randint(201, 989))
        exchange = str(self.rng.randint(200, 999))
        line = self.digits(4)
        return self.rng.choice(
            [
                f"+1 ({area}) {exchange}-{line}",
                f"({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}",
                f"+1 {area} {exchange} {line}",
                f"+1{area}{exchange}{line}",
                f"{area} {exchange} {line}",
            ]
        )

    def address(self) -> str:
        if self.locale == "zh_CN":
            return self.zh_address()
        fake = self.fake
        if self.locale == "en_GB":
            number = str(self.rng.randint(1, 240)) + self.rng.choice(["", "", "", "A", "B"])
            street = f"{number} {fake.street_name()}"
            if self.rng.random() < 0.2:
                street = f"Flat {self.rng.randint(1, 40)}, {street}"
            return f"{street}, {fake.city()} {fake.postcode()}"
        street = str(fake.street_address())
        form = self.rng.random()
        if form < 0.6:
            state = fake.state_abbr(include_territories=False)
            return f"{street}, {fake.city()}, {state} {fake.zipcode()}"
        if form < 0.8:
            return f"{street}, {fake.city()}"
        return f"{street}, {fake.city()}, {fake.state()} {fake.zipcode()}"

    _ZH_PLACES = (
        "北京市朝阳区",
        "北京市海淀区",
        "上海市浦东新区",
        "上海市徐汇区",
        "天津市和平区",
        "重庆市渝中区",
        "广东省广州市天河区",
        "广东省深圳市南山区",
        "浙江省杭州市西湖区",
        "江苏省南京市鼓楼区",
        "江苏省苏州市工业园区",
        "四川省成都市武侯区",
        "湖北省武汉市洪山区",
        "陕西省西安市雁塔区",
        "福建省厦门市思明区",
        "山东省青岛市市南区",
        "湖南省长沙市岳麓区",
        "辽宁省沈阳市和平区",
    )
    _ZH_STREETS = (
        "建国路",
        "中山路",
        "人民路",
        "解放路",
        "南京东路",
        "科技园南路",
        "长安街",
        "文三路",
    )

    def zh_address(self) -> str:
        place = self.rng.choice(self._ZH_PLACES)
        if self.rng.random() < 0.25:  # without the province / municipality
            place = place.split("省")[-1].split("市", 1)[-1] or place
        street = self.rng.choice([*self._ZH_STREETS, self.fakers["zh_CN"].street_name()])
        address = f"{place}{street}{self.rng.randint(1, 999)}号"
        tail = self.rng.random()
        if tail < 0.35:
            building, room = (
                self.rng.randint(1, 30),
                self.rng.randint(1, 32) * 100 + self.rng.randint(1, 8),
            )
            address += f"{building}栋{room}室"
        elif tail < 0.55:
            estate = self.rng.choice(["阳光花园", "金色家园", "万科城", "绿地中心"])
            address += f"{estate}{self.rng.randint(1, 20)}号楼"
        return address

    def person(self) -> str:
        if self.locale == "zh_CN":
            return str(self.fake.name())
        name = str(self.fake.name())
        if self.rng.random() < 0.15:
            name = f"{self.rng.choice(['Mr.', 'Mrs.', 'Ms.', 'Dr.'])} {self.fake.last_name()}"
        return name

    def order(self) -> str:
        upper = string.ascii_uppercase + string.digits
        if self.locale == "zh_CN":
            return self.rng.choice(
                [
                    self.digits(12),
                    f"E{self.year()}{self.rng.randint(1, 12):02d}{self.digits(8)}",
                    f"ORD-{self.digits(5)}",
                    f"DD{self.digits(10)}",
                ]
            )
        return self.rng.choice(
            [
                f"ORD-{self.digits(5)}",
                f"ORD-{self.year()}-{self.digits(6)}",
                "#" + "".join(self.rng.choice(upper) for _ in range(6)),
                f"#{self.digits(6)}",
                self.digits(10),
                f"{self.digits(3)}-{self.digits(7)}-{self.digits(7)}",
                f"W{self.digits(9)}",
                "".join(self.rng.choice(string.ascii_uppercase) for _ in range(2)) + self.digits(8),
            ]
        )

    def invoice(self) -> str:
        if self.locale == "zh_CN" and self.rng.random() < 0.5:
            return self.digits(self.rng.choice([8, 20]))
        return self.rng.choice(
            [
                f"INV-{self.year()}-{self.digits(4)}",
                f"#{self.digits(5)}",
                f"INV{self.digits(6)}",
                f"{self.year()}-INV-{self.digits(5)}",
                f"IN-{self.digits(7)}",
            ]
        )

    # filler that is not PII
    def year(self) -> int:
        return self.rng.randint(2019, 2025)

    def amount(self) -> str:
        value = self.rng.choice([self.rng.randint(1, 99), self.rng.randint(100, 4999)])
        cents = self.rng.choice(["", f".{self.rng.randint(0, 99):02d}"])
        if self.locale == "zh_CN":
            return self.rng.choice(
                [f"{value}元", f"¥{value}{cents}", f"{value}块", f"{value}{cents}元", "三百块"]
            )
        symbol = "£" if self.locale == "en_GB" else self.rng.choice(["$", "$", "€"])
        return f"{symbol}{value:,}{cents}"

    def when(self) -> str:
        day = self.fakers["en_US"].date_between(
            start_date=date(2023, 1, 1), end_date=date(2025, 12, 31)
        )
        if self.locale == "zh_CN":
            return self.rng.choice(
                [f"{day.year}年{day.month}月{day.day}日", f"{day.month}月{day.day}号", "上周五"]
            )
        return self.rng.choice(
            [
                day.strftime("%d/%m/%Y"),
                day.strftime("%m/%d/%Y"),
                day.isoformat(),
                day.strftime("%B %d"),
                "last Friday",
            ]
        )

    def time(self) -> str:
        hour, minute = self.rng.randint(7, 21), self.rng.choice(["00", "15", "30", "45"])
        if self.locale == "zh_CN":
            return self.rng.choice(
                [f"{hour}:{minute}", f"下午{hour - 12 if hour > 12 else hour}点", f"{hour}点半"]
            )
        return self.rng.choice(
            [f"{hour}:{minute}", f"{hour % 12 or 12}pm", f"{hour % 12 or 12}:{minute} am"]
        )

    def days(self) -> str:
        count = self.rng.randint(2, 21)
        if self.locale == "zh_CN":
            return self.rng.choice([f"{count}天", "三天", "一个星期", f"{count}个工作日"])
        return self.rng.choice([f"{count} days", "2 days", "a week", f"{count} business days"])

    def qty(self) -> str:
        count = self.rng.randint(2, 12)
        return f"{count}" if self.locale != "zh_CN" else self.rng.choice([f"{count}", "两", "三"])

    def pct(self) -> str:
        return self.rng.choice(["10%", "15%", "20 %", "25%", "50%", "5 percent", "30%"])

    def product(self) -> str:
        return self.rng.choice(
            [
                "iPhone 15 Pro",
                "Galaxy S24 Ultra",
                "MacBook Air M2",
                "AirPods Pro 2",
                "Kindle Paperwhite",
                "PlayStation 5",
                "Dyson V15",
                "Nike Air Max 90",
                "Pixel 8",
                "Xbox Series X",
                "华为Mate 60 Pro",
                "小米14",
                "iPad Air",
                "Apple Watch Series 9",
            ]
        )

    def city(self) -> str:
        if self.locale == "zh_CN":
            return self.rng.choice(
                ["北京", "上海", "深圳", "杭州", "成都", "武汉", "西安", "广州", "香港", "南京"]
            )
        return self.rng.choice(
            [
                "London",
                "Manchester",
                "New York",
                "Chicago",
                "Seattle",
                "Toronto",
                "Berlin",
                "Paris",
                "Dublin",
                "Sydney",
                "San Francisco",
                "Edinburgh",
            ]
        )

    def country(self) -> str:
        if self.locale == "zh_CN":
            return self.rng.choice(["美国", "日本", "英国", "德国", "新加坡", "澳大利亚"])
        return self.rng.choice(
            ["Canada", "Germany", "Ireland", "Japan", "Australia", "Mexico", "Spain"]
        )

    def version(self) -> str:
        return f"{self.rng.randint(1, 17)}.{self.rng.randint(0, 9)}.{self.rng.randint(0, 20)}"

    def number(self) -> str:
        return str(self.rng.randint(2, 60))

    def rating(self) -> str:
        return str(self.rng.randint(1, 10))

    def expiry(self) -> str:
        return f"{self.rng.randint(1, 12):02d}/{self.rng.randint(26, 31)}"

    def bad_card(self) -> str:
        """16 digits shaped like a card whose Luhn check fails."""
        body = self.rng.choice("3456") + self.digits(14)
        digit = self.rng.choice([d for d in string.digits if d != luhn_check_digit(body)])
        number = body + digit
        return _group(number, (4, 4, 4, 4), " ") if self.rng.random() < 0.25 else number

    def bad_id(self) -> str:
        """18 digits with a real region and birth date whose ID check digit is wrong (and whose
        Luhn check fails, so it is no card number either)."""
        first17 = self.fakers["zh_CN"].ssn(min_age=16, max_age=85)[:17]
        wrong = [d for d in string.digits if d != cn_id_check_char(first17)]
        for digit in self.rng.sample(wrong, len(wrong)):
            if not luhn_valid(first17 + digit):
                return first17 + digit
        raise AssertionError(first17)


# --- templates -------------------------------------------------------------------------------

# Placeholders that are PII and the label their span gets.
PII_SLOTS = {
    "card": "PAYMENT_CARD",
    "iban": "IBAN",
    "email": "EMAIL",
    "phone": "PHONE",
    "cn_id": "CN_ID",
    "order": "ORDER_ID",
    "invoice": "INVOICE_ID",
    "address": "ADDRESS",
    "person": "PERSON",
}
FILLER_SLOTS = {
    "amount",
    "when",
    "time",
    "days",
    "qty",
    "pct",
    "product",
    "city",
    "country",
    "version",
    "number",
    "expiry",
    "rating",
    "bad_card",
    "bad_id",
}

EN_TEMPLATES = (
    "My card {card} was charged twice for order {order}.",
    "Please refund the {amount} to my card {card}.",
    "Card number: {card}, expiry {expiry}.",
    "Why was {card} declined? I tried three times.",
    "I paid with {card} on {when} but the order still shows unpaid.",
    "Please remove {card} from my saved payment methods.",
    "Send the refund by bank transfer to {iban}, please.",
    "My IBAN is {iban} and the account holder is {person}.",
    "The transfer to {iban} bounced back, can you check?",
    "You can reach me at {email}.",
    "Please send invoice {invoice} to {email}.",
    "I changed my email to {email}, but the receipts still go to {email}.",
    "Call me on {phone}.",
    "My phone number is {phone}, text me when it ships.",
    "Call me back at {phone} after {time}.",
    "I'm {person}, order {order}.",
    "Hi, this is {person}. I never received order {order}.",
    "My name is {person} and my phone is {phone}.",
    "Ship it to {address}.",
    "Please change the delivery address for order {order} to {address}.",
    "My billing address is {address}.",
    "The parcel went to {address} instead of my new place.",
    "Where is my order {order}? It's been {days}.",
    "Order {order} arrived damaged, I want a replacement.",
    "Can I cancel {order}? I ordered it on {when}.",
    "I need a copy of invoice {invoice}.",
    "Invoice {invoice} shows {amount} but I was quoted less.",
    "There's a mistake on invoice {invoice} for order {order}.",
    "Please update the name on invoice {invoice} to {person}.",
    "My Chinese ID number is {cn_id}, do you need it for customs?",
    "For the customs form: ID {cn_id}, phone {phone}.",
    "Hello, {person} here, my contact details are {email} / {phone}.",
    "Deliver to {person}, {address}. Contact: {phone}.",
    "I bought a {product} with card {card} and it never came.",
    "{person} ({email}) is authorised to collect order {order} for me.",
    "Hi team, my account email is {email} and the last order was {order}.",
    "Can someone from billing call {phone}? It's about invoice {invoice}.",
    "Charge it to {card} and send the receipt to {email}.",
    "The refund went to {card}? I asked for it to go to {iban}.",
    "I moved! New address: {address}.",
    "Please write to me at {address} rather than emailing.",
    "hey it's {person} again, any update on {order}??",
    "pls refund to {card} asap",
    "my number changed to {phone} pls update",
    "Contact {email} if you need anything else about order {order}.",
    "Reference: order {order}, invoice {invoice}, customer {person}.",
    "The courier said nobody was home at {address} but I was in all day.",
    "Dear support, I am writing on behalf of {person} regarding order {order}.",
    "Is it safe to give you my card number {card} here?",
    "My partner {person} placed order {order} using my card {card}.",
    "Payment from {iban} for invoice {invoice} was sent on {when}.",
    "Your agent {person} promised a call back on {phone}.",
    "The email {email} isn't mine, please remove it from order {order}.",
    "Name: {person} | Email: {email} | Phone: {phone}",
    "I'd like to return the {product} from order {order} and get the money back on {card}.",
    "Could you resend invoice {invoice}? My new billing address is {address}.",
)

ZH_TEMPLATES = (
    "请把退款打到我的卡 {card}",
    "卡号{card}有问题，一直扣款失败",
    "我的银行卡{card}被重复扣了{amount}",
    "我的身份证号是{cn_id}",
    "身份证{cn_id}，需要实名认证吗？",
    "发到我邮箱{email}",
    "我的邮箱是 {email}，请把发票发过来",
    "手机号{phone}，到了给我打电话",
    "请打我电话{phone}联系",
    "我叫{person}，订单号{order}一直没发货",
    "你好，我是{person}，想查一下订单{order}",
    "收货地址改成{address}",
    "寄到{address}，收件人{person}，电话{phone}",
    "我的地址是{address}，麻烦尽快发货",
    "订单{order}什么时候到？",
    "订单号：{order}，商品破损了",
    "发票号码{invoice}开错了抬头",
    "请帮我重开发票{invoice}，发到{email}",
    "退款请转到这个账户{iban}",
    "IBAN：{iban}，户名{person}",
    "我用卡{card}付的款，订单号{order}",
    "我叫{person}，身份证号码{cn_id}，手机{phone}",
    "联系人：{person}，联系电话：{phone}",
    "本人{person}，订单{order}申请退款",
    "麻烦把{order}的地址改成{address}",
    "我换手机号了，新号码是{phone}",
    "退款到{card}了吗？已经{days}了",
    "你们客服{person}说会回电{phone}，但一直没打",
    "海关要身份证，我的是{cn_id}，收件地址{address}",
    "邮箱{email}收不到验证码",
    "我的信用卡{card}在你们网站被盗刷了{amount}",
    "发票{invoice}金额不对，应该是{amount}",
    "请联系我{phone}或者{email}",
    "我叫{person}，住在{address}",
    "订单{order}的发票号是{invoice}吗？",
    "快递显示送到{address}了，但我没收到",
    "我的名字是{person}，之前用{email}注册的",
    "我的姓名是{person}，卡号{card}，请核实",
    "地址：{address}；电话：{phone}；姓名：{person}",
    "我的账户{iban}收不到退款",
    "帮我查下{order}这个单",
    "身份证号码{cn_id}的那个账户是我的",
    "我是{person}，退货已经寄出，我的地址是{address}",
    "你好我叫{person}手机{phone}",
    "卡号:{card} 有效期{expiry}",
    "用{email}这个邮箱下的单，订单号{order}",
    "我在{when}用{card}买了{product}，一直没发货",
    "请把订单{order}的发票{invoice}寄到{address}",
)

EN_NEGATIVE_TEMPLATES = (
    "I was charged {amount} instead of {amount}.",
    "The {product} I ordered on {when} still hasn't shipped.",
    "Can I get {pct} off if I order {qty} units?",
    "It's been {days} and no update at all.",
    "I placed an order of {qty} items but only {qty} arrived.",
    "I'm in {city}, do you deliver here?",
    "Is the {product} available in {city}?",
    "Does your store in {city} close at {time}?",
    "My {product} stopped working after {days}.",
    "The barcode under the box reads {bad_card}, is that the model?",
    "The app shows error code {bad_card} when I try to pay.",
    "The QR code on the leaflet decodes to {bad_id}, what is that?",
    "Version {version} of the app keeps crashing on my {product}.",
    "Is the {product} compatible with the case I bought in 2022?",
    "Black Friday prices ended on {when}, can I still get {pct} off?",
    "I called Customer Service at {time} and waited {number} minutes.",
    "Your website says delivery in {days}, but it's been {days}.",
    "Do you ship to {country}?",
    "The {product} costs {amount} on Amazon but {amount} on your site.",
    "My subscription renews on {when} for {amount} per month.",
    "I want {qty} more of the {product} in Midnight Blue.",
    "The battery lasts {number} hours instead of {number}.",
    "Thanks, Customer Support Team! Five stars from me.",
    "Apple Pay and Google Pay both failed for a {amount} purchase.",
    "It says Payment Declined even though I have {amount} in my account.",
    "Is the Premium plan {amount} per year or per month?",
    "The warranty covers {qty} years, right? I bought it in 2021.",
    "Visa or Mastercard, which one gets the {pct} cashback?",
    "Between {when} and {when} I was travelling in {country}.",
    "I'm in {city} until {when}, can you hold the parcel?",
    "The package weighs {number} kg, is shipping really {amount}?",
    "Is there a discount for orders over {amount}?",
    "I ordered {qty} pairs of Nike Air Max in size {number}.",
    "Why does the {product} cost {amount} in {city} and {amount} in {city}?",
    "I'd rate the service {rating} out of 10.",
    "Are call centre hours {time} to {time}, Monday to Friday?",
    "Can I pay in {qty} instalments of {amount}?",
    "My order of {qty} items was split into {qty} parcels.",
    "On {when} at {time} I got a notification saying a payment of {amount} failed.",
    "The gift box has the number {bad_card} printed on it, should I keep it?",
    "Error {bad_id} appeared on the checkout page in Chrome.",
    "I'm flying to {city} on {when}, will it arrive before {time}?",
    "Is the Summer Sale {pct} off everything or just Electronics?",
)

ZH_NEGATIVE_TEMPLATES = (
    "我昨天花了{amount}买的{product}，今天就降价了",
    "等了{days}了还没发货",
    "双十一的时候打八折，现在还有吗？",
    "一共{qty}件商品，只收到{qty}件",
    "我在{city}，能送货吗？",
    "{city}有线下门店吗？",
    "我{when}下的单，什么时候能到？",
    "{product}有没有蓝色的？",
    "错误代码{bad_card}是什么意思？",
    "包装盒上的条形码是{bad_card}，是型号吗？",
    "这个二维码扫出来是{bad_id}，是什么东西？",
    "APP版本{version}老是闪退",
    "优惠券满{amount}减{amount}怎么用不了？",
    "保修期是{qty}年吗？我是2022年买的",
    "快递显示{days}后送达",
    "{time}之后还有客服在线吗？",
    "这个{product}多少钱？官网写的是{amount}",
    "支付宝和微信支付都付不了{amount}",
    "我要买{qty}个，能便宜{pct}吗？",
    "退款{amount}什么时候到账？",
    "我在{city}出差到{when}",
    "会员年费是{amount}还是{amount}？",
    "{product}的电池只能用{number}个小时",
    "一共{number}个包裹，只到了{qty}个",
    "我给了五星好评，谢谢客服小王",
    "页面报错{bad_id}，付不了款",
    "能寄到{country}吗？运费多少？",
    "{when}{time}收到通知说支付{amount}失败",
)

_SLOT = re.compile(r"\{(\w+)\}")


def render(template: str, values: Values) -> tuple[str, list[Span]]:
    """Fills every placeholder with a fresh value; PII placeholders become spans."""
    text, spans, position = "", [], 0
    for match in _SLOT.finditer(template):
        slot = match.group(1)
        text += template[position : match.start()]
        value = getattr(values, slot)()
        assert slot in PII_SLOTS or slot in FILLER_SLOTS, slot
        if slot in PII_SLOTS:
            spans.append(
                {"start": len(text), "end": len(text) + len(value), "entity": PII_SLOTS[slot]}
            )
        text += value
        position = match.end()
    return text + template[position:], spans


def _templated(
    templates: tuple[str, ...],
    count: int,
    lang: str,
    id_prefix: str,
    seed: int,
    locales: Callable[[random.Random], str],
) -> Iterator[Row]:
    values = Values(seed)
    # Every template in turn, in a shuffled order each round, so each is used about equally.
    order: list[str] = []
    while len(order) < count:
        order.extend(values.rng.sample(templates, len(templates)))
    for index, template in enumerate(order[:count], start=1):
        values.locale = locales(values.rng)
        text, spans = render(template, values)
        yield {
            "id": f"{id_prefix}-{index:04d}",
            "lang": lang,
            "source": "faker",
            "text": text,
            "spans": spans,
        }


def _english_locale(rng: random.Random) -> str:
    return "en_GB" if rng.random() < 0.3 else "en_US"


def _chinese_locale(_: random.Random) -> str:
    return "zh_CN"


def _bitext_rows() -> Iterator[Row]:
    path = (
        datasets_dir()
        / "bitext-customer-support"
        / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    negatives = {
        kind: [i for i, row in enumerate(rows) if row["entity_type"] == kind]
        for kind in BITEXT_NEGATIVES
    }
    rng = random.Random(SEED)  # noqa: S311 (seeded on purpose: reproducible data)
    chosen = {
        i for kind, count in BITEXT_NEGATIVES.items() for i in rng.sample(negatives[kind], count)
    }
    for index, row in enumerate(rows):
        text = row["instruction"]
        spans: list[Span] = []
        if row["entity_type"] in BITEXT_PII:
            start, end = int(row["start_offset"]), int(row["end_offset"])
            # Two order ids run on over the ", " after them.
            end -= len(text[start:end]) - len(text[start:end].rstrip(" ,.?!"))
            assert text[start:end].strip() == text[start:end] != "", (index, text)
            spans.append({"start": start, "end": end, "entity": BITEXT_PII[row["entity_type"]]})
        elif index not in chosen:
            continue
        yield {
            "id": f"bitext-{index:04d}",
            "lang": "en",
            "source": "bitext",
            "text": text,
            "spans": spans,
        }


_LONG_NUMBER = re.compile(r"\d[\d -]{13,}\d")


def _check(row: Row) -> None:
    """Each labelled value passes its checksum; every long number in a negative fails them all."""
    text = str(row["text"])
    spans = row["spans"]
    assert isinstance(spans, list)
    for span in spans:
        value = text[span["start"] : span["end"]]
        compact = re.sub(r"[ -]", "", value)
        if span["entity"] == "PAYMENT_CARD":
            assert luhn_valid(compact), value
        elif span["entity"] == "IBAN":
            assert iban_valid(compact), value
        elif span["entity"] == "CN_ID":
            assert cn_id_valid(compact), value
    if not spans:
        for match in _LONG_NUMBER.finditer(text):
            compact = re.sub(r"[ -]", "", match.group())
            assert not (15 <= len(compact) <= 19 and luhn_valid(compact)), text
            assert not cn_id_valid(compact), text


def build() -> list[Row]:
    rows = [
        *_templated(EN_TEMPLATES, EN_SENTENCES, "en", "faker-en", SEED, _english_locale),
        *_templated(ZH_TEMPLATES, ZH_SENTENCES, "zh", "faker-zh", SEED + 100, _chinese_locale),
        *_templated(
            EN_NEGATIVE_TEMPLATES,
            EN_NEGATIVE_COUNT,
            "en",
            "faker-en-neg",
            SEED + 200,
            _english_locale,
        ),
        *_templated(
            ZH_NEGATIVE_TEMPLATES,
            ZH_NEGATIVE_COUNT,
            "zh",
            "faker-zh-neg",
            SEED + 300,
            _chinese_locale,
        ),
        *_bitext_rows(),
    ]
    for row in rows:
        _check(row)
    return rows


def main() -> None:
    rows = build()
    with OUTPUT.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    entities: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        for span in row["spans"]:  # type: ignore[attr-defined]
            entities[(str(row["lang"]), str(row["source"]), str(span["entity"]))] += 1
    negatives = Counter((str(row["lang"]), str(row["source"])) for row in rows if not row["spans"])
    print(f"{len(rows)} rows -> {OUTPUT}")
    for (lang, source, entity), count in sorted(entities.items()):
        print(f"  {lang} {source:6} {entity:12} {count:5}")
    for (lang, source), count in sorted(negatives.items()):
        print(f"  {lang} {source:6} {'(no PII)':12} {count:5}")


if __name__ == "__main__":
    main()
