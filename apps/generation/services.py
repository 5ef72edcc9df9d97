"""Grounded answers for the dialogue layer.

    passages = knowledge_retrieve(...)            # apps.knowledge
    async for delta in answer_stream(workspace=..., turns=..., passages=..., trace=...): ...

The adapter is the one registered under the workspace's slug (``GENERATION_ADAPTERS_DIR``), never
a name or path from the client; a workspace without one gets the base model.
"""

import re
from collections.abc import AsyncIterator, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from django.conf import settings

from apps.accounts.models import Workspace
from apps.chat.models import Message
from ml.generation.contracts import ChatMessage, GenerationParams, Passage, Turn
from ml.generation.prompts import answer_messages, passages_number
from ml.retrieval.contracts import RetrievedPassage
from ml.serving.engine import ChatEngine
from ml.serving.fallback import FallbackEngine, GenerationTrace
from ml.serving.registry import NAME, AdapterRegistry
from ml.serving.vllm_client import VllmEngine, VllmSettings


def vllm_settings() -> VllmSettings:
    return VllmSettings(
        base_url=settings.VLLM_BASE_URL,
        connect_timeout=settings.VLLM_CONNECT_TIMEOUT,
        first_token_timeout=settings.VLLM_FIRST_TOKEN_TIMEOUT,
        token_timeout=settings.VLLM_TOKEN_TIMEOUT,
        retries=settings.VLLM_RETRIES,
        breaker_failures=settings.VLLM_BREAKER_FAILURES,
        breaker_reset=settings.VLLM_BREAKER_RESET_SECONDS,
    )


def adapter_registry() -> AdapterRegistry:
    return AdapterRegistry(Path(settings.GENERATION_ADAPTERS_DIR))


@cache
def engine_get() -> FallbackEngine:
    """vLLM when ``VLLM_BASE_URL`` is set, then the in-process model when a base model exists;
    the extractive answer is always last. One chain (and one circuit breaker) per process."""
    engines: list[ChatEngine] = []
    if settings.VLLM_BASE_URL:
        engines.append(VllmEngine(vllm_settings(), registry=adapter_registry()))
    base = Path(settings.GENERATION_BASE_MODEL)
    if (base / "config.json").is_file():
        from ml.serving.transformers_engine import TransformersEngine  # torch: load on demand

        engines.append(TransformersEngine(base, adapter_registry()))
    return FallbackEngine(engines)


def workspace_adapter(workspace: Workspace) -> str | None:
    """The adapter registered under the workspace's slug, or None (the base model)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", workspace.slug)
    if not NAME.match(name):
        return None
    return name if (Path(settings.GENERATION_ADAPTERS_DIR) / name / "adapter").is_dir() else None


HISTORY_MESSAGES = 6
_SPEAKERS: dict[str, Literal["customer", "bot", "agent"]] = {
    Message.Sender.CUSTOMER.value: "customer",
    Message.Sender.BOT.value: "bot",
    Message.Sender.AGENT.value: "agent",
}


def conversation_turns(conversation_id: int) -> list[Turn]:
    """The last messages as the generator sees them (stored, so already redacted)."""
    stored = list(
        Message.objects.filter(conversation_id=conversation_id, sender__in=list(_SPEAKERS))
        .order_by("-id")
        .values_list("sender", "text")[:HISTORY_MESSAGES]
    )[::-1]
    return [Turn(_SPEAKERS[sender], text) for sender, text in stored if text]


def passages_from_retrieval(retrieved: Sequence[RetrievedPassage]) -> list[Passage]:
    """Ranked retrieval results -> P1, P2... (the text was redacted when it was indexed)."""
    return passages_number([(p.chunk_id, p.text) for p in retrieved])


def grounded_messages(*, turns: Sequence[Turn], passages: Sequence[Passage]) -> list[ChatMessage]:
    return answer_messages(passages, turns)


async def answer_stream(
    *,
    workspace: Workspace,
    turns: Sequence[Turn],
    passages: Sequence[Passage],
    trace: GenerationTrace,
    params: GenerationParams | None = None,
) -> AsyncIterator[str]:
    """Streams a grounded answer; ``trace`` says which engine answered and why others didn't."""
    messages = grounded_messages(turns=turns, passages=passages)
    params = params or GenerationParams(max_tokens=settings.GENERATION_MAX_TOKENS)
    async for delta in engine_get().stream_answer(
        messages, workspace_adapter(workspace), params, passages=passages, trace=trace
    ):
        yield delta
