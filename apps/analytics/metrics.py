"""Every analytics metric, defined once: here in code and in words, so that each number on the
dashboards can be reproduced from the raw tables (conversations, messages, turn traces,
feedback).

Populations
-----------
*Conversation*: a ``chat.Conversation`` of the workspace with at least one customer message. It
belongs to the period (and chart bucket) that holds its ``created_at``; buckets are cut in the
workspace's time zone (``AnalyticsSettings.time_zone``).

*Turn*: a ``dialogue.TurnTrace`` (one bot turn, answering one customer message). It belongs to
the period holding its ``created_at``. Rollups keep turns per UTC hour, so a period or a bucket
always holds whole UTC hours: a bucket in a time zone whose offset is not a whole number of hours
(India, +05:30) holds the hours that *start* in it.

Activity: a message from the customer, the bot or an agent (system notices are not activity).
``W`` is the workspace's resolution window (default 24 h), ``D`` its durable window (default
7 days), ``now`` the moment the facts were computed.

Conversation outcome (``conversation_outcome``)
-----------------------------------------------
- *automated*: no handoff was ever requested (``handoff_requested_at`` is empty) and no agent
  wrote in it.
- *ended_at*: the earlier of ``closed_at`` and the first idle point, the moment ``W`` after an
  activity that no other activity followed within ``W``. A conversation with neither is
  *pending*: not yet settled, left out of both resolution rates.
- *settled*: ``ended_at`` is known.
- *resolved* (automated resolution): settled and automated.
- *reopened*: resolved, and the customer wrote again in ``(ended_at, ended_at + D]``, in the same
  conversation or in a later conversation of the same customer session.
- *durable_known*: settled, and either not resolved, reopened, or ``now >= ended_at + D``.
- *durable* (durable resolution): resolved, not reopened, and ``now >= ended_at + D``.

Conversation metrics (over conversations of the period, after the filters)
--------------------------------------------------------------------------
- ``conversations``: how many.
- ``customer_messages``: their customer messages.
- ``automated_resolution`` = resolved / settled.
- ``durable_resolution`` = durable / durable_known.
- ``handoff`` = conversations with a handoff / conversations; ``handoff_<reason>`` the same for
  each reason in ``HANDOFF_REASONS`` (``handoff_reason`` decides, see ``handoff_category``).
- ``csat_response`` = conversations with a CSAT score / conversations.
- ``csat_satisfied`` = conversations scored 4 or 5 / conversations with a score.
- ``csat_mean``: the mean score, with a normal 95% interval (mean +- 1.96 s / sqrt(n)).
- ``agent_first_response``: over handed-off conversations an agent answered, seconds from the
  handoff request to the first agent message after it; P50 and P90 (nearest rank) and the mean.
- ``handoff_to_close``: over handed-off conversations that were closed, seconds from the
  handoff request to ``closed_at``; P50, P90, mean.

Turn metrics (over turns of the period, after the filters)
----------------------------------------------------------
- ``turns``: bot turns.
- ``clarify`` = turns routed ``clarify`` / turns.
- ``oos`` = turns the NLU flagged out of scope (``nlu.oos``) / turns.
- *answered turn*: routed ``faq``, ``flow`` or ``smalltalk``, not a "not found" reply
  (``handler.unanswered``) and not blocked by the output guard.
  ``thumbs_down`` = answered turns whose reply got a thumbs-down / answered turns; the reasons
  given with thumbs-down (on any turn) are counted as written (redacted, first 100 characters).
- *knowledge turn*: routed ``faq``. Its answer path is ``not_found`` when no passage was found,
  else the generator engine that answered: ``vllm``, ``transformers`` (in process) or
  ``extractive`` (the best passage quoted). ``path_<path>`` = knowledge turns on that path /
  knowledge turns. ``fallback`` = generated answers (vllm, transformers or extractive) where an
  engine was skipped or broke off (``generator.fallbacks`` or ``generator.broken``) / generated
  answers.
- ``guard_blocked`` = turns whose reply the output guard replaced / turns.
- ``injection_flagged`` = turns whose message the injection check flagged / turns;
  ``injection_refused`` = turns refused for it (route ``refuse``) / turns; ``injection_handoff`` =
  turns handed off for it / turns.
- ``redactions``: per type, the count of values inbound redaction replaced.
- Latency, per stage of ``latency_ms`` (``total``, ``first_chunk`` the first reply chunk, ``nlu``,
  ``handler``, ...): P50, P90, P99 estimated from a histogram of 1.25x-wide buckets
  (``LATENCY_EDGES_MS``): the bucket holding the nearest-rank turn, interpolated linearly by rank
  inside it (see ``histogram_percentile``), so within 25% of the exact value.

Every rate carries ``n`` (its denominator) and a Wilson 95% interval; every metric is shown
beside its value in the previous period of the same length.

Dimensions and filters
----------------------
A conversation's ``language`` is the one its first turn's trace detected
(``control.language``), or, in traces without one, ``zh`` when its first customer message holds
a CJK ideograph, else ``en``. A turn takes its conversation's language and handed-off flag.
``intent``, ``route``: a turn's own; a conversation matches when one of its turns has it.
Model versions: ``nlu_model`` is ``nlu.model`` of the trace (``none`` without a trained
model), ``generator`` is ``<engine>:<adapter>`` (or the engine without an adapter) for generated
answers, empty otherwise; a conversation is attributed to the versions of its first turn (first
generated answer for ``generator``).
"""

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

Z_95 = 1.959963984540054

HANDOFF_REASONS = (
    "explicit_request",
    "sensitive_intent",
    "low_confidence",
    "negative_sentiment",
    "injection_policy",
    "other",
)
ANSWERED_ROUTES = frozenset({"faq", "flow", "smalltalk"})
GENERATED_PATHS = ("vllm", "transformers", "extractive")
ANSWER_PATHS = (*GENERATED_PATHS, "not_found")
# Upper edges of the latency histogram buckets, in ms: bucket k holds (edge[k-1], edge[k]];
# bucket 0 everything up to 1 ms, the last bucket (index len(edges)) everything above.
LATENCY_EDGES_MS = tuple(round(1.25**k, 3) for k in range(50))
LATENCY_BUCKETS = len(LATENCY_EDGES_MS) + 1
PERCENTILES = (0.5, 0.9, 0.99)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# --- rates and intervals --------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n``, with the Wilson 95% interval; ``value`` is None when ``n`` is 0."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.k, self.n)

    def to_json(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "value": self.value,
            "k": self.k,
            "n": self.n,
            "low": interval[0] if interval else None,
            "high": interval[1] if interval else None,
        }


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for ``k`` successes in ``n`` trials (None when ``n`` is 0)."""
    if n <= 0:
        return None
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile: the ceil(q n)-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def durations(values: Sequence[float]) -> dict[str, Any]:
    """``agent_first_response`` and ``handoff_to_close``: n, mean, P50, P90 in seconds."""
    return {
        "n": len(values),
        "mean": sum(values) / len(values) if values else None,
        "p50": nearest_rank(values, 0.5),
        "p90": nearest_rank(values, 0.9),
    }


# --- latency histograms -----------------------------------------------------------------------


def latency_bucket(ms: float) -> int:
    """The histogram bucket of one latency."""
    for index, edge in enumerate(LATENCY_EDGES_MS):
        if ms <= edge:
            return index
    return len(LATENCY_EDGES_MS)


def histogram_percentile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile of a latency histogram: find the bucket holding the nearest-rank
    observation r = ceil(q N), then interpolate linearly by rank between its edges
    (lower + (upper - lower) (r - before) / count). Above the last edge: the last edge."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    before = 0
    for index, count in enumerate(counts):
        if count and before + count >= rank:
            if index >= len(LATENCY_EDGES_MS):
                return LATENCY_EDGES_MS[-1]
            lower = LATENCY_EDGES_MS[index - 1] if index else 0.0
            upper = LATENCY_EDGES_MS[index]
            return round(lower + (upper - lower) * (rank - before) / count, 2)
        before += count
    return None  # unreachable: the counts add up to total


# --- one turn, one conversation ---------------------------------------------------------------


def handoff_category(reason: str) -> str:
    """The handoff reason of ``Conversation.handoff_reason`` (the dialogue policy's words, or a
    code from chat and safety) as one of ``HANDOFF_REASONS``."""
    text = reason.strip().lower()
    if text == "customer_request" or text.startswith(
        ("the customer asked for a person", "the customer accepted the offer of a person")
    ):
        return "explicit_request"
    if "is marked sensitive" in text:
        return "sensitive_intent"
    if text.startswith(("low confidence", "out of scope")):
        return "low_confidence"
    if text.startswith("negative sentiment"):
        return "negative_sentiment"
    if text == "prompt_injection" or text.startswith("prompt injection"):
        return "injection_policy"
    return "other"


def conversation_language(first_customer_text: str, detected: str = "") -> str:
    """The language the first turn's trace detected (``control.language``), else ``zh`` when
    the first customer message holds a CJK ideograph, else ``en``."""
    if detected:
        return detected[:8]
    return "zh" if _CJK.search(first_customer_text) else "en"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def generator_label(data: Mapping[str, Any]) -> str:
    generator = _dict(data.get("generator"))
    engine = str(generator.get("engine") or "")
    if engine not in GENERATED_PATHS:
        return ""
    adapter = generator.get("adapter")
    return f"{engine}:{adapter}" if adapter else engine


@dataclass(frozen=True)
class TurnFacts:
    """What the metrics read from one turn's trace."""

    route: str
    intent: str
    nlu_model: str
    generator: str
    oos: bool
    answered: bool
    path: str  # one of ANSWER_PATHS, or "" for a turn that is no knowledge turn
    fallback: bool
    guard_blocked: bool
    injection_flagged: bool
    injection_handoff: bool
    redactions: dict[str, int]
    latency_ms: dict[str, float]


def turn_facts(*, route: str, intent: str, data: Mapping[str, Any]) -> TurnFacts:
    nlu = _dict(data.get("nlu"))
    handler = _dict(data.get("handler"))
    generator = _dict(data.get("generator"))
    guard = _dict(data.get("guard"))
    inbound = _dict(data.get("inbound"))
    route_reason = str(_dict(data.get("route")).get("reason") or "")
    unanswered = bool(handler.get("unanswered"))
    blocked = bool(guard.get("blocked"))
    engine = str(generator.get("engine") or "")
    path = ""
    if route == "faq":
        path = "not_found" if unanswered else engine if engine in GENERATED_PATHS else ""
    raw = inbound.get("redactions") or {}
    redactions: dict[str, int] = {}
    # The trace keeps {"TYPE": count}; early traces kept [{"type": ..., "count": ...}].
    items = (
        raw.items()
        if isinstance(raw, dict)
        else [(r.get("type"), r.get("count")) for r in raw if isinstance(r, dict)]
    )
    for kind, count in items:
        if kind and isinstance(count, int | float) and count > 0:
            redactions[str(kind)] = redactions.get(str(kind), 0) + int(count)
    latency = {
        str(stage): float(ms)
        for stage, ms in _dict(data.get("latency_ms")).items()
        if isinstance(ms, int | float) and not isinstance(ms, bool) and ms >= 0
    }
    return TurnFacts(
        route=route,
        intent=intent,
        nlu_model=str(nlu.get("model") or ""),
        generator=generator_label(data),
        oos=bool(nlu.get("oos")),
        answered=route in ANSWERED_ROUTES and not unanswered and not blocked,
        path=path,
        fallback=path in GENERATED_PATHS
        and bool(generator.get("fallbacks") or generator.get("broken")),
        guard_blocked=blocked,
        injection_flagged=bool(_dict(inbound.get("injection")).get("flagged")),
        injection_handoff=route == "handoff" and route_reason.startswith("prompt injection"),
        redactions=redactions,
        latency_ms=latency,
    )


@dataclass(frozen=True)
class Activity:
    sender: str  # customer | bot | agent
    at: datetime


@dataclass(frozen=True)
class ConversationOutcome:
    automated: bool
    settled: bool
    ended_at: datetime | None
    resolved: bool
    reopened: bool
    durable_known: bool
    durable: bool
    # When time alone may change this outcome (the next look is due); None when it can't.
    recheck_at: datetime | None


def conversation_outcome(
    *,
    activity: Sequence[Activity],
    closed_at: datetime | None,
    handoff_requested_at: datetime | None,
    later_customer_messages: Sequence[datetime],
    now: datetime,
    resolution_window: timedelta,
    durable_window: timedelta,
) -> ConversationOutcome:
    """A conversation's outcome as the module docstring defines it. ``activity`` is in time
    order; ``later_customer_messages`` are the first customer messages of the customer
    session's later conversations."""
    automated = handoff_requested_at is None and not any(a.sender == "agent" for a in activity)
    idle_at: datetime | None = None
    for current, following in itertools.pairwise(activity):
        if following.at - current.at >= resolution_window:
            idle_at = current.at + resolution_window
            break
    if idle_at is None and activity and now >= activity[-1].at + resolution_window:
        idle_at = activity[-1].at + resolution_window
    ends = [t for t in (closed_at, idle_at) if t is not None]
    ended_at = min(ends) if ends else None
    if ended_at is None:
        recheck = activity[-1].at + resolution_window if activity else None
        return ConversationOutcome(automated, False, None, False, False, False, False, recheck)
    resolved = automated
    horizon = ended_at + durable_window
    returns = [a.at for a in activity if a.sender == "customer"] + list(later_customer_messages)
    reopened = resolved and any(ended_at < t <= horizon for t in returns)
    window_over = now >= horizon
    durable_known = not resolved or reopened or window_over
    durable = resolved and not reopened and window_over
    recheck = horizon if resolved and not durable_known else None
    return ConversationOutcome(
        automated, True, ended_at, resolved, reopened, durable_known, durable, recheck
    )


def mean_from_sums(total: float, squares: float, n: int, z: float = Z_95) -> dict[str, Any]:
    """Mean and its normal 95% interval (mean +- z s / sqrt(n)) from the sum and the sum of
    squares of n values; no interval under two values."""
    if n == 0:
        return {"value": None, "n": 0, "low": None, "high": None}
    mean = total / n
    if n < 2:
        return {"value": mean, "n": n, "low": None, "high": None}
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = z * math.sqrt(variance) / math.sqrt(n)
    return {"value": mean, "n": n, "low": mean - half, "high": mean + half}


def rise_score(current: int, previous: int) -> float:
    """How fast an intent rises: (turns now + 1) / (turns in the previous period + 1)."""
    return (current + 1) / (previous + 1)


# --- the catalogue: each metric as its numerator and denominator sums -------------------------

# Sums over conversation facts (see ``selectors.dashboard.FACT_SUMS``).
CONVERSATION_COUNTS = ("conversations", "customer_messages")
CONVERSATION_RATES: dict[str, tuple[str, str]] = {
    "automated_resolution": ("resolved", "settled"),
    "durable_resolution": ("durable", "durable_known"),
    "handoff": ("handed_off", "conversations"),
    **{f"handoff_{reason}": (f"handoff_{reason}", "conversations") for reason in HANDOFF_REASONS},
    "csat_response": ("csat_responses", "conversations"),
    "csat_satisfied": ("csat_satisfied", "csat_responses"),
}
CONVERSATION_MEANS = ("csat_mean",)
CONVERSATION_DURATIONS = ("agent_first_response", "handoff_to_close")
# Sums over turn rollups (columns of ``TurnRollup``).
TURN_COUNTS = ("turns",)
TURN_RATES: dict[str, tuple[str, str]] = {
    "clarify": ("clarify", "turns"),
    "oos": ("oos", "turns"),
    "thumbs_down": ("thumbs_down_answered", "answered"),
    **{f"path_{path}": (f"path_{path}", "knowledge") for path in ANSWER_PATHS},
    "fallback": ("fallback", "generated"),
    "guard_blocked": ("guard_blocked", "turns"),
    "injection_flagged": ("injection_flagged", "turns"),
    "injection_refused": ("injection_refused", "turns"),
    "injection_handoff": ("injection_handoff", "turns"),
}
TURN_SUMS = (
    "turns",
    "oos",
    "clarify",
    "answered",
    "thumbs_up",
    "thumbs_down",
    "thumbs_down_answered",
    "knowledge",
    *(f"path_{path}" for path in ANSWER_PATHS),
    "generated",
    "fallback",
    "guard_blocked",
    "injection_flagged",
    "injection_refused",
    "injection_handoff",
)
CONVERSATION_METRICS = (
    *CONVERSATION_COUNTS,
    *CONVERSATION_RATES,
    *CONVERSATION_MEANS,
    *CONVERSATION_DURATIONS,
)
TURN_METRICS = (*TURN_COUNTS, *TURN_RATES)
# "latency_<stage>" is a metric too: P50, P90, P99 of the stage.
LATENCY_PREFIX = "latency_"


def metric_level(name: str) -> str | None:
    """ "conversation", "turn", "latency", or None for no such metric."""
    if name in CONVERSATION_METRICS:
        return "conversation"
    if name in TURN_METRICS:
        return "turn"
    if name.startswith(LATENCY_PREFIX) and len(name) > len(LATENCY_PREFIX):
        return "latency"
    return None
