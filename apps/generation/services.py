"""Grounded answers for the dialogue layer.

    passages = knowledge_retrieve(...)            # apps.knowledge
    async for delta in answer_stream(workspace=..., turns=..., passages=..., trace=...): ...

The adapter is the one registered under the workspace's slug (``GENERATION_ADAPTERS_DIR``), never
a name or path from the client; a workspace without one gets the base model.
"""

import json
import re
import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from asgiref.sync import async_to_sync
from django.conf import settings

from apps.accounts.models import Workspace
from apps.chat.models import Conversation, Message
from apps.core.process import process_wide
from apps.generation import hooks
from apps.generation.hooks import ServingAdapter
from apps.generation.selectors import training_record_list
from apps.knowledge.models import AnswerVariable
from apps.knowledge.services.variables import AnswerFiller
from ml.generation.contracts import ChatMessage, GenerationParams, Passage, Turn
from ml.generation.prompts import answer_messages, passages_number
from ml.retrieval.contracts import RetrievedPassage
from ml.serving.engine import ChatEngine, EngineError
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


@process_wide
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


def engine_identity() -> dict[str, str]:
    """What ``engine_get``'s chain is made of, for a cache key: an answer written by another
    chain (vLLM switched on, a new base model) is another answer."""
    base = Path(settings.GENERATION_BASE_MODEL) / "config.json"
    return {
        "vllm": settings.VLLM_BASE_URL,
        "base": f"{base.parent}@{base.stat().st_mtime_ns}" if base.is_file() else "",
    }


def adapter_name(workspace: Workspace) -> str:
    """The name the workspace's adapter is registered and served under (from its slug)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", workspace.slug)[:64]
    if not NAME.match(name):
        raise ValueError(f"workspace slug {workspace.slug!r} gives no valid adapter name")
    return name


def workspace_adapter(workspace: Workspace) -> str | None:
    """The adapter registered under the workspace's slug, or None (the base model)."""
    try:
        name = adapter_name(workspace)
    except ValueError:
        return None
    return name if (Path(settings.GENERATION_ADAPTERS_DIR) / name / "adapter").is_dir() else None


@dataclass(frozen=True)
class AdapterPick:
    """The adapter that answers a customer session, and its registry version (None for the
    adapter folder of a workspace the model registry holds no adapter for)."""

    name: str | None
    version: ServingAdapter | None = None

    def to_trace(self) -> dict[str, object] | None:
        return None if self.version is None else self.version.to_trace()


def adapter_pick(*, workspace: Workspace, session_key: str | None) -> AdapterPick:
    """The model registry's champion adapter, or its canary for a session in the canary's
    share; a workspace it holds none for keeps its adapter folder."""
    served = hooks.serving_adapter(workspace.pk, session_key)
    if served is not None:
        return AdapterPick(served.name, served)
    return AdapterPick(workspace_adapter(workspace))


def conversation_adapter_pick(*, workspace: Workspace, conversation_id: int) -> AdapterPick:
    """``adapter_pick`` for the customer session of a conversation."""
    session = (
        Conversation.objects.filter(pk=conversation_id, workspace=workspace)
        .values_list("customer_session_id", flat=True)
        .first()
    )
    return adapter_pick(workspace=workspace, session_key=None if session is None else str(session))


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


def answer_filler_get(*, workspace_id: int, conversation_id: int) -> AnswerFiller:
    """What fills the answers of one conversation: the workspace's variable values, and the
    conversation's own placeholders (any other placeholder never reaches the customer)."""
    values = dict(
        AnswerVariable.objects.filter(workspace_id=workspace_id)
        .exclude(value="")
        .values_list("key", "value")
    )
    placeholders = (
        Conversation.objects.filter(pk=conversation_id, workspace_id=workspace_id)
        .values_list("pii_placeholders", flat=True)
        .first()
    )
    return AnswerFiller(values=values, own_placeholders=frozenset((placeholders or {}).values()))


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
    adapter: AdapterPick | None = None,
) -> AsyncIterator[str]:
    """Streams a grounded answer; ``trace`` says which engine answered and why others didn't.
    ``adapter``: ``adapter_pick``'s answer for the customer session (read from the database
    before, outside the event loop); without it, the workspace's adapter folder."""
    messages = grounded_messages(turns=turns, passages=passages)
    params = params or GenerationParams(max_tokens=settings.GENERATION_MAX_TOKENS)
    name = adapter.name if adapter is not None else workspace_adapter(workspace)
    async for delta in engine_get().stream_answer(
        messages, name, params, passages=passages, trace=trace
    ):
        yield delta


class NotEnoughKnowledge(ValueError):
    """The workspace has fewer than two answers (articles, helpful replies) to learn from."""


@dataclass(frozen=True)
class AdapterTraining:
    name: str
    directory: Path
    records: int
    answers: int  # distinct answers: articles and helpful replies
    metrics: dict[str, Any]
    seconds: float
    steps: int
    served: str  # whether the vLLM server took the new adapter


def adapter_train(
    *, workspace: Workspace, config_path: Path | None = None, progress: bool = False
) -> AdapterTraining:
    """Trains the workspace's adapter on its knowledge base and helpful replies (minutes on CPU:
    a Celery task or the management command runs this) and puts it in the registry under the
    workspace's adapter name."""
    from ml.generation.config import sft_config_from_dict  # torch and peft: load on demand
    from ml.generation.train import train

    records = training_record_list(workspace=workspace)
    answers = len({r["group"] for r in records})
    if answers < 2:
        raise NotEnoughKnowledge(
            f"workspace {workspace.slug!r} has {answers} answer(s) to learn from (published FAQ "
            "articles, distinct replies marked helpful); the generator needs at least two"
        )
    name = adapter_name(workspace)
    registry = Path(settings.GENERATION_ADAPTERS_DIR)
    data = Path(settings.GENERATION_TRAINING_DATA_DIR) / f"{name}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))

    template = Path(config_path or settings.GENERATION_ADAPTER_CONFIG)
    raw = yaml.safe_load(template.read_text()) or {}
    raw.update(
        name=name,
        base=str(settings.GENERATION_BASE_MODEL),
        sources=[{"dataset": "records", "path": str(data)}],
        output_dir=str(registry),
    )
    config = sft_config_from_dict(raw)
    staging = registry / f".{name}.training"
    shutil.rmtree(staging, ignore_errors=True)
    result = train(config, out_dir=staging, progress=progress)
    _replace(staging, registry / name)
    served = _vllm_reload(name, registry / name / "adapter")
    # The model registry keeps it as a version of its own (and decides whether it serves).
    hooks.adapter_trained(workspace.pk, str(registry / name), str(data), result.metrics)
    return AdapterTraining(
        name=name,
        directory=registry / name,
        records=len(records),
        answers=answers,
        metrics=result.metrics,
        seconds=result.seconds,
        steps=result.steps,
        served=served,
    )


def _vllm_reload(name: str, path: Path) -> str:
    """Puts a retrained adapter in place of the copy the vLLM server holds (the in-process
    engines notice the new version themselves). Says what happened."""
    if not settings.VLLM_BASE_URL:
        return "no vLLM server configured"
    engine = VllmEngine(vllm_settings())
    try:
        async_to_sync(engine.adapter_load)(name, str(path.resolve()), replace=True)
    except (EngineError, httpx.HTTPError) as exc:
        return f"vLLM did not take it ({exc}); it will after a restart"
    return "vLLM serves the new adapter"


def _replace(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
