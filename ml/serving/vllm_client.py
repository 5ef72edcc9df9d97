"""``VllmEngine``: the vLLM OpenAI-compatible server over HTTP, streaming.

- Timeouts: connecting, the first token (``first_token_timeout``: a server that is up but too
  slow counts as unavailable) and the gap between later tokens.
- A bounded retry with backoff, only before any text was streamed (a retry after that would
  repeat text the customer already saw).
- A circuit breaker: after repeated failures calls fail fast until the server has had time to
  recover, so a dead server costs one fast failure per turn instead of a timeout.
- Cancellation: when the consumer stops iterating (the customer left), the HTTP stream is closed
  and vLLM aborts the request.
- Adapters trained after the server started: when vLLM doesn't know a name the registry has, the
  adapter is loaded through ``/v1/load_lora_adapter`` and the request is sent again (the server
  must see the registry's folder at the same path: same host or a shared volume).
"""

import asyncio
import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx

from ml.generation.contracts import ChatMessage, GenerationParams
from ml.serving.breaker import CircuitBreaker
from ml.serving.engine import EngineError, EngineUnavailable, UnknownAdapter
from ml.serving.registry import AdapterRegistry, adapter_name_check

BASE_MODEL_NAME = "base"  # the name the launcher serves the base model under


@dataclass(frozen=True)
class VllmSettings:
    base_url: str  # http://127.0.0.1:8001 (with or without /v1)
    connect_timeout: float = 2.0
    first_token_timeout: float = 10.0
    token_timeout: float = 10.0
    retries: int = 1  # extra attempts before the first token
    backoff: float = 0.25  # seconds, doubled per attempt
    breaker_failures: int = 3
    breaker_reset: float = 30.0
    api_key: str = ""

    @property
    def api_root(self) -> str:
        root = self.base_url.rstrip("/")
        return root if root.endswith("/v1") else f"{root}/v1"


def request_body(
    messages: Sequence[ChatMessage], model: str, params: GenerationParams
) -> dict[str, Any]:
    """The exact JSON sent to ``/v1/chat/completions``."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [m.to_json() for m in messages],
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stream": True,
    }
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if params.ignore_eos:
        body["ignore_eos"] = True  # a vLLM extension of the OpenAI API
    return body


class VllmEngine:
    name = "vllm"

    def __init__(
        self,
        settings: VllmSettings,
        *,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        registry: AdapterRegistry | None = None,
    ):
        self.settings = settings
        self.registry = registry
        self.breaker = breaker or CircuitBreaker(settings.breaker_failures, settings.breaker_reset)
        self._transport = transport
        self.last_request: dict[str, Any] | None = None

    def _client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(
            connect=self.settings.connect_timeout,
            read=max(self.settings.first_token_timeout, self.settings.token_timeout),
            write=self.settings.connect_timeout,
            pool=self.settings.connect_timeout,
        )
        headers = (
            {"Authorization": f"Bearer {self.settings.api_key}"} if self.settings.api_key else {}
        )
        return httpx.AsyncClient(timeout=timeout, headers=headers, transport=self._transport)

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        adapter: str | None,
        params: GenerationParams,
    ) -> AsyncGenerator[str, None]:
        # aclosing everywhere: when the consumer stops, each inner generator is closed right away
        # (down to the HTTP response, which makes vLLM abort the request), not at GC time.
        try:
            async with aclosing(self._stream_with_retry(messages, adapter, params)) as deltas:
                async for delta in deltas:
                    yield delta
        except UnknownAdapter:
            if adapter is None or self.registry is None:
                raise
            entry = self.registry.get(adapter)  # UnknownAdapter when it isn't registered
            await self.adapter_load(entry.name, str(entry.path))
            async with aclosing(self._stream_with_retry(messages, adapter, params)) as deltas:
                async for delta in deltas:
                    yield delta

    async def _stream_with_retry(
        self,
        messages: Sequence[ChatMessage],
        adapter: str | None,
        params: GenerationParams,
    ) -> AsyncGenerator[str, None]:
        model = adapter_name_check(adapter) if adapter else BASE_MODEL_NAME
        body = request_body(messages, model, params)
        self.last_request = body
        attempts = 1 + max(0, self.settings.retries)
        last_error: Exception | None = None
        for attempt in range(attempts):
            if not self.breaker.allow():
                raise EngineUnavailable(f"vLLM circuit open ({self.settings.base_url})")
            streamed = False
            try:
                async with self._client() as client, aclosing(self._stream(client, body)) as deltas:
                    async for delta in deltas:
                        streamed = True
                        yield delta
                self.breaker.record_success()
                return
            except UnknownAdapter:
                self.breaker.record_success()  # the server answered; the name is wrong
                raise
            except (httpx.HTTPError, TimeoutError, EngineError) as exc:
                self.breaker.record_failure()
                if streamed:
                    raise EngineError(f"vLLM stream broke: {exc!r}", before_output=False) from exc
                last_error = exc
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.settings.backoff * 2**attempt)
        raise EngineUnavailable(f"vLLM unavailable after {attempts} attempt(s): {last_error!r}")

    async def _stream(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> AsyncGenerator[str, None]:
        url = f"{self.settings.api_root}/chat/completions"
        async with client.stream("POST", url, json=body) as response:
            if response.status_code == 404 or response.status_code == 400:
                text = (await response.aread()).decode(errors="replace")
                if "does not exist" in text or "not found" in text.lower():
                    raise UnknownAdapter(f"vLLM doesn't serve {body['model']!r}: {text[:200]}")
                raise EngineError(
                    f"vLLM rejected the request ({response.status_code}): {text[:200]}"
                )
            if response.status_code != 200:
                raise EngineError(f"vLLM answered {response.status_code}")
            # httpx types aiter_lines as an AsyncIterator; it is an async generator (has aclose).
            async with aclosing(response.aiter_lines()) as lines:  # type: ignore[type-var]
                first = True
                while True:
                    timeout = (
                        self.settings.first_token_timeout if first else self.settings.token_timeout
                    )
                    try:
                        line = await asyncio.wait_for(anext(lines), timeout)
                    except StopAsyncIteration:
                        return
                    except TimeoutError as exc:
                        what = "first token" if first else "next token"
                        raise EngineUnavailable(f"vLLM: no {what} within {timeout} s") from exc
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise EngineError(f"vLLM error: {chunk['error']}")
                    for choice in chunk.get("choices", []):
                        delta = choice.get("delta", {}).get("content")
                        if delta:
                            first = False
                            yield delta

    # --- adapters at run time (the server needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) -----
    async def adapter_load(self, name: str, path: str, *, replace: bool = False) -> None:
        """Loads a registry adapter into the running server (no restart); ``replace``: a new
        version of an adapter the server already holds takes its place (a retrained one)."""
        body = {"lora_name": adapter_name_check(name), "lora_path": path, "load_inplace": replace}
        async with self._client() as client:
            response = await client.post(f"{self.settings.api_root}/load_lora_adapter", json=body)
        if response.status_code != 200 and "already been loaded" not in response.text:
            raise EngineError(f"loading adapter {name!r} failed: {response.text[:300]}")

    async def models(self) -> list[str]:
        async with self._client() as client:
            response = await client.get(f"{self.settings.api_root}/models")
        response.raise_for_status()
        return [m["id"] for m in response.json()["data"]]
