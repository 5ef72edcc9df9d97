"""The daily look at a running canary: promote it, roll it back, or keep watching.

Arms: each conversation since the canary started belongs to the NLU version that answered its
first bot turn (the trace's ``data["versions"]["nlu"]["id"]``: the champion or the canary).
Per arm, with analytics' definitions (``apps.analytics.metrics``, the facts refreshed for these
conversations first):

- primary: automated resolution = resolved / settled conversations;
- guardrails: handoff = conversations with a handoff / conversations; thumbs-down =
  thumbs-down / answered turns; p95 turn latency (nearest rank over the arm's turns' total).

Guardrails, judged once each arm has the policy's ``guardrail_min_conversations``: a breach is
the always-valid sequential test (``ml.mlops.sequential``, lower is better) declaring the
canary's handoff or thumbs-down rate worse than the champion's, or the canary's p95 latency
above ``latency_p95_ratio`` times the champion's. A breach rolls back at once.

Primary: the same sequential test on resolution, every look so far (cumulative counts, one look
per check), counted once each arm has ``min_canary_conversations`` settled conversations, with
the policy's ``resolution_margin`` as non-inferiority margin: "better" or "non-inferior"
promotes, "worse" rolls back, "continue" waits for the next look. Every decision goes through
the registry's services with its numbers; every look is kept (``CanaryLook``).
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Workspace
from apps.analytics.metrics import nearest_rank
from apps.analytics.models import ConversationFact
from apps.analytics.services import conversation_facts_refresh
from apps.dialogue.models import TurnTrace
from apps.mlops.models import CanaryLook, Decision, Kind, ModelVersion
from apps.mlops.services import (
    _champion,
    _registry_lock,
    policy_get,
    version_promote,
    version_roll_back,
)
from ml.mlops.sequential import ArmCounts, Look, SequentialConfig, sequential_test

CHAMPION, CANARY = "champion", "canary"
Decider = Decision.Decider


@dataclass(frozen=True)
class ArmNumbers:
    conversations: int
    settled: int
    resolved: int
    handed_off: int
    answered_turns: int
    thumbs_down: int
    turns: int
    latency_p95_ms: float | None

    def rates(self) -> dict[str, float | None]:
        return {
            "automated_resolution": self.resolved / self.settled if self.settled else None,
            "handoff": self.handed_off / self.conversations if self.conversations else None,
            "thumbs_down": (
                self.thumbs_down / self.answered_turns if self.answered_turns else None
            ),
        }


@dataclass(frozen=True)
class CanaryCheck:
    """What one look decided: "promote", "roll_back" or "continue", and why."""

    decision: str
    reason: str
    numbers: dict[str, Any]


def _arms(
    workspace: Workspace, canary: ModelVersion, champion: ModelVersion, since: datetime
) -> tuple[dict[str, list[int]], dict[str, list[float]]]:
    """Conversation ids and turn latencies per arm since ``since``."""
    names = {canary.pk: CANARY, champion.pk: CHAMPION}
    conversations: dict[str, list[int]] = {CHAMPION: [], CANARY: []}
    latencies: dict[str, list[float]] = {CHAMPION: [], CANARY: []}
    arm_of: dict[int, str | None] = {}
    traces = (
        TurnTrace.objects.filter(workspace=workspace, created_at__gte=since)
        .order_by("created_at", "id")
        .values_list("conversation_id", "data", "latency_ms")
    )
    for conversation_id, data, latency in traces.iterator():
        version = ((data or {}).get("versions") or {}).get("nlu") or {}
        version_id = version.get("id") if isinstance(version, dict) else None
        arm = names.get(version_id) if isinstance(version_id, int) else None
        if conversation_id not in arm_of:
            arm_of[conversation_id] = arm
            if arm is not None:
                conversations[arm].append(conversation_id)
        if arm is not None and latency is not None:
            latencies[arm].append(float(latency))
    return conversations, latencies


def _arm_numbers(
    workspace: Workspace, conversation_ids: list[int], latencies: list[float]
) -> ArmNumbers:
    facts = list(
        ConversationFact.objects.filter(workspace=workspace, conversation_id__in=conversation_ids)
    )
    return ArmNumbers(
        conversations=len(facts),
        settled=sum(f.settled for f in facts),
        resolved=sum(f.resolved for f in facts),
        handed_off=sum(f.handed_off for f in facts),
        answered_turns=sum(f.answered_turns for f in facts),
        thumbs_down=sum(f.thumbs_down for f in facts),
        turns=len(latencies),
        latency_p95_ms=nearest_rank(latencies, 0.95) if latencies else None,
    )


def _guardrail_breaches(
    champion: ArmNumbers, canary: ArmNumbers, policy: Any
) -> tuple[list[str], dict[str, Any]]:
    breaches: list[str] = []
    tests: dict[str, Any] = {}
    enough = min(champion.conversations, canary.conversations) >= (
        policy.guardrail_min_conversations
    )
    if not enough:
        return [], {"waiting_for": policy.guardrail_min_conversations}
    config = SequentialConfig(min_per_arm=1, higher_is_better=False)
    for name, k, n in (
        ("handoff", "handed_off", "conversations"),
        ("thumbs_down", "thumbs_down", "answered_turns"),
    ):
        control = ArmCounts(getattr(champion, k), getattr(champion, n))
        treatment = ArmCounts(getattr(canary, k), getattr(canary, n))
        if min(control.n, treatment.n) == 0:
            continue
        result = sequential_test(looks=[Look(control, treatment)], config=config)
        tests[name] = asdict(result)
        if result.decision == "worse":
            breaches.append(
                f"{name} {result.treatment_rate:.3f} vs {result.control_rate:.3f} "
                f"(difference interval {result.lower:.3f}..{result.upper:.3f})"
            )
    if champion.latency_p95_ms and canary.latency_p95_ms:
        budget = champion.latency_p95_ms * policy.latency_p95_ratio
        tests["latency_p95_ms"] = {"canary": canary.latency_p95_ms, "budget": budget}
        if canary.latency_p95_ms > budget:
            breaches.append(f"p95 latency {canary.latency_p95_ms:.0f} ms > {budget:.0f} ms")
    return breaches, tests


def canary_check(
    *, workspace: Workspace, kind: str = Kind.NLU, now: datetime | None = None
) -> CanaryCheck | None:
    """One look at the workspace's canary (module docstring); None when none runs. Holds the
    workspace's registry lock: two checks at once look one after the other, and the second
    finds the canary already decided."""
    with transaction.atomic():
        _registry_lock(workspace.pk)
        return _check(workspace, kind, now)


def _check(workspace: Workspace, kind: str, now: datetime | None) -> CanaryCheck | None:
    canary = ModelVersion.objects.filter(
        workspace=workspace, kind=kind, state=ModelVersion.State.CANARY
    ).first()
    champion = _champion(workspace.pk, kind)
    if canary is None or champion is None or canary.canary_started_at is None:
        return None
    policy = policy_get(workspace=workspace)
    conversations, latencies = _arms(workspace, canary, champion, canary.canary_started_at)
    conversation_facts_refresh(
        workspace=workspace,
        conversation_ids=conversations[CHAMPION] + conversations[CANARY],
        now=now or timezone.now(),
    )
    arms = {
        arm: _arm_numbers(workspace, conversations[arm], latencies[arm])
        for arm in (CHAMPION, CANARY)
    }
    numbers: dict[str, Any] = {
        "champion": {
            "version": champion.number,
            **asdict(arms[CHAMPION]),
            **arms[CHAMPION].rates(),
        },
        "canary": {"version": canary.number, **asdict(arms[CANARY]), **arms[CANARY].rates()},
    }
    breaches, guardrails = _guardrail_breaches(arms[CHAMPION], arms[CANARY], policy)
    numbers["guardrails"] = guardrails
    looks = [
        Look(
            ArmCounts(look.numbers["champion"]["resolved"], look.numbers["champion"]["settled"]),
            ArmCounts(look.numbers["canary"]["resolved"], look.numbers["canary"]["settled"]),
        )
        for look in CanaryLook.objects.filter(version=canary)
    ]
    looks.append(
        Look(
            ArmCounts(arms[CHAMPION].resolved, arms[CHAMPION].settled),
            ArmCounts(arms[CANARY].resolved, arms[CANARY].settled),
        )
    )
    result = sequential_test(
        looks=looks,
        config=SequentialConfig(
            margin=policy.resolution_margin, min_per_arm=policy.min_canary_conversations
        ),
    )
    numbers["resolution_test"] = asdict(result)
    if breaches:
        check = CanaryCheck("roll_back", "guardrail breach: " + "; ".join(breaches), numbers)
    elif result.decision in ("better", "non-inferior"):
        check = CanaryCheck("promote", f"resolution {result.decision}", numbers)
    elif result.decision == "worse":
        check = CanaryCheck("roll_back", "resolution worse than the champion's", numbers)
    else:
        check = CanaryCheck("continue", "not decided yet", numbers)
    CanaryLook.objects.create(version=canary, numbers=numbers, decision=check.decision)
    if check.decision == "promote":
        version_promote(
            version=canary, decider=Decider.SEQUENTIAL_TEST, reason=check.reason, numbers=numbers
        )
    elif check.decision == "roll_back":
        version_roll_back(
            workspace=workspace,
            kind=kind,
            decider=Decider.SEQUENTIAL_TEST,
            reason=check.reason,
            numbers=numbers,
        )
    return check
