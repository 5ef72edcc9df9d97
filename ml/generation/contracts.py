"""What generation takes and gives back: frozen dataclasses, no framework types."""

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]
TASKS: tuple[str, ...] = ("answer", "summary", "rewrite")


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 192
    temperature: float = 0.0  # 0: greedy, the same answer for the same prompt
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # Keep generating past the end token (fixed-length outputs, for benchmarks).
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as the generator sees it: quoted data with an id it can cite."""

    pid: str  # "P1", "P2"... in the order shown to the model
    text: str
    source_id: str = ""  # the chunk id it came from (kept for the trace, never shown)
    title: str = ""


@dataclass(frozen=True)
class Turn:
    """One line of the conversation so far (already redacted)."""

    speaker: Literal["customer", "bot", "agent"]
    text: str


@dataclass(frozen=True)
class SftExample:
    """One supervised example: the messages up to the answer, and the answer to learn."""

    task: str
    messages: tuple[ChatMessage, ...]
    target: str
    meta: dict[str, str] = field(default_factory=dict)
    passages: tuple[Passage, ...] = ()  # what an answer example showed (to check citations)
