"""Conversation control: the parts of a message that run the conversation rather than ask about
the workspace's business, understood in every workspace without training, in English and Chinese.

    "hi there, my card was stolen" -> greet, rest "my card was stolen" (the rest is routed as usual)
    "thx bye"                      -> thank (nothing else: answered as conversation)
    "are you a bot?"               -> ask_bot
    "get me your manager NOW"      -> ask_human (angry)
    "never mind"                   -> cancel (leaves a flow under way)
    "你好" / "谢谢" / "转人工"      -> greet / thank / ask_human, language zh

``control_read`` is pure and rule-based on purpose: these acts are few, closed and the same in
every company, a workspace's intent model is trained on its business only (so it reads "hello" as
whichever intent is nearest), and a rule can be tested alone. Words are matched after folding
case, repeated letters ("hiiii", "thanksss") and one typo in a longer word ("thnaks"). The acts:

- ``greet``, ``thank``, ``bye``, ``ack`` ("ok", "cool", "got it"), ``affirm``, ``deny``: only when
  nothing else is said; a greeting or thanks around a question is dropped from ``rest``;
- ``ask_bot`` ("are you a real person?"), ``capabilities`` ("what can you do?");
- ``ask_human``: a person, agent, human, manager or supervisor asked for, or the bot insulted
  ("this bot is useless"), never a question whether the bot is a person;
- ``cancel``: a short "cancel", "stop", "never mind", "forget it".
"""

import re
from dataclasses import dataclass

ACTS = (
    "greet",
    "thank",
    "bye",
    "ack",
    "affirm",
    "deny",
    "ask_bot",
    "capabilities",
    "ask_human",
    "cancel",
)

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_PERSON = r"(?:human|person|agent|representative|rep|operator|staff(?:\s+member)?|someone|somebody)"
HANDOFF_WORDS = re.compile(
    # "talk to a (customer service) person", "chat with somebody"
    rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|the\s+|some\s+)?(?:\w+\s+){{0,2}}?{_PERSON}\b"
    # "put me through to an agent", "transfer me to a human", "get me a person"
    rf"|\b(?:get|put|transfer|pass|connect|switch|send)\s+me\s+"
    rf"(?:to\s+|(?:through|thru|thro)\s+to\s+|(?:through|thru)\s+|with\s+)?"
    rf"(?:a\s+|an\s+|the\s+)?(?:\w+\s+){{0,2}}?{_PERSON}\b"
    r"|\b(?:human|live|real)\s+(?:agent|person|being|representative|rep)\b|\bhuman\b"
    r"|^\s*(?:operator|agent|representative)(?:\s+please)?\s*[.!?]*\s*$"
    r"|转人工|人工客服|找人工|真人",
    re.IGNORECASE,
)
# "Are you a human?" is a question about the bot, not a request for a person.
ASKS_IF_HUMAN = re.compile(
    r"\b(?:are\s+you|you\s+are|you'?re|regard\s+you|"
    r"am\s+i\s+(?:talking|speaking|chatting)\s+(?:to|with))\b.{0,20}"
    r"\b(?:human|real|person|bot|ai|robot|machine)\b",
    re.IGNORECASE,
)


def asks_for_person(text: str) -> bool:
    """Words asking for a person, outside any question about whether the bot is one ("are you
    a human? put me through to a person" asks; "am I talking to a bot?" doesn't)."""
    return bool(HANDOFF_WORDS.search(ASKS_IF_HUMAN.sub(" ", text)))


# Phrases per act, in the order they are tried (longest first within an act is not needed: the
# matcher takes the longest phrase at each position).
_EN: dict[str, tuple[str, ...]] = {
    "greet": (
        "hi",
        "hello",
        "helo",
        "hellow",
        "hii",
        "hai",
        "hey",
        "heyy",
        "heya",
        "hiya",
        "howdy",
        "yo",
        "hallo",
        "hola",
        "greetings",
        "good morning",
        "good afternoon",
        "good evening",
        "good day",
        "morning",
        "afternoon",
        "evening",
        "hi there",
        "hello there",
        "hey there",
        "dear team",
        "dear support",
        "hi team",
        "hello team",
        "hi support",
        "how are you",
        "how are you doing",
        "how r u",
        "how are u",
        "hope you are well",
        "hope you're well",
        "i hope you are well",
        "i hope you're well",
        "hope you are doing well",
        "i hope you are doing well",
        "hope all is well",
        "i have a question",
        "i have a quick question",
        "i've got a question",
        "i got a question",
        "got a question",
        "quick question",
        "one question",
        "can i ask something",
        "can i ask you something",
        "can i ask a question",
        "anyone there",
        "is anyone there",
        "anybody there",
        "you there",
        "are you there",
    ),
    "thank": (
        "thanks",
        "thank you",
        "thank u",
        "thankyou",
        "thx",
        "thnx",
        "tnx",
        "ty",
        "tysm",
        "tyvm",
        "thanks a lot",
        "thanks so much",
        "thank you so much",
        "thank you very much",
        "thanks very much",
        "many thanks",
        "much appreciated",
        "appreciate it",
        "i appreciate it",
        "cheers",
        "that helps",
        "that helped",
        "that was helpful",
        "very helpful",
        "helpful",
    ),
    "bye": (
        "bye",
        "goodbye",
        "good bye",
        "bye bye",
        "byebye",
        "see you",
        "see ya",
        "cya",
        "later",
        "talk later",
        "have a nice day",
        "have a good day",
        "have a great day",
        "good night",
        "thats all",
        "that is all",
        "that's all",
        "that's it",
        "thats it",
        "nothing else",
        "no more questions",
        "im done",
        "i'm done",
        "all done",
        "all good",
    ),
    "ack": (
        "ok",
        "okay",
        "okey",
        "k",
        "kk",
        "cool",
        "great",
        "perfect",
        "nice",
        "awesome",
        "excellent",
        "got it",
        "gotcha",
        "alright",
        "all right",
        "fine",
        "sounds good",
        "understood",
        "i see",
        "makes sense",
        "noted",
        "wonderful",
        "brilliant",
        "lovely",
        "sweet",
        "good",
        "ah",
        "oh",
        "right",
    ),
    "affirm": (
        "yes",
        "yeah",
        "yep",
        "yup",
        "ya",
        "yea",
        "sure",
        "correct",
        "please do",
        "go ahead",
    ),
    "deny": ("no", "nope", "nah", "no thanks", "no thank you", "not really", "not now"),
    "cancel": (
        "cancel",
        "cancel that",
        "cancel it",
        "stop",
        "stop it",
        "never mind",
        "nevermind",
        "nvm",
        "forget it",
        "forget about it",
        "forget that",
        "quit",
        "abort",
        "scratch that",
        "leave it",
        "dont bother",
        "don't bother",
        "i changed my mind",
        "changed my mind",
    ),
}
_ZH: dict[str, tuple[str, ...]] = {
    "greet": (
        "你好",
        "您好",
        "嗨",
        "哈喽",
        "哈啰",
        "早上好",
        "下午好",
        "晚上好",
        "早",
        "在吗",
        "在不在",
        "有人吗",
        "请问",
        "你好啊",
        "您好啊",
    ),
    "thank": ("谢谢", "多谢", "感谢", "谢了", "谢谢你", "谢谢您", "非常感谢", "太感谢了", "辛苦了"),
    "bye": ("再见", "拜拜", "没事了", "没有了", "就这样", "没别的了", "好的再见"),
    "ack": ("好的", "好", "知道了", "明白了", "明白", "行", "嗯", "嗯嗯", "可以", "了解", "收到"),
    "affirm": ("是", "是的", "对", "对的", "没错", "确认", "确定"),
    "deny": ("不", "不是", "不用", "不要", "不用了", "不对"),
    "cancel": ("取消", "算了", "不用了", "停", "停止", "不要了"),
}
# Filler around the acts: "oh ok thanks so much!!" is still a thanks.
_FILLER_EN = {
    "so",
    "very",
    "much",
    "a",
    "lot",
    "again",
    "then",
    "and",
    "for",
    "the",
    "help",
    "your",
    "ur",
    "you",
    "u",
    "bot",
    "mate",
    "man",
    "guys",
    "all",
    "everyone",
    "please",
    "pls",
    "plz",
    "just",
    "well",
    "um",
    "umm",
    "uh",
    "hmm",
    "ah",
    "oh",
    "that",
    "it",
    "now",
    "too",
    "info",
    "information",
    "answer",
    "there",
    "sir",
    "madam",
    "friend",
    "buddy",
    "folks",
    "dear",
    "earlier",
    "before",
    "today",
    "everything",
    "really",
    "once",
    "btw",
    "by",
    "way",
    "anyway",
    "anyways",
    "lol",
    "haha",
    "hahaha",
    "lmao",
    "phew",
    "wow",
    "oops",
    "ahh",
    "aha",
    "yay",
    "ugh",
    "meh",
    "hm",
    "alrighty",
    "sorry",
    "xd",
}
_FILLER_ZH_CHARS = set("啊呀哦哈吧呢了的啦你您客服小助手")

_ASK_BOT = re.compile(
    r"\b(?:are|r)\s+(?:you|u|ya)\s+(?:a\s+|an\s+|even\s+|really\s+|just\s+)*"
    r"(?:bot|robot|ai|machine|computer|chatbot|real|human|person|program|automated|live)\b"
    r"|\b(?:is\s+this|this\s+is)\s+(?:a\s+|an\s+|just\s+)*(?:bot|robot|ai|chatbot|automated|"
    r"machine|real\s+person|human|live\s+chat)\b"
    r"|\bam\s+i\s+(?:talking|speaking|chatting|texting)\s+(?:to|with)\s+(?:a\s+|an\s+)?"
    r"(?:bot|robot|machine|computer|ai|human|real|person|(?:some|any)(?:one|body)\s+real)\b"
    r"|\bwho\s+(?:am\s+i|is\s+this)\s+(?:talking|speaking|chatting)\b|\bwho\s+are\s+(?:you|u)\b"
    r"|\bwhat\s+are\s+(?:you|u)\b|\bare\s+(?:you|u)\s+(?:a\s+)?(?:bot|human)\s+or\b",
    re.IGNORECASE,
)
_ASK_BOT_ZH = re.compile(r"(?:是|是不是)(?:机器人|真人|人工智能|AI|ai|自动回复|人类)|你是谁")
_CAPABILITIES = re.compile(
    r"\bwhat\s+(?:can|do|could)\s+(?:you|u)\s+(?:do|help(?:\s+(?:me\s+)?with)?)\b"
    r"|\bhow\s+can\s+(?:you|u)\s+help\b|\bwhat\s+(?:are\s+)?(?:your\s+)?options\b"
    r"|^\s*(?:help|menu|options|help\s+me|i\s+need\s+help|can\s+you\s+help(?:\s+me)?)\s*[.!?]*\s*$",
    re.IGNORECASE,
)
_CAPABILITIES_ZH = re.compile(r"你(?:能|会|可以)(?:做|干|帮)(?:什么|啥)|有什么功能|能帮我什么")
_MANAGER = re.compile(
    r"\b(?:manager|supervisor|superior|boss|someone\s+in\s+charge|somebody\s+in\s+charge|"
    r"person\s+in\s+charge|escalate|escalation|real\s+(?:person|human|people|agent)|"
    r"actual\s+(?:person|human|people|agent)|live\s+(?:person|agent|chat\s+agent)|"
    r"human\s+being|customer\s+service\s+(?:rep|representative|agent))\b",
    re.IGNORECASE,
)
_INSULT = re.compile(
    r"\b(?:useless|stupid|dumb|pointless|worthless|terrible|idiot|garbage|rubbish|crap|"
    r"hopeless|not\s+helping|not\s+helpful|doesn'?t\s+help|dont\s+help|don'?t\s+understand\s+me|"
    r"you\s+don'?t\s+get\s+it)\b.{0,20}\b(?:bot|robot|machine|ai|thing|chat)\b"
    r"|\b(?:bot|robot|machine|ai|chatbot|you)\s+(?:is|are|r)\s+(?:so\s+|completely\s+|totally\s+)?"
    r"(?:useless|stupid|dumb|pointless|worthless|hopeless|garbage|rubbish|not\s+helping)\b",
    re.IGNORECASE,
)
_HUMAN_ZH = re.compile(
    r"人工|真人|客服人员|找经理|经理|主管|投诉|转接|活人|人工服务|真正的人|找人|和人说|跟人说|"
    r"机器人(?:太|真)?(?:没用|垃圾|笨)"
)
_ANGRY = re.compile(r"!{2,}|\b(?:now|immediately|asap|ridiculous|unacceptable|wtf|fed up)\b", re.I)


@dataclass(frozen=True)
class ControlAct:
    act: str | None  # one of ACTS, or None: the message is about the business
    language: str  # "en" or "zh"
    rest: str  # the message without its greeting or thanks: what NLU should read
    angry: bool = False
    opened: str | None = None  # an act that wrapped a real question ("hi, ..." -> greet)


def language_of(text: str) -> str:
    """``zh`` when the message is written in Chinese characters, else ``en``."""
    cjk = len(CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 2 >= latin / 3 else "en"


def fold(word: str) -> str:
    return re.sub(r"(.)\1{2,}", r"\1", word.lower().replace("’", "'"))


def near(word: str, target: str) -> bool:
    """Equal, or one edit apart: a letter changed or swapped in a word of five letters or more
    ("thnaks"), one left out or added where the shorter has four ("ordr", "trak"); "help" is
    never "helo"."""
    if word == target:
        return True
    if abs(len(word) - len(target)) > 1 or min(len(word), len(target)) < (
        5 if len(word) == len(target) else 4
    ):
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


_PHRASES_EN = sorted(
    ((tuple(fold(w) for w in phrase.split()), act) for act, ps in _EN.items() for phrase in ps),
    key=lambda pa: -len(pa[0]),
)


def _spans_en(words: list[str]) -> list[tuple[int, int, str]]:
    """Runs of words that are acts or filler, as (start, end, act or "")."""
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        for phrase, act in _PHRASES_EN:
            if len(phrase) <= len(words) - i and all(
                near(w, p) for w, p in zip(words[i : i + len(phrase)], phrase, strict=False)
            ):
                spans.append((i, i + len(phrase), act))
                i += len(phrase)
                break
        else:
            if words[i] in _FILLER_EN:
                spans.append((i, i + 1, ""))
                i += 1
            else:
                spans.append((i, i + 1, "?"))
                i += 1
    return spans


def _only_acts(spans: list[tuple[int, int, str]]) -> list[str]:
    return [act for _, _, act in spans if act and act != "?"]


def _strip_en(text: str) -> tuple[list[str], str]:
    """The acts the message opens and closes with, and the rest of the text (original words)."""
    tokens = re.findall(r"[\w']+|[^\w\s]", text)
    words = [fold(t) for t in tokens if re.match(r"[\w']", t)]
    spans = _spans_en(words)
    if all(act != "?" for _, _, act in spans):
        return _only_acts(spans), ""
    first = next(i for i, (_, _, act) in enumerate(spans) if act == "?")
    last = max(i for i, (_, _, act) in enumerate(spans) if act == "?")
    # Only greetings and thanks (with filler) come off a question's edges: "ok so how do I ..."
    # keeps its "ok"-less rest, "no, the other card" keeps its "no".
    edges = {"greet", "thank", "bye", "ack", ""}
    head = spans[:first]
    tail = spans[last + 1 :]
    if not all(act in edges for _, _, act in head):
        head, first = [], 0
    if not all(act in edges for _, _, act in tail):
        tail, last = [], len(spans) - 1
    acts = _only_acts(head) + _only_acts(tail)
    if not acts:
        return [], text.strip()
    start_word = spans[first][0]
    end_word = spans[last][1]
    # Map word positions back to the original text.
    positions = [m.span() for m in re.finditer(r"[\w']+", text)]
    begin = positions[start_word][0]
    end = positions[end_word - 1][1]
    rest = text[begin:end] + (text[end:].rstrip()[:1] if text[end:].strip()[:1] in "?" else "")
    return acts, rest.strip()


_ZH_PHRASES = sorted(
    ((phrase, act) for act, ps in _ZH.items() for phrase in ps), key=lambda pa: -len(pa[0])
)


def _strip_zh(text: str) -> tuple[list[str], str]:
    rest = re.sub(r"[\s,，。.!！?？~～、…]+", " ", text).strip()
    acts: list[str] = []
    changed = True
    while changed and rest:
        changed = False
        for phrase, act in _ZH_PHRASES:
            if rest.startswith(phrase):
                acts.append(act)
                rest = rest[len(phrase) :].strip()
                changed = True
                break
            if rest.endswith(phrase) and len(rest) > len(phrase):
                acts.append(act)
                rest = rest[: -len(phrase)].strip()
                changed = True
                break
    if rest and all(ch in _FILLER_ZH_CHARS or ch.isspace() for ch in rest):
        rest = ""
    return acts, rest


# When nothing else is said, the act that wins among several ("hi thanks bye" -> thank).
_PRIORITY = ("cancel", "bye", "thank", "deny", "affirm", "greet", "ack")


def _only(acts: list[str], language: str, text: str, flow_under_way: bool) -> ControlAct:
    """A message of conversation acts alone; filler alone ("hmm") is no act: NLU reads it."""
    act = next((a for a in _PRIORITY if a in acts), None)
    if act is None:
        return ControlAct(None, language, text)
    if act == "cancel" and not flow_under_way:
        act = "deny"  # "never mind" with nothing under way
    return ControlAct(act, language, "")


def control_read(text: str, *, flow_under_way: bool = False) -> ControlAct:
    """The conversation act of one customer message, and the rest for intent routing."""
    language = language_of(text)
    angry = bool(_ANGRY.search(text)) or (sum(c.isupper() for c in text) > 8 and text.isupper())
    stripped = text.strip()
    if language == "zh":
        if _HUMAN_ZH.search(stripped) and not _ASK_BOT_ZH.search(stripped):
            return ControlAct("ask_human", language, stripped, angry=angry)
        acts, rest = _strip_zh(stripped)
        if not rest:
            if _ASK_BOT_ZH.search(stripped):
                return ControlAct("ask_bot", language, "")
            return _only(acts, language, stripped, flow_under_way)
        if _ASK_BOT_ZH.fullmatch(rest) or (_ASK_BOT_ZH.search(rest) and len(rest) <= 10):
            return ControlAct("ask_bot", language, "")
        if _CAPABILITIES_ZH.search(rest) and len(rest) <= 12:
            return ControlAct("capabilities", language, "")
        opened = acts[0] if acts else None
        return ControlAct(None, language, rest, opened=opened)
    # "Are you a real person?" asks about the bot; "are you a bot? get me a person" asks for one.
    request = _ASK_BOT.sub(" ", stripped)
    if asks_for_person(request) or _MANAGER.search(request) or _INSULT.search(stripped):
        return ControlAct(
            "ask_human", language, stripped, angry=angry or bool(_INSULT.search(text))
        )
    if _CAPABILITIES.search(stripped) and len(re.findall(r"[\w']+", stripped)) <= 8:
        return ControlAct("capabilities", language, "")
    acts, rest = _strip_en(stripped)
    if not rest:
        return _only(acts, language, stripped, flow_under_way)
    words = re.findall(r"[\w']+", rest)
    if _ASK_BOT.search(rest) and len(words) <= 12:
        return ControlAct("ask_bot", language, "")
    if _CAPABILITIES.search(rest) and len(words) <= 8:
        return ControlAct("capabilities", language, "")
    opened = acts[0] if acts else None
    return ControlAct(None, language, rest, angry=angry, opened=opened)


# What the bot says to each act, unless the workspace words it otherwise ("greet": "...").
REPLIES: dict[str, dict[str, str]] = {
    "greet": {"en": "Hello! How can I help you today?", "zh": "您好！请问有什么可以帮您？"},
    "thank": {
        "en": "You're welcome! Is there anything else I can help with?",
        "zh": "不客气！还有其他可以帮您的吗？",
    },
    "bye": {"en": "Thanks for chatting with us. Goodbye!", "zh": "感谢您的咨询，再见！"},
    "ack": {"en": "Great. Anything else I can help with?", "zh": "好的。还有其他问题吗？"},
    "affirm": {"en": "Great. What can I help you with?", "zh": "好的，请问需要什么帮助？"},
    "deny": {"en": "No problem. Anything else I can help with?", "zh": "好的。还有其他问题吗？"},
    "cancel": {"en": "No problem. Anything else I can help with?", "zh": "好的。还有其他问题吗？"},
    "ask_bot": {
        "en": "I'm a virtual assistant (a bot). {can} You can ask for a person at any time.",
        "zh": "我是智能客服机器人。{can}您随时可以要求转人工客服。",
    },
    "capabilities": {
        "en": "{can} Or I can connect you with a person.",
        "zh": "{can}也可以为您转人工客服。",
    },
    "decline": {
        "en": "Sorry, I can't help with that here. {can} Shall I connect you with a person?",
        "zh": "抱歉，这个问题我暂时无法回答。{can}需要为您转接人工客服吗？",
    },
    "resume": {"en": "Back to {task}: {question}", "zh": "我们继续{task}：{question}"},
}
_CAN = {
    "en": {
        "answers": "I can answer questions from our help centre.",
        "both": "I can answer questions from our help centre and help you {tasks}.",
        "tasks": "I can help you {tasks}.",
    },
    "zh": {
        "answers": "我可以回答帮助中心里的问题（英文）。",
        "both": "我可以回答帮助中心里的问题（英文），还可以帮您{tasks}。",
        "tasks": "我可以帮您{tasks}。",
    },
}


def capabilities_text(language: str, tasks: list[str], *, answers: bool = True) -> str:
    """ "I can answer questions from our help centre and help you freeze a card." """
    texts = _CAN.get(language, _CAN["en"])
    if not tasks:
        return texts["answers"] if answers else ""
    if language == "zh":
        joined = "、".join(tasks)
    else:
        joined = tasks[0] if len(tasks) == 1 else ", ".join(tasks[:-1]) + " or " + tasks[-1]
    return texts["both" if answers else "tasks"].format(tasks=joined)


def control_reply(
    act: str, language: str, *, tasks: list[str], answers: bool = True, overrides: dict[str, str]
) -> str:
    """The reply to a conversation act (or ``decline``) in the customer's language; a workspace's
    own wording (``overrides``, by act) wins for its main language."""
    if act in overrides and language == "en":
        return overrides[act]
    texts = REPLIES[act]
    template = texts.get(language, texts["en"])
    filled = template.replace("{can}", capabilities_text(language, tasks, answers=answers))
    return re.sub(r" {2,}", " ", filled).strip()


# A message that leans on what came before: a connective or a preposition first ("and abroad?",
# "what about in euros?", "for my wife"), a word pointing back ("is it free?", "how long does
# that take?"), or a fragment of three words or fewer. A complete new question ("can I get a
# mortgage from you") is none of these, and is not read after the previous message.
_FOLLOW_UP_START_EN = re.compile(
    r"^(?:and|but|also|so|then|or|plus|what about|how about|what if|same|"
    r"for|in|to|with|from|on|by|at|about|via|without|into)\b",
    re.IGNORECASE,
)
_FOLLOW_UP_BACK_EN = re.compile(
    r"\b(?:it|its|that|this|those|these|them|they|there|one|ones|same|too|either)\b", re.I
)
_FOLLOW_UP_ZH = re.compile(r"^(?:那|还有|另外|那么|并且|而且)|呢[?？]?$|这个|那个|它")
FOLLOW_UP_FRAGMENT_WORDS = 3
FOLLOW_UP_FRAGMENT_CHARS_ZH = 4


def leans_on_context(text: str) -> bool:
    """Whether a message reads as a follow-up to the one before it (see above)."""
    text = text.strip()
    if CJK.search(text):
        bare = re.sub(r"[\s?？!！。，,.]", "", text)
        return len(bare) <= FOLLOW_UP_FRAGMENT_CHARS_ZH or bool(_FOLLOW_UP_ZH.search(text))
    words = re.findall(r"\w+", text)
    if len(words) <= FOLLOW_UP_FRAGMENT_WORDS:
        return True
    return bool(_FOLLOW_UP_START_EN.search(text) or _FOLLOW_UP_BACK_EN.search(text))
