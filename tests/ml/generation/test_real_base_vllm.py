"""The real base end to end, opt-in (``CS_REAL_BASE=1``, marked slow; CI's vLLM integration
test keeps the tiny base): the folder ``python -m ml.generation.base_from_gguf`` wrote, its
manifest checked, served by the vLLM virtualenv (``make vllm-venv``), a grounded answer streamed
through the app's engine chain. About two minutes on 2 cores."""

import asyncio
import os
import socket
from pathlib import Path

import pytest

from ml.generation.base_from_gguf import DEFAULT_OUT, gguf_base_verify
from ml.generation.contracts import GenerationParams, Turn
from ml.generation.prompts import answer_messages, passages_number
from ml.serving.fallback import FallbackEngine, GenerationTrace
from ml.serving.vllm_client import VllmEngine, VllmSettings
from ml.serving.vllm_server import DEFAULT_PYTHON, ServerConfig, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("CS_REAL_BASE") != "1",
        reason="opt-in: CS_REAL_BASE=1 serves the real base (converted, and make vllm-venv)",
    ),
]

BASE = Path(os.environ.get("CS_REAL_BASE_DIR", DEFAULT_OUT))
PASSAGES = passages_number(
    [
        ("kb:1", "Refunds reach your account within five business days."),
        ("kb:2", "To cancel an order, open Order Details and press Cancel Order."),
    ]
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_vllm_streams_a_grounded_answer_from_the_real_base(tmp_path: Path) -> None:
    if not DEFAULT_PYTHON.is_file():
        pytest.fail(f"the vLLM virtualenv is missing ({DEFAULT_PYTHON}): make vllm-venv")
    gguf_base_verify(BASE)  # refuses a folder changed since its conversion
    config = ServerConfig(base=BASE, port=_free_port(), max_model_len=2048)
    messages = answer_messages(PASSAGES, [Turn("customer", "how can I cancel my order?")])

    async def scenario(url: str) -> tuple[str, GenerationTrace]:
        chain = FallbackEngine([VllmEngine(VllmSettings(base_url=url, first_token_timeout=120))])
        trace = GenerationTrace()
        parts = [
            d
            async for d in chain.stream_answer(
                messages, None, GenerationParams(max_tokens=48), passages=PASSAGES, trace=trace
            )
        ]
        return "".join(parts), trace

    with serving(config, tmp_path / "vllm.log") as url:
        answer, trace = asyncio.run(scenario(url))
    assert trace.engine == "vllm", trace.to_json()
    assert trace.fallbacks == []
    assert len(answer.split()) >= 5
