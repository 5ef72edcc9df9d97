import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ml.generation.contracts import ChatMessage, GenerationParams
from ml.serving.breaker import CircuitBreaker
from ml.serving.engine import EngineError, EngineUnavailable, UnknownAdapter
from ml.serving.registry import AdapterRegistry
from ml.serving.vllm_client import VllmEngine, VllmSettings

MESSAGES = [ChatMessage("system", "sys"), ChatMessage("user", "hi")]


def _sse(*deltas: str) -> bytes:
    lines = [
        "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": d}}]}) + "\n\n"
        for d in deltas
    ]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def _engine(handler: Callable[[httpx.Request], httpx.Response], **overrides: float) -> VllmEngine:
    settings = VllmSettings(base_url="http://vllm.test", backoff=0.0, **overrides)  # type: ignore[arg-type]
    return VllmEngine(settings, transport=httpx.MockTransport(handler))


async def _collect(engine: VllmEngine, adapter: str | None = "acme") -> list[str]:
    return [d async for d in engine.stream_chat(MESSAGES, adapter, GenerationParams(max_tokens=7))]


@pytest.mark.asyncio
async def test_streams_deltas_and_sends_the_adapter_by_name() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "http://vllm.test/v1/chat/completions"
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=_sse("Hel", "lo", " [P1]"))

    engine = _engine(handler)
    assert await _collect(engine) == ["Hel", "lo", " [P1]"]
    assert seen == [
        {
            "model": "acme",
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
            "max_tokens": 7,
            "temperature": 0.0,
            "top_p": 1.0,
            "stream": True,
        }
    ]
    await _collect(engine, adapter=None)
    assert seen[-1]["model"] == "base"


@pytest.mark.asyncio
async def test_a_path_is_never_accepted_as_adapter() -> None:
    engine = _engine(lambda r: httpx.Response(200, content=_sse("x")))
    with pytest.raises(UnknownAdapter):
        await _collect(engine, adapter="/etc/passwd")


@pytest.mark.asyncio
async def test_retries_once_before_the_first_token_then_gives_up() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, content=_sse("ok"))

    assert await _collect(_engine(handler)) == ["ok"]
    assert len(calls) == 2

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(EngineUnavailable, match="after 2 attempt"):
        await _collect(_engine(down))


@pytest.mark.asyncio
async def test_the_circuit_opens_and_fails_fast() -> None:
    calls = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503)

    engine = _engine(down, retries=0, breaker_failures=2)
    for _ in range(2):
        with pytest.raises(EngineUnavailable):
            await _collect(engine)
    with pytest.raises(EngineUnavailable, match="circuit open"):
        await _collect(engine)
    assert len(calls) == 2  # the third call never reached the server


@pytest.mark.asyncio
async def test_a_server_too_slow_for_the_first_token_counts_as_down() -> None:
    class Slow(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            await asyncio.sleep(1.0)
            yield _sse("late")

    engine = _engine(
        lambda r: httpx.Response(200, stream=Slow()), first_token_timeout=0.1, retries=0
    )
    with pytest.raises(EngineUnavailable, match=r"no first token within 0\.1"):
        await _collect(engine)


@pytest.mark.asyncio
async def test_unknown_adapter_names_come_back_as_unknown_adapter() -> None:
    body = {"error": {"message": "The model `nope` does not exist."}}
    engine = _engine(lambda r: httpx.Response(404, json=body))
    with pytest.raises(UnknownAdapter):
        await _collect(engine, adapter="nope")
    assert engine.breaker.state == "closed"


@pytest.mark.asyncio
async def test_a_stream_that_breaks_midway_is_not_retried() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield _sse("one").split(b"data: [DONE]")[0]
            raise httpx.ReadError("connection reset")

    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, stream=Broken())

    got: list[str] = []

    async def consume() -> None:
        async for delta in _engine(handler).stream_chat(MESSAGES, "acme", GenerationParams()):
            got.append(delta)

    with pytest.raises(EngineError) as raised:
        await consume()
    assert got == ["one"]
    assert raised.value.before_output is False
    assert len(calls) == 1


def test_breaker_half_opens_after_the_reset_time() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_after=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()  # the one trial call
    assert not breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


@pytest.mark.asyncio
async def test_a_registered_adapter_the_server_lacks_is_loaded_then_used(tmp_path: Path) -> None:
    folder = tmp_path / "initech" / "adapter"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    loaded: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/load_lora_adapter":
            loaded.append(json.loads(request.content))
            return httpx.Response(200, text="Success")
        model = json.loads(request.content)["model"]
        if model not in {entry["lora_name"] for entry in loaded}:
            return httpx.Response(
                404, json={"error": {"message": f"The model `{model}` does not exist."}}
            )
        return httpx.Response(200, content=_sse("hi"))

    engine = VllmEngine(
        VllmSettings(base_url="http://vllm.test"),
        transport=httpx.MockTransport(handler),
        registry=AdapterRegistry(tmp_path, verify=False),
    )
    assert await _collect(engine, adapter="initech") == ["hi"]
    assert loaded == [
        {"lora_name": "initech", "lora_path": str(folder.resolve()), "load_inplace": False}
    ]
    with pytest.raises(UnknownAdapter, match="no adapter named 'nope'"):
        await _collect(engine, adapter="nope")
