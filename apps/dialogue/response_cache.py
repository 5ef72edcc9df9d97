"""The response cache: what the bot computed for a frequent question, kept for the next customer.

Three things a turn computes depend only on the question and on versioned inputs, never on who
asks: the NLU reading of the text (the model version that read it), the passages retrieval finds
(the knowledge base version and the query), and the answer written from those passages (the
generator, its adapter version and the passages). Each is cached under a key built from all of
them, so a new model, a new adapter or any knowledge change (``KnowledgeState.version`` moves
with every index or graph change) makes the old entries unreachable: nothing to flush, and they
expire (``RESPONSE_CACHE_SECONDS``). The state of the conversation is never cached: routing,
flows and handoffs run for every turn.

What is never cached: anything from another workspace (the workspace is in every key); a text
that carries a customer's personal data (a redaction placeholder such as ``<PERSON_1>``, or a
run of digits: order numbers and other identifiers are one customer's, and never frequent); an
answer that contains either, or that a degraded path wrote (an engine fell back or broke off).

Stored in Django's ``responses`` cache: Redis, shared by every process, with ``REDIS_URL``; the
process's memory in the embedded default. Keys are hashes: no question text in Redis keys.
"""

import hashlib
import json
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches

from apps.core.metrics import RESPONSE_CACHE_LOOKUPS, RESPONSE_CACHE_SAVED_SECONDS
from apps.knowledge.services.audit import knowledge_version

T = TypeVar("T")

# Keys being computed in this process now, and the result their computation will give.
_inflight: dict[str, Future[Any]] = {}
_inflight_lock = threading.Lock()
INFLIGHT_WAIT_S = 10.0

# A redaction placeholder (<PERSON_1>, <EMAIL_ADDRESS_2>) or an identifier-like run of digits.
_PERSONAL = re.compile(r"<[A-Z][A-Z_]*_\d+>|\d{4,}")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t\n?!.,;:¿¡？！。，"


def question_normalize(text: str) -> str:
    """The question as the cache sees it: Unicode-normalized, case-folded, spaces collapsed, no
    punctuation at the ends ("Where is my order?" and "where is my order" are one question)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", text).strip(_EDGE_PUNCTUATION)


def cacheable(text: str) -> bool:
    """Whether a text may go into the cache (or be a key's question): no personal data."""
    return bool(text.strip()) and not _PERSONAL.search(text)


def _key(stage: str, workspace_id: int, parts: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"cs:rc:{stage}:{workspace_id}:{digest}"


@dataclass(frozen=True)
class _Entry:
    value: Any
    seconds: float  # what computing it took


def _lookup(stage: str, key: str) -> _Entry | None:
    entry = caches["responses"].get(key)
    if isinstance(entry, _Entry):
        RESPONSE_CACHE_LOOKUPS.labels(stage=stage, result="hit").inc()
        RESPONSE_CACHE_SAVED_SECONDS.labels(stage=stage).inc(entry.seconds)
        return entry
    RESPONSE_CACHE_LOOKUPS.labels(stage=stage, result="miss").inc()
    return None


def _skip(stage: str) -> None:
    RESPONSE_CACHE_LOOKUPS.labels(stage=stage, result="skip").inc()


def cached_compute(
    *,
    stage: str,
    workspace_id: int,
    text: str,
    versions: dict[str, Any],
    compute: Callable[[], T],
    keep: Callable[[T], bool] = lambda _: True,
) -> T:
    """``compute()``, or its cached value for the same workspace, text and ``versions``.
    ``stage``: "nlu" or "retrieval". ``keep``: whether a computed value may be stored."""
    if not settings.RESPONSE_CACHE or not cacheable(text):
        _skip(stage)
        return compute()
    key = _key(stage, workspace_id, {"text": text, **versions})
    entry = _lookup(stage, key)
    if entry is not None:
        value: T = entry.value
        return value
    # Customers who ask the same at the same moment (the question everyone asks after an
    # outage) wait for one computation instead of each starting their own.
    with _inflight_lock:
        running = _inflight.get(key)
        leader = running is None
        if running is None:
            running = _inflight[key] = Future()
    if not leader:
        try:
            shared: T = running.result(timeout=INFLIGHT_WAIT_S)
            RESPONSE_CACHE_LOOKUPS.labels(stage=stage, result="joined").inc()
            return shared
        except Exception:  # the leader failed or is slow: compute for ourselves
            return compute()
    started = time.perf_counter()
    try:
        value = compute()
    except BaseException as exc:
        running.set_exception(exc)
        raise
    finally:
        with _inflight_lock:
            _inflight.pop(key, None)
    running.set_result(value)
    if keep(value):
        entry = _Entry(value, time.perf_counter() - started)
        caches["responses"].set(key, entry, settings.RESPONSE_CACHE_SECONDS)
    return value


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    generator: dict[str, Any]  # the generation trace of the answer when it was written


def answer_key(
    *, workspace_id: int, question: str, passage_ids: list[str], generator: dict[str, Any]
) -> str | None:
    """The key of the answer to ``question`` written from these passages by this generator
    (engine chain, adapter and its version); None when the question may not be cached."""
    if not settings.RESPONSE_CACHE or not cacheable(question) or not passage_ids:
        _skip("answer")
        return None
    return _key(
        "answer",
        workspace_id,
        {
            "question": question_normalize(question),
            "knowledge": knowledge_version(workspace_id=workspace_id),
            "passages": passage_ids,
            "generator": generator,
        },
    )


def answer_lookup(
    *, workspace_id: int, question: str, passage_ids: list[str], generator: dict[str, Any]
) -> tuple[str | None, CachedAnswer | None]:
    """The answer's key (None: not to be cached) and the cached answer, if there is one."""
    key = answer_key(
        workspace_id=workspace_id, question=question, passage_ids=passage_ids, generator=generator
    )
    entry = _lookup("answer", key) if key else None
    return key, (entry.value if entry is not None else None)


def answer_cache_put(*, key: str, answer: CachedAnswer, seconds: float) -> bool:
    """Stores an answer written on the normal path, free of personal data; whether it did."""
    trace = answer.generator
    if trace.get("fallbacks") or trace.get("broken") or not cacheable(answer.text):
        return False
    caches["responses"].set(key, _Entry(answer, seconds), settings.RESPONSE_CACHE_SECONDS)
    return True
