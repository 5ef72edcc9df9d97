"""Engine doubles for the fallback tests (test code only)."""

from collections.abc import AsyncGenerator, Sequence

from ml.generation.contracts import ChatMessage, GenerationParams
from ml.serving.engine import EngineError, EngineUnavailable


class ScriptedEngine:
    """Streams the given pieces, or fails: before any output, or after ``fail_after`` pieces."""

    def __init__(self, name: str, pieces: Sequence[str] = (), fail_after: int | None = None):
        self.name = name
        self.pieces = list(pieces)
        self.fail_after = fail_after
        self.calls: list[tuple[list[ChatMessage], str | None]] = []

    async def stream_chat(
        self, messages: Sequence[ChatMessage], adapter: str | None, params: GenerationParams
    ) -> AsyncGenerator[str, None]:
        self.calls.append((list(messages), adapter))
        if self.fail_after == 0:
            raise EngineUnavailable(f"{self.name} is down")
        for index, piece in enumerate(self.pieces):
            if self.fail_after is not None and index == self.fail_after:
                raise EngineError(f"{self.name} broke", before_output=False)
            yield piece
