"""Hand-built conversations, turns, feedback and CSAT with known answers (see
``test_metrics.py``): every timestamp is set, none comes from the clock."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.accounts.models import CustomerSession, Role, User, Workspace
from apps.analytics.models import AnalyticsSettings
from apps.analytics.services import analytics_rebuild
from apps.chat.models import Conversation, Message
from apps.dialogue.models import TurnTrace
from apps.feedback.models import MessageFeedback
from tests.factories import CustomerSessionFactory, MembershipFactory, WorkspaceFactory

NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Built:
    workspace: Workspace
    conversations: dict[str, Conversation] = field(default_factory=dict)


class Builder:
    """Writes raw rows the way the product does, with chosen times."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def session(self) -> CustomerSession:
        return CustomerSessionFactory(workspace=self.workspace)

    def conversation(
        self,
        created: datetime,
        *,
        session: CustomerSession | None = None,
        closed: datetime | None = None,
        handoff: tuple[str, datetime] | None = None,
        csat: int | None = None,
    ) -> Conversation:
        conversation = Conversation.objects.create(
            workspace=self.workspace, customer_session=session or self.session()
        )
        fields: dict[str, Any] = {"created_at": created, "csat_score": csat}
        if closed:
            fields.update(closed_at=closed, status=Conversation.Status.CLOSED)
        if handoff:
            fields.update(handoff_reason=handoff[0], handoff_requested_at=handoff[1])
        Conversation.objects.filter(id=conversation.id).update(**fields)
        conversation.refresh_from_db()
        return conversation

    def message(
        self, conversation: Conversation, sender: str, when: datetime, text: str = "hello"
    ) -> Message:
        message = Message.objects.create(conversation=conversation, sender=sender, text=text)
        Message.objects.filter(id=message.id).update(created_at=when)
        return message

    def turn(
        self,
        conversation: Conversation,
        when: datetime,
        *,
        text: str = "a question",
        intent: str = "",
        route: str = "faq",
        reason: str = "",
        oos: bool = False,
        model: str = "nlu-v1",
        engine: str = "EngineReplier",
        adapter: str | None = None,
        fallbacks: list[str] | None = None,
        unanswered: bool = False,
        blocked: bool = False,
        injection: bool = False,
        redactions: dict[str, int] | None = None,
        latency: dict[str, float] | None = None,
        rating: str = "",
        rating_reason: str = "",
    ) -> TurnTrace:
        """A customer message, the bot's reply a second later, and the turn's trace."""
        question = self.message(conversation, Message.Sender.CUSTOMER, when, text)
        reply = self.message(conversation, Message.Sender.BOT, when + timedelta(seconds=1), "ok")
        data = {
            "version": 1,
            "nlu": {
                "intents": [{"name": intent, "score": 0.9}] if intent else [],
                "oos": oos,
                "oos_score": 0.9 if oos else 0.1,
                "slots": [],
                "sentiment": "neutral",
                "model": model,
            },
            "handler": {"unanswered": True} if unanswered else {},
            "inbound": {
                "redactions": redactions or {},
                "injection": {"flagged": injection, "score": 0.0, "rules": []},
            },
            "guard": {"blocked": blocked, "reasons": ["card"] if blocked else []},
            "route": {"name": route, "reason": reason},
            "sources": [],
            "generator": {
                "engine": engine,
                "adapter": adapter,
                "fallbacks": fallbacks or [],
                "broken": "",
            },
            "latency_ms": latency or {"total": 10.0},
        }
        trace = TurnTrace.objects.create(
            workspace=self.workspace,
            conversation=conversation,
            customer_message=question,
            reply_message=reply,
            intent=intent,
            intent_score=0.9 if intent else None,
            route=route,
            latency_ms=(latency or {"total": 10.0})["total"],
            data=data,
        )
        TurnTrace.objects.filter(id=trace.id).update(created_at=when)
        if rating:
            MessageFeedback.objects.create(
                workspace=self.workspace, message=reply, rating=rating, reason=rating_reason
            )
        return trace


def build_scenario(workspace: Workspace) -> Built:
    """The known-answer scenario of ``test_metrics`` (times in UTC; the workspace's time zone is
    Asia/Shanghai, UTC+8). Current period: 2025-03-03 to 2025-03-09 local."""
    AnalyticsSettings.objects.create(workspace=workspace, time_zone="Asia/Shanghai")
    b = Builder(workspace)
    c: dict[str, Conversation] = {}
    customer, agent = Message.Sender.CUSTOMER, Message.Sender.AGENT
    down, up = MessageFeedback.Rating.DOWN, MessageFeedback.Rating.UP

    # C1: answered by vLLM, idle -> resolved on 03-04 02:00, durable (now is past 03-11 02:00).
    c["c1"] = b.conversation(at(3, 2), csat=5)
    b.turn(
        c["c1"],
        at(3, 2),
        intent="card_pin",
        engine="vllm",
        adapter="acme@1",
        rating=up,
        latency={"total": 120.0, "first_chunk": 40.0, "nlu": 10.0},
    )
    # C2: closed without a person -> resolved at 04:00; the customer is back on 03-06 (C3):
    # reopened, not durable.
    session = b.session()
    c["c2"] = b.conversation(at(4, 3), session=session, closed=at(4, 4))
    b.turn(
        c["c2"],
        at(4, 3),
        intent="card_pin",
        engine="transformers",
        adapter="acme@1",
        fallbacks=["vllm: connection refused"],
        rating=down,
        rating_reason="wrong answer",
        redactions={"PAYMENT_CARD": 1},
        latency={"total": 900.0, "first_chunk": 300.0},
    )
    # C3: same customer; clarify, then handed off (low confidence); an agent answers after
    # 10 minutes, closes an hour after the handoff.
    c["c3"] = b.conversation(
        at(6, 10),
        session=session,
        closed=at(6, 11, 5),
        csat=2,
        handoff=("out of scope (0.91), 2 turns in a row", at(6, 10, 5)),
    )
    b.turn(c["c3"], at(6, 10), route="clarify", oos=True, latency={"total": 30.0})
    b.turn(
        c["c3"],
        at(6, 10, 5),
        route="handoff",
        oos=True,
        latency={"total": 25.0},
        reason="out of scope (0.91), 2 turns in a row",
    )
    b.message(c["c3"], agent, at(6, 10, 15), "Hi, I am Ann")
    # C4-C8: one handoff of each other reason.
    c["c4"] = b.conversation(
        at(7, 8), handoff=("the customer asked for a person (the words)", at(7, 8))
    )
    b.turn(
        c["c4"],
        at(7, 8),
        text="转人工",
        intent="agent_request",
        route="handoff",
        reason="the customer asked for a person (the words)",
        latency={"total": 20.0},
    )
    c["c5"] = b.conversation(
        at(7, 9),
        closed=at(7, 9, 30),
        handoff=("intent report_fraud (0.97) is marked sensitive", at(7, 9)),
    )
    b.turn(
        c["c5"],
        at(7, 9),
        intent="report_fraud",
        route="handoff",
        reason="intent report_fraud (0.97) is marked sensitive",
        latency={"total": 22.0},
    )
    b.message(c["c5"], agent, at(7, 9, 2), "Let me look")
    c["c6"] = b.conversation(
        at(8, 12), handoff=("negative sentiment (0.93) for 2 turns in a row", at(8, 12))
    )
    b.turn(
        c["c6"],
        at(8, 12),
        intent="complaint",
        route="handoff",
        reason="negative sentiment (0.93) for 2 turns in a row",
        latency={"total": 18.0},
    )
    c["c7"] = b.conversation(at(8, 13), handoff=("prompt_injection", at(8, 13)))
    b.turn(
        c["c7"],
        at(8, 13),
        route="handoff",
        injection=True,
        latency={"total": 5.0},
        reason="prompt injection suspected: {'flagged': True}",
    )
    c["c8"] = b.conversation(at(8, 14), handoff=("bot_error", at(8, 14, 1)))
    b.message(c["c8"], customer, at(8, 14), "where is my parcel")
    # C10: answered from a passage (newer NLU model), then an injection refused; resolved
    # 03-10 10:01, durability still open on 03-12.
    c["c10"] = b.conversation(at(9, 10), csat=4)
    b.turn(
        c["c10"],
        at(9, 10),
        intent="delivery_time",
        engine="extractive",
        model="nlu-v2",
        rating=down,
        redactions={"EMAIL": 2, "PAYMENT_CARD": 1},
        latency={"total": 60.0},
    )
    b.turn(
        c["c10"],
        at(9, 10, 1),
        route="refuse",
        injection=True,
        model="nlu-v2",
        latency={"total": 8.0},
    )
    # C11: nothing found; idle past a day, the customer is back on 03-12 in the same
    # conversation (that turn is after the period): reopened.
    c["c11"] = b.conversation(at(9, 15))
    b.turn(c["c11"], at(9, 15), intent="delivery_time", unanswered=True, latency={"total": 15.0})
    b.turn(c["c11"], at(12, 11), intent="greeting", route="smalltalk", latency={"total": 3.0})
    # C12: a flow whose reply the guard blocked; the customer keeps writing every 20 hours:
    # still going on 03-12, not settled.
    c["c12"] = b.conversation(at(9, 15, 30))
    b.turn(
        c["c12"],
        at(9, 15, 30),
        intent="track_order",
        route="flow",
        blocked=True,
        latency={"total": 40.0},
    )
    for hours in (20, 40, 60):
        b.message(c["c12"], customer, at(9, 15, 30) + timedelta(hours=hours))
    # C13: opened, never written in: no conversation.
    c["c13"] = b.conversation(at(9, 16))

    # Previous period: one handoff at the customer's request, one durable resolution.
    c["p1"] = b.conversation(at(25, 0, month=2), handoff=("customer_request", at(25, 0, month=2)))
    b.message(c["p1"], customer, at(25, 0, month=2), "human please")
    c["p2"] = b.conversation(at(26, 0, month=2), csat=4)
    b.turn(
        c["p2"],
        at(26, 0, month=2),
        intent="card_pin",
        engine="vllm",
        adapter="acme@1",
        latency={"total": 100.0},
    )
    return Built(workspace=workspace, conversations=c)


@pytest.fixture
def scenario(db: None) -> Built:
    """Acme's known-answer scenario and a second company (Globex) with traffic of its own, both
    rolled up as of ``NOW``."""
    acme = WorkspaceFactory(slug="acme", name="Acme")
    globex = WorkspaceFactory(slug="globex", name="Globex")
    built = build_scenario(acme)
    other = Builder(globex)
    for day in (3, 4, 9):
        conversation = other.conversation(at(day, 1), handoff=("customer_request", at(day, 1)))
        other.turn(conversation, at(day, 1), intent="card_pin", text="GLOBEX-SECRET")
    analytics_rebuild(workspace=acme, now=NOW)
    analytics_rebuild(workspace=globex, now=NOW)
    return built


@pytest.fixture
def analyst_of() -> Any:
    def make(workspace: Workspace, role: str = Role.ANALYST) -> User:
        user: User = MembershipFactory(workspace=workspace, role=role).user
        return user

    return make
