"""What answers a customer turn until the dialogue engine (NLU, retrieval, generation) lands.

A replier turns one customer turn into a stream of text chunks. The one here is honest about what
the bot can do today: it acknowledges the message and points to the person button.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class TurnInput:
    workspace_id: int
    language: str
    conversation_id: int
    text: str


@dataclass(frozen=True)
class ReplyMeta:
    route: str
    reason: str
    sources: tuple[dict[str, str], ...] = ()
    # The instructions the generator runs under; the output guard blocks replies that repeat them.
    system_prompt: str = ""
    # Which engine generated the reply (vLLM, in process, extractive), its adapter, fallbacks.
    generator: dict[str, Any] = field(default_factory=dict)


class Replier(Protocol):
    meta: ReplyMeta

    def stream(self, turn: TurnInput) -> AsyncIterator[str]: ...


_ACKNOWLEDGEMENT = {
    "en": (
        "Thanks, I have your message. I can't answer questions on my own yet. "
        "If you need help now, choose “Talk to a person” and an agent will join this chat."
    ),
    "zh": (
        "收到您的消息。我暂时还不能自己回答问题。如需立即帮助，请点击“转人工”，客服人员会加入对话。"
    ),
}


class AcknowledgementReplier:
    meta = ReplyMeta(
        route="acknowledge",
        reason="no dialogue engine is enabled for this workspace: the message was acknowledged",
    )

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        text = _ACKNOWLEDGEMENT.get(turn.language, _ACKNOWLEDGEMENT["en"])
        # Word by word (character by character for Chinese), as a generator would stream tokens.
        pieces = text.split(" ") if turn.language != "zh" else list(text)
        for index, piece in enumerate(pieces):
            yield piece if index == 0 or turn.language == "zh" else " " + piece


class StaticReplier:
    """A fixed answer the bot's own rules chose (a refusal, a handoff notice), in the workspace's
    language, streamed like any other reply."""

    def __init__(self, texts: dict[str, str], meta: ReplyMeta):
        self.texts = texts
        self.meta = meta

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        yield self.texts.get(turn.language, self.texts["en"])


REFUSAL = {
    "en": "Sorry, I can't help with that request. I can answer questions about your orders, "
    "account and our products, or connect you with a person.",
    "zh": "抱歉，我无法处理这个请求。我可以回答关于订单、账户和产品的问题，或为您转接人工客服。",
}
HANDOFF_NOTICE = {
    "en": "I'm passing this conversation to a person on our team.",
    "zh": "我会把这次对话转给我们的客服人员。",
}
BLOCKED_REPLY = {
    "en": "Sorry, I can't share that. Would you like me to connect you with a person?",
    "zh": "抱歉，这部分内容我无法提供。需要为您转接人工客服吗？",
}
