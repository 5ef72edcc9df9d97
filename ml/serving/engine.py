"""The one interface the app talks to: ``ChatEngine.stream_chat(messages, adapter, params)``.

An engine streams text deltas. ``adapter`` is a workspace adapter's *name* from the registry
(None: the base model); an engine never takes a path from its caller.
"""

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from ml.generation.contracts import ChatMessage, GenerationParams


class EngineError(RuntimeError):
    """The engine failed; ``before_output`` says whether any text had been streamed yet (only
    then can another engine take over the turn without the customer seeing a restart)."""

    def __init__(self, message: str, *, before_output: bool = True):
        super().__init__(message)
        self.before_output = before_output


class EngineUnavailable(EngineError):
    """The engine can't take the request now (down, too slow, circuit open)."""


class UnknownAdapter(ValueError):
    pass


class ChatEngine(Protocol):
    name: str

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        adapter: str | None,
        params: GenerationParams,
    ) -> AsyncGenerator[str, None]: ...
