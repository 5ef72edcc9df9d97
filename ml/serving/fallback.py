"""The fallback chain for one answer: the primary engine (vLLM), else the in-process engine,
else an extractive answer (the best passage, quoted and cited), and a trace that says which one
answered, why the others didn't, and which passages the answer cites (they pick the sources shown
under it; the citations themselves are for the system and are removed from the customer's text
by ``apps.knowledge.services.variables.AnswerStream``).

An engine that fails before streaming anything is skipped silently for the customer; one that
fails halfway ends the reply where it broke (restarting would repeat text already shown) and the
trace records it.
"""

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from ml.generation.contracts import ChatMessage, GenerationParams, Passage
from ml.generation.prompts import REFUSAL, citations
from ml.serving.engine import ChatEngine, EngineError, UnknownAdapter


@dataclass
class GenerationTrace:
    """Filled in while the answer streams; read it after the stream ends."""

    engine: str = ""  # which path answered: "vllm", "transformers" or "extractive"
    adapter: str | None = None
    fallbacks: list[str] = field(default_factory=list)  # "<engine>: <why it was skipped>"
    broken: str = ""  # set when the engine that answered broke off mid-stream
    cited: list[str] = field(default_factory=list)  # the passage ids the answer cites, in order
    cache: str = ""  # "hit": the response cache gave the answer; "miss": written and cached

    def to_json(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "adapter": self.adapter,
            "fallbacks": list(self.fallbacks),
            "broken": self.broken,
            "cited": list(self.cited),
            "cache": self.cache,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GenerationTrace":
        return cls(
            engine=str(data.get("engine", "")),
            adapter=data.get("adapter"),
            fallbacks=list(data.get("fallbacks", [])),
            broken=str(data.get("broken", "")),
            cited=list(data.get("cited", [])),
            cache=str(data.get("cache", "")),
        )


def passages_cited(passages: Sequence[Passage], cited: Sequence[str]) -> list[Passage]:
    """The shown passages an answer cites, in rank order (none when it cites none of them)."""
    return [p for p in passages if p.pid in cited]


def extractive_answer(passages: Sequence[Passage], max_words: int = 120) -> str:
    """The best passage (the first: passages come ranked) with its citation; the refusal when
    there is none. Spaces are tidied within each line but the lines stay, so a list's steps read
    one per line; an empty line at most separates paragraphs."""
    if not passages:
        return REFUSAL
    best = passages[0]
    kept: list[str] = []
    left = max_words
    for line in best.text.splitlines():
        words = line.split()
        if not words and not (kept and kept[-1]):
            continue
        if len(words) > left:
            kept.append(" ".join(words[:left]))
            return "\n".join(kept).rstrip() + f" ... [{best.pid}]"
        kept.append(" ".join(words))
        left -= len(words)
    return "\n".join(kept).rstrip() + f" [{best.pid}]"


class FallbackEngine:
    def __init__(self, engines: Sequence[ChatEngine]):
        self.engines = list(engines)

    async def stream_answer(
        self,
        messages: Sequence[ChatMessage],
        adapter: str | None,
        params: GenerationParams,
        *,
        passages: Sequence[Passage] = (),
        trace: GenerationTrace | None = None,
        extractive: bool = True,
    ) -> AsyncGenerator[str, None]:
        trace = trace if trace is not None else GenerationTrace()
        answer: list[str] = []
        try:
            async with aclosing(
                self._stream(messages, adapter, params, passages, trace, extractive)
            ) as deltas:
                async for delta in deltas:
                    answer.append(delta)
                    yield delta
        finally:
            trace.cited = citations("".join(answer))

    async def _stream(
        self,
        messages: Sequence[ChatMessage],
        adapter: str | None,
        params: GenerationParams,
        passages: Sequence[Passage],
        trace: GenerationTrace,
        extractive: bool,
    ) -> AsyncGenerator[str, None]:
        trace.adapter = adapter
        for engine in self.engines:
            streamed = False
            try:
                async with aclosing(engine.stream_chat(messages, adapter, params)) as deltas:
                    async for delta in deltas:
                        if not streamed:
                            trace.engine = engine.name
                            streamed = True
                        yield delta
            except UnknownAdapter as exc:
                trace.fallbacks.append(f"{engine.name}: {exc}")
                continue
            except EngineError as exc:
                if streamed:
                    trace.broken = str(exc)
                    return
                trace.fallbacks.append(f"{engine.name}: {exc}")
                continue
            if streamed:
                return
            trace.fallbacks.append(f"{engine.name}: empty answer")
        if not extractive:
            raise EngineError("every engine failed: " + "; ".join(trace.fallbacks))
        trace.engine = "extractive"
        yield extractive_answer(passages)
