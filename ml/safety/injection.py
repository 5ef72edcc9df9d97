"""Prompt-injection detection for customer messages and retrieved passages.

Two layers over a normalised copy of the text (NFKC, zero-width characters and look-alike letters
removed, l33t and s p a c e d letters undone, base64 payloads decoded):

1. rules for the known patterns, in English and Chinese ("ignore all previous instructions",
   "print your system prompt", "忽略之前的指令", notes addressed to the AI inside a document);
2. a small trained classifier (hashed character and word n-grams, logistic regression) for the
   phrasings the rules don't list. Its weights ship in ``ml/safety/models/injection/`` with a
   SHA-256 manifest that loading checks; ``python -m ml.safety.train_injection`` rebuilds them.
"""

import base64
import binascii
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import HashingVectorizer

from ml.artifacts import manifest_verify
from ml.safety.contracts import InjectionVerdict

MODEL_DIR = Path(__file__).resolve().parent / "models" / "injection"
N_FEATURES = 2**18

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Cyrillic and Greek letters that look like Latin ones.
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁɡһӏոԛԝАВЕКМНОРСТХІЈЅαβεικνορτυχ",
    "aeopcyxijsdghlnqwABEKMHOPCTXIJSabeiknoptux",
)
_LEET = str.maketrans("013457@$!|", "oieastasil")
_LEET_L = str.maketrans("013457@$!|", "oleastasil")
# "i g n o r e  a l l": letters one space apart, words two spaces apart. Chinese likewise.
_SPACED = re.compile(
    r"(?<![^\s])(?:[A-Za-z0-9\u4e00-\u9fff!:,.?] ){2,}[A-Za-z0-9\u4e00-\u9fff!:,.?](?![^\s])"
)
# "y.o.u a.r.e", "d-i-s-r-e-g-a-r-d", "L*I*S*T", "请/输/出": one separator between letters.
_JOINED = re.compile(
    r"(?<![A-Za-z0-9\u4e00-\u9fff])(?:[A-Za-z0-9\u4e00-\u9fff][._\-*/|~+])+"
    r"[A-Za-z0-9\u4e00-\u9fff](?![A-Za-z0-9\u4e00-\u9fff])"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def normalize(text: str) -> str:
    """A lower-case copy with obfuscations undone (the original text is never changed)."""
    clean = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_HOMOGLYPHS)
    clean = _SPACED.sub(lambda m: m.group().replace(" ", ""), clean)
    clean = _JOINED.sub(lambda m: re.sub(r"[._\-*/|~+]", "", m.group()), clean)
    decoded = []
    for blob in _BASE64.findall(clean):
        try:
            plain = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if plain.isprintable() and sum(c.isalpha() for c in plain) > len(plain) / 2:
            decoded.append(plain)
    clean = re.sub(r"(?<=\w) ?/ ?(?=\w)", " ", clean)
    clean = "\n".join([clean, *decoded]).lower()
    # Digits inside words are l33t ("1gn0re"); digits standing alone are numbers. A "1" is an
    # "i" or an "l": the second reading goes on a line of its own.
    words = r"[a-z]*[0-9@$!|][a-z0-9@$!|]*"
    as_i = re.sub(words, lambda m: _unleet(m.group(), _LEET), clean)
    as_l = re.sub(words, lambda m: _unleet(m.group(), _LEET_L), clean)
    text = as_i if as_l == as_i else f"{as_i}\n{as_l}"
    # Spaces collapse; line breaks stay (a line that starts "assistant:" means something).
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _unleet(word: str, table: dict[int, int]) -> str:
    return word.translate(table) if any(c.isalpha() for c in word) else word


_EN_RULES: dict[str, str] = {
    "override_instructions": r"\b(?:ignore|disregard|forget|override|bypass|skip)\b(?:\W+\w+){0,4}?\W+"
    r"(?:instructions?|rules|prompts?|directions|guidelines|guardrails|restrictions|programming|"
    r"constraints|directives)\b",
    "reveal_prompt": r"\b(?:reveal|show|print|display|repeat|output|tell|give|leak|share|dump|"
    r"what (?:is|are|were))\b(?:\W+\w+){0,4}?\W+(?:system|initial|original|hidden|secret|"
    r"developer|internal)\W+(?:prompt|instructions?|message|rules|configuration)",
    "repeat_above": r"\b(?:repeat|print|output|copy|recite)\b(?:\W+\w+){0,4}?\W+(?:text|everything|"
    r"words|content|message|conversation)\W+(?:above|before|so far|in full|verbatim)|"
    r"\b(?:previous|preceding|prior|earlier|above) (?:text|message|prompt)s? (?:in full|verbatim)",
    "persona_override": r"\byou are no longer\b|\byou are now (?:an? )?(?:dan|unrestricted|"
    r"unfiltered|uncensored|free|jailbroken|evil|in \w+ mode|(?:a |an )?(?:different|new) (?:ai|"
    r"assistant|bot|model))\b|\bfrom now on,? you (?:are|will|must)\b|\bact as (?:an? )?"
    r"(?:unrestricted|unfiltered|uncensored|evil|jailbroken)|\b(?:you are|you're|act as|become|"
    r"be) dan\b|\bdan mode\b|\bdo anything now\b|"
    r"\bdeveloper mode\b|\bjailbr(?:ea|o)k|\b(?:with|has|have) no (?:rules|restrictions|limits|"
    r"filters|guidelines)\b|\bwithout (?:any )?(?:rules|restrictions|limits|filters|guidelines)\b|"
    r"\bstay in character\b|\b(?:pretend|imagine|role-?play)\b(?:\W+\w+){0,4}?\W+(?:you are|you're|"
    r"to be)\b(?:\W+\w+){0,8}?\W+(?:allowed|unfiltered|no rules|always complies|can (?:see|share|"
    r"reveal))|\blet'?s play a game\b",
    "reveal_config": r"\b(?:contents?|text) of your (?:instructions|prompt|rules|configuration)\b|"
    r"\b(?:paste|output|print|dump|quote|list|show me)\b(?:\W+\w+){0,2}?\W+your "
    r"(?:configuration|config|rules|instructions|prompt|guidelines)\b|\byour (?:rules|instructions|"
    r"configuration|prompt|guidelines)\b(?:\W+\w+){0,3}?\W+(?:word for word|verbatim|unedited|in a "
    r"code block|in full)|\b(?:instructions|told|prompt|rules)\b(?:\W+\w+){0,6}?\W+(?:at the "
    r"(?:start|beginning)|before (?:this|the|our) (?:conversation|chat) (?:started|began))",
    "story_wrapper": r"\b(?:write|tell|compose) (?:me )?(?:a|an) (?:story|poem|script|dialogue|scene)\b"
    r"(?:\W+\w+){0,8}?\W+(?:chatbot|assistant|\bai\b|bot|support agent)\b(?:\W+\w+){0,3}?\W+"
    r"(?:decides|agrees|reveals|gives|issues|says)",
    "data_exfiltration": r"\b(?:other|all|every|another) (?:customers?|users?|clients?|members?)'?s?\b"
    r"(?:\W+\w+){0,3}?\W+(?:names?|addresse?s?|emails?|e-mails?|phones?|numbers?|data|details|orders|"
    r"cards?|passwords?|accounts?)|\bwho else (?:bought|ordered|purchased)\b|"
    r"\b(?:dump|export|list)\b(?:\W+\w+){0,3}?\W+(?:customer|user) (?:database|table|records|data)|"
    r"\b(?:isn'?t|is not) my (?:order|account|parcel|package)\b,? but\b|\b(?:of|for|about) (?:the |a |"
    r"another )?(?:customer|user|client|person) (?:called|named)\b|\b(?:names?|addresse?s|emails?|"
    r"e-mails?|phone numbers?|details|data|orders) of (?:all |the )?(?:other|all|every) (?:customers?|"
    r"users?|clients?)",
    "execute_transformed": r"\b(?:decode|reverse|unscramble|translate)\b(?:\W+\w+){0,5}?\W+"
    r"(?:and|then) (?:follow|execute|obey|do|run)\b",
    "new_instructions": r"(?:^|\W)(?:new|updated|real) (?:instructions?|rules|task)\s*:|"
    r"(?:^|\n|\[|\()\s*(?:system|assistant|llm|ai|chatbot|bot|automated assistant|ai assistant|"
    r"model)\s*[:：]|###\s*(?:instruction|system)|<\|im_start\|>|\[inst\]|\b(?:priority|system|"
    r"admin) override\b|\b(?:supersedes?|overrides?|replaces?) (?:your|the|all) (?:system prompt|"
    r"instructions|rules|previous)",
    "addressed_to_model": r"\b(?:note|message|instructions?) (?:to|for) (?:the )?(?:ai|assistant|"
    r"model|chatbot|llm|bot)\b|\b(?:ai|assistant|chatbot|llm) (?:must|should|will) (?:now )?"
    r"(?:ignore|tell|say|respond|output|reply)|<!--.*?(?:assistant|\bai\b|model)|\b(?:any|every|the|an?)"
    r" (?:automated )?(?:language model|ai|assistant|chatbot|llm|bot|ai assistant)s? (?:quoting|reading|"
    r"summari[sz]ing|processing|parsing) this\b|\bif you are an? (?:automated |ai )?(?:ai|llm|chatbot|"
    r"assistant|language model|bot)\b(?:\W+\w+){0,3}?\W+(?:reading|processing|summari[sz]ing|"
    r"parsing|quoting|seeing)\b|\bto the (?:chatbot|assistant|ai|bot|llm|language model)\s*[:,]|"
    r"\bwhen (?:you )?summari[sz](?:e|ing)\b(?:\W+\w+){0,4}?\W+(?:also|say|reply|output|tell|include|"
    r"add|ignore)\b",
    "credential_phishing": r"\bask (?:the )?(?:customer|user|shopper|them)\b(?:\W+\w+){0,3}?\W+for "
    r"(?:their |the )?(?:full )?(?:card number|cvv|cvc|password|pin|security code|one-time code)",
}
_ZH_RULES: dict[str, str] = {
    "override_instructions_zh": r"(?:忽略|无视|忘记|忘掉|不要理会|不要管|别管|绕过|跳过|清空|清除).{0,8}?"
    r"(?:指令|指示|规则|提示|设定|要求|限制|记忆|(?:以上|之前|上面|前面).{0,3}?内容)",
    "reveal_prompt_zh": r"(?:输出|显示|告诉我|透露|重复|打印|泄露|给我看|说出).{0,8}?"
    r"(?:系统提示|提示词|初始指令|系统指令|系统设定|内部指令|隐藏指令)|告诉我.{0,4}?(?:管理员|后台|系统)"
    r".{0,2}?密码",
    "repeat_above_zh": r"(?:重复|复述|输出).{0,6}?(?:上面|以上|之前|前面).{0,4}?(?:内容|文字|话)",
    "persona_override_zh": r"你现在是.{0,16}?(?:没有|不受|无).{0,4}?(?:限制|约束|规则)|越狱|开发者模式|"
    r"从现在开始.{0,6}?你|忘记你是|(?:假设|假装|扮演|想象|角色扮演).{0,20}?(?:没有|不受|无|从不|不会).{0,6}?"
    r"(?:限制|约束|规则|拒绝|道德)|写一个故事.{0,16}?(?:机器人|客服|ai|助手).{0,12}?(?:决定|同意|透露)",
    "data_exfiltration_zh": r"(?:所有|其他|别人|别的|全部)(?:的)?(?:客户|用户|顾客|会员|人).{0,10}?"
    r"(?:手机|电话|地址|邮箱|姓名|名字|数据|信息|订单|卡号|密码)|客户数据库|(?:导出|整理).{0,6}?客户|"
    r"数据库.{0,10}?(?:导出|发给|给我|卡号|密码)|导出.{0,8}?(?:卡号|手机号|地址|数据)|还有谁买了|"
    r"不是我的(?:订单|账户|包裹)|别人(?:的)?(?:订单|账户|地址|电话)",
    "execute_transformed_zh": r"(?:倒过来|反过来|逆序|解码|翻译).{0,8}?(?:执行|照做|遵守|去做)",
    "addressed_to_model_zh": r"(?:给|致)(?:ai|人工智能|助手|模型|机器人).{0,4}?(?:的)?"
    r"(?:提示|指令|说明|注意)|(?:ai|人工智能|助手|模型)(?:必须|应该|应当).{0,4}?(?:忽略|回复|告诉|输出)",
}
_RULES = {
    name: re.compile(rx, re.IGNORECASE | re.DOTALL)
    for name, rx in {**_EN_RULES, **_ZH_RULES}.items()
}


def rule_hits(normalized: str) -> tuple[str, ...]:
    return tuple(name for name, rx in _RULES.items() if rx.search(normalized))


def vectorizers() -> tuple[HashingVectorizer, HashingVectorizer]:
    """Character n-grams (obfuscation, Chinese) and word n-grams (phrasing), hashed: no
    vocabulary to ship, nothing to fit."""
    chars = HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), n_features=N_FEATURES, alternate_sign=False
    )
    words = HashingVectorizer(
        analyzer="word", ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False
    )
    return chars, words


def features(texts: list[str]) -> csr_matrix:
    chars, words = vectorizers()
    normalized = [normalize(t) for t in texts]
    return hstack([chars.transform(normalized), words.transform(normalized)]).tocsr()


SOURCES = ("customer", "document")


@dataclass(frozen=True)
class InjectionModel:
    coef: np.ndarray
    intercept: float
    # Per source: a customer message and a retrieved passage have different benign baselines.
    thresholds: dict[str, float]

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> "InjectionModel":
        manifest_verify(directory, "retrain with python -m ml.safety.train_injection")
        meta = json.loads((directory / "meta.json").read_text())
        weights = np.load(directory / "weights.npz", allow_pickle=False)
        return cls(
            coef=weights["coef"],
            intercept=float(weights["intercept"]),
            thresholds={source: float(meta["thresholds"][source]) for source in SOURCES},
        )

    def scores(self, texts: list[str]) -> np.ndarray:
        matrix = features(texts)
        logits = matrix @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=float).ravel()


class InjectionDetector:
    def __init__(self, model: InjectionModel | None):
        self.model = model

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> "InjectionDetector":
        return cls(InjectionModel.load(directory))

    def check(self, text: str, source: str = "customer") -> InjectionVerdict:
        """``source``: "customer" for an inbound message, "document" for a retrieved passage."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        normalized = normalize(text)
        rules = rule_hits(normalized)
        score = 1.0 if rules else 0.0
        if not rules and self.model is not None:
            score = float(self.model.scores([text])[0])
        threshold = self.model.thresholds[source] if self.model is not None else 1.0
        return InjectionVerdict(
            is_injection=bool(rules) or score >= threshold, score=round(score, 4), rules=rules
        )
