"""The real vLLM server on loopback: the tiny bootstrapped base with two workspace adapters,
a grounded answer streamed for each through the app's engine chain, an adapter added at run time
without a restart; then the server is killed and the same chain falls back.

Needs the vLLM virtualenv (``make vllm-venv``; ``make test`` builds it). Without it the test is
skipped with the reason, except under CS_REQUIRE_SERVICES=1 (CI), where it fails.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml.generation.contracts import GenerationParams, Turn
from ml.generation.prompts import answer_messages, passages_number
from ml.serving.fallback import FallbackEngine, GenerationTrace
from ml.serving.registry import AdapterRegistry
from ml.serving.transformers_engine import TransformersEngine
from ml.serving.vllm_client import VllmEngine, VllmSettings
from ml.serving.vllm_server import DEFAULT_PYTHON, ServerConfig, launch, stop, wait_ready
from tests.services import services_required

pytestmark = pytest.mark.slow

PASSAGES = passages_number(
    [
        ("kb:1", "To cancel an order, open Order Details and press Cancel Order."),
        ("kb:2", "Refunds reach your account within five business days."),
    ]
)
MESSAGES = answer_messages(PASSAGES, [Turn("customer", "how can I cancel my order?")])
# ignore_eos: what is checked here is serving (each adapter by name, the same greedy tokens as the
# in-process engine, batching, reloading), not the tiny model's answers. Trained on another CPU's
# float kernels, a tiny adapter may end its answer at once (seen: globex on an Intel Xeon), and
# an empty stream makes the chain fall back, which is not what this test is about.
PARAMS = GenerationParams(max_tokens=24, ignore_eos=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def vllm_python() -> Path:
    if not DEFAULT_PYTHON.is_file():
        message = f"the vLLM virtualenv is missing ({DEFAULT_PYTHON}); run `make vllm-venv`"
        if services_required():
            pytest.fail(f"{message}; CS_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return DEFAULT_PYTHON


@pytest.fixture(scope="module")
def server(
    vllm_python: Path,
    tiny_base: Path,
    tiny_adapters: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    config = ServerConfig(
        base=tiny_base,
        adapters_dir=tiny_adapters,
        port=_free_port(),
        python=vllm_python,
        max_model_len=65536,
    )
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    process = launch(config, log)
    try:
        wait_ready(config.url, timeout=300, process=process)
    except (RuntimeError, TimeoutError) as exc:
        stop(process)
        pytest.fail(f"vLLM did not start: {exc}\n{log.read_text()[-3000:]}", pytrace=False)
    yield process, config.url, log
    stop(process)


async def _metric(url: str, name: str, label: str = "") -> float:
    """A counter from vLLM's Prometheus metrics (summed over its series with ``label``)."""
    import httpx

    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and label in line
    )


async def _answer(chain: FallbackEngine, adapter: str, trace: GenerationTrace) -> str:
    parts = [
        d
        async for d in chain.stream_answer(
            MESSAGES, adapter, PARAMS, passages=PASSAGES, trace=trace
        )
    ]
    return "".join(parts)


def test_vllm_serves_each_workspace_adapter_then_falls_back_when_killed(
    server: tuple[subprocess.Popen[bytes], str, Path],
    tiny_base: Path,
    tiny_adapters: Path,
    tmp_path: Path,
) -> None:
    process, url, _ = server
    vllm = VllmEngine(VllmSettings(base_url=url, first_token_timeout=30, retries=0))
    in_process = TransformersEngine(tiny_base, AdapterRegistry(tiny_adapters))
    chain = FallbackEngine([vllm, in_process])

    async def scenario() -> None:
        assert set(await vllm.models()) >= {"base", "acme", "globex"}
        traces = {name: GenerationTrace() for name in ("acme", "globex")}
        answers = {name: await _answer(chain, name, traces[name]) for name in traces}
        for name, trace in traces.items():
            assert trace.engine == "vllm", trace.to_json()
            assert trace.adapter == name
            assert trace.fallbacks == []
            assert answers[name], f"{name} gave an empty answer"
        assert answers["acme"] != answers["globex"]
        # vLLM and the in-process engine run the same weights: greedy answers agree.
        direct = "".join([d async for d in in_process.stream_chat(MESSAGES, "acme", PARAMS)])
        assert direct[:20] == answers["acme"][:20]

        # Both adapters and the base model in one batch (the plugin's grouped LoRA kernels):
        # each stream gives what it gives alone, and the base request gets no adapter's delta.
        async def alone(engine: VllmEngine | TransformersEngine, adapter: str | None) -> str:
            return "".join([d async for d in engine.stream_chat(MESSAGES, adapter, PARAMS)])

        # (A batch sums in another order than a lone request: compare the start, as above.)
        together = await asyncio.gather(*(alone(vllm, a) for a in ("acme", "globex", None)))
        assert [t[:20] for t in together[:2]] == [answers["acme"][:20], answers["globex"][:20]]
        assert together[2][:20] == (await alone(in_process, None))[:20]

        # A new workspace adapter loads at run time, by name, without a restart.
        shutil.copytree(tiny_adapters / "globex", tmp_path / "initech")
        entry = AdapterRegistry(tmp_path).get("initech")
        await vllm.adapter_load(entry.name, str(entry.path))
        assert "initech" in await vllm.models()
        trace = GenerationTrace()
        assert await _answer(chain, "initech", trace) == answers["globex"]
        assert trace.engine == "vllm"
        # "initech" is retrained (here: acme's weights): the server takes the new version in
        # place of the one it holds.
        acme = AdapterRegistry(tiny_adapters).get("acme")
        await vllm.adapter_load("initech", str(acme.path), replace=True)
        assert await _answer(chain, "initech", GenerationTrace()) == answers["acme"]

        # The customer leaves mid-answer: closing the stream aborts the request in vLLM. (The
        # tiny model writes thousands of tokens a second and the abort lands within about a
        # second, a few on a loaded machine, where 15,000 tokens were once written before it
        # landed: the request asks for far more than that.)
        before = await _metric(url, "vllm:generation_tokens_total")
        long = GenerationParams(max_tokens=60000, ignore_eos=True)
        stream = vllm.stream_chat(MESSAGES, "acme", long)
        assert await anext(stream)
        await stream.aclose()
        await asyncio.sleep(2.0)
        stopped_at = await _metric(url, "vllm:generation_tokens_total")
        await asyncio.sleep(1.5)
        assert await _metric(url, "vllm:generation_tokens_total") == stopped_at  # nothing after
        assert stopped_at - before < 60000  # stopped before its end

        # The server dies: the same chain answers in process and the trace says why.
        os.killpg(process.pid, signal.SIGKILL)  # the whole server, engine processes included
        process.wait(30)
        trace = GenerationTrace()
        fallback_answer = await _answer(chain, "acme", trace)
        assert trace.engine == "transformers"
        assert trace.fallbacks[0].startswith("vllm: vLLM unavailable")
        assert fallback_answer[:20] == answers["acme"][:20]

        # With no in-process model either, the best passage answers, cited.
        trace = GenerationTrace()
        only_vllm = FallbackEngine([vllm])
        text = await _answer(only_vllm, "acme", trace)
        assert trace.engine == "extractive"
        assert text == f"{PASSAGES[0].text} [P1]"

    asyncio.run(scenario())
