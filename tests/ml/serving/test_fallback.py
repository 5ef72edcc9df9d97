import pytest

from ml.generation.contracts import ChatMessage, GenerationParams, Passage
from ml.generation.prompts import REFUSAL
from ml.serving.fallback import (
    FallbackEngine,
    GenerationTrace,
    extractive_answer,
    passages_cited,
)
from tests.ml.serving.doubles import ScriptedEngine

MESSAGES = [ChatMessage("user", "q")]
PASSAGES = [Passage("P1", "Refunds take five days."), Passage("P2", "Other.")]


async def _run(engine: FallbackEngine, trace: GenerationTrace) -> str:
    parts = [
        d
        async for d in engine.stream_answer(
            MESSAGES, "acme", GenerationParams(), passages=PASSAGES, trace=trace
        )
    ]
    return "".join(parts)


@pytest.mark.asyncio
async def test_primary_answers_when_up() -> None:
    trace = GenerationTrace()
    primary, secondary = ScriptedEngine("vllm", ["a", "b"]), ScriptedEngine("transformers", ["x"])
    assert await _run(FallbackEngine([primary, secondary]), trace) == "ab"
    assert trace.to_json() == {
        "engine": "vllm",
        "adapter": "acme",
        "fallbacks": [],
        "broken": "",
        "cited": [],
        "cache": "",
    }
    assert secondary.calls == []


@pytest.mark.asyncio
async def test_down_primary_falls_back_to_in_process_then_extractive() -> None:
    trace = GenerationTrace()
    chain = FallbackEngine(
        [ScriptedEngine("vllm", fail_after=0), ScriptedEngine("transformers", ["x"])]
    )
    assert await _run(chain, trace) == "x"
    assert trace.engine == "transformers"
    assert trace.fallbacks == ["vllm: vllm is down"]

    trace = GenerationTrace()
    chain = FallbackEngine(
        [ScriptedEngine("vllm", fail_after=0), ScriptedEngine("transformers", fail_after=0)]
    )
    assert await _run(chain, trace) == "Refunds take five days. [P1]"
    assert trace.engine == "extractive"
    assert len(trace.fallbacks) == 2


@pytest.mark.asyncio
async def test_a_break_midway_ends_the_reply_without_restarting_it() -> None:
    trace = GenerationTrace()
    secondary = ScriptedEngine("transformers", ["x"])
    chain = FallbackEngine([ScriptedEngine("vllm", ["a", "b", "c"], fail_after=2), secondary])
    assert await _run(chain, trace) == "ab"
    assert trace.engine == "vllm"
    assert trace.broken == "vllm broke"
    assert secondary.calls == []


def test_extractive_answer_quotes_the_best_passage_or_refuses() -> None:
    assert extractive_answer(PASSAGES) == "Refunds take five days. [P1]"
    assert extractive_answer([Passage("P1", "w " * 200)], max_words=3) == "w w w ... [P1]"
    assert extractive_answer([]) == REFUSAL


@pytest.mark.asyncio
async def test_the_trace_records_which_passages_the_answer_cites() -> None:
    trace = GenerationTrace()
    chain = FallbackEngine([ScriptedEngine("vllm", ["[", "P2", "] Other", " [P9] and [P1]."])])
    assert await _run(chain, trace) == "[P2] Other [P9] and [P1]."
    assert trace.cited == ["P2", "P9", "P1"]
    assert trace.to_json()["cited"] == ["P2", "P9", "P1"]
    # Only what was shown can decide the sources; an answer that cites none of them decides none.
    assert passages_cited(PASSAGES, trace.cited) == [PASSAGES[0], PASSAGES[1]]
    assert passages_cited(PASSAGES, ["P9"]) == []

    trace = GenerationTrace()
    assert await _run(FallbackEngine([ScriptedEngine("vllm", fail_after=0)]), trace) == (
        "Refunds take five days. [P1]"
    )
    assert (trace.engine, trace.cited) == ("extractive", ["P1"])


def test_the_extractive_answer_keeps_the_lines_of_a_list() -> None:
    steps = Passage(
        "P1",
        "To cancel, follow these steps:\r\n\r\n1. Log in  to your account.\r\n"
        "2.\tOpen Orders.\n\n\n- Choose   Cancel.\n  * Confirm.\n",
    )
    assert extractive_answer([steps]) == (
        "To cancel, follow these steps:\n\n1. Log in to your account.\n2. Open Orders.\n\n"
        "- Choose Cancel.\n* Confirm. [P1]"
    )
    # The word limit counts words over all lines; the lines it keeps stay lines.
    assert extractive_answer([steps], max_words=9) == (
        "To cancel, follow these steps:\n\n1. Log in to ... [P1]"
    )
    assert extractive_answer([steps], max_words=5) == "To cancel, follow these steps: ... [P1]"
