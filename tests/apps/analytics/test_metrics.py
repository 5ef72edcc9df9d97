"""Every metric against hand-counted answers on the scenario of ``conftest.build_scenario``
(reopened conversations, a handoff of each reason, an empty day, a pending conversation, a
conversation with no customer message), through the API an analyst uses."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analytics import metrics
from apps.analytics.models import ConversationFact
from apps.analytics.services import analytics_rebuild, analytics_refresh
from tests.apps.analytics.conftest import NOW, Builder, Built, at

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2025-03-03", "end": "2025-03-09"}  # Shanghai days: [03-02 16:00Z, 03-09 16:00Z)


@pytest.fixture
def client(scenario: Built, analyst_of: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(analyst_of(scenario.workspace))
    return api


def get(client: APIClient, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1/workspaces/acme/analytics/{path}", {**PERIOD, **params})
    assert response.status_code == 200, response.content
    return response.json()


def rate(value: dict[str, Any]) -> tuple[int, int]:
    return value["k"], value["n"]


def test_the_period_is_whole_local_days(client: APIClient) -> None:
    body = get(client, "summary/")
    assert body["filters"]["start"] == "2025-03-02T16:00:00+00:00"
    assert body["filters"]["end"] == "2025-03-09T16:00:00+00:00"
    assert body["previous_period"] == {
        "start": "2025-02-23T16:00:00+00:00",
        "end": "2025-03-02T16:00:00+00:00",
    }
    assert body["time_zone"] == "Asia/Shanghai"


def test_conversation_metrics(client: APIClient) -> None:
    m = {name: v["current"] for name, v in get(client, "summary/")["metrics"].items()}
    # C13 has no customer message. A conversation's messages count with it, also those written
    # after the period (C11's return, C12's last ones): 1+1+2+1+1+1+1+1+2+2+4.
    assert m["conversations"] == {"value": 11}
    assert m["customer_messages"] == {"value": 17}
    # Settled: all but C12 (still writing). Resolved: C1, C2 (closed), C10, C11 (idle).
    assert rate(m["automated_resolution"]) == (4, 10)
    # Durable: C1 only. Known: the 6 handed off, C2 and C11 (reopened), C1; C10's week is open.
    assert rate(m["durable_resolution"]) == (1, 9)
    assert rate(m["handoff"]) == (6, 11)
    for reason in metrics.HANDOFF_REASONS:
        assert rate(m[f"handoff_{reason}"]) == (1, 11), reason
    assert rate(m["csat_response"]) == (3, 11)
    assert rate(m["csat_satisfied"]) == (2, 3)
    mean = m["csat_mean"]
    assert mean["n"] == 3
    assert mean["value"] == pytest.approx(11 / 3)
    # s = sqrt(7/3): 11/3 +- 1.959964 * s / sqrt(3)
    assert mean["low"] == pytest.approx(11 / 3 - 1.959963984540054 * (7 / 9) ** 0.5)
    assert mean["high"] == pytest.approx(11 / 3 + 1.959963984540054 * (7 / 9) ** 0.5)
    # C3: handed off 10:05, agent 10:15, closed 11:05; C5: 09:00, 09:02, 09:30.
    assert m["agent_first_response"] == {"n": 2, "mean": 360.0, "p50": 120.0, "p90": 600.0}
    assert m["handoff_to_close"] == {"n": 2, "mean": 2700.0, "p50": 1800.0, "p90": 3600.0}


def test_wilson_intervals_and_previous_period(client: APIClient) -> None:
    body = get(client, "summary/")["metrics"]
    handoff = body["handoff"]["current"]
    assert handoff["value"] == pytest.approx(6 / 11)
    # Wilson 95% for 6 of 11 and for 1 of 2, worked by hand: (p + z²/2n -+ z sqrt(p(1-p)/n +
    # z²/4n²)) / (1 + z²/n).
    assert (handoff["low"], handoff["high"]) == pytest.approx((0.28009, 0.78729), abs=1e-5)
    previous = body["handoff"]["previous"]
    assert rate(previous) == (1, 2)
    assert (previous["low"], previous["high"]) == pytest.approx((0.09453, 0.90547), abs=1e-5)
    assert body["conversations"]["previous"] == {"value": 2}
    assert rate(body["automated_resolution"]["previous"]) == (1, 2)
    assert rate(body["durable_resolution"]["previous"]) == (1, 2)
    assert rate(body["handoff_explicit_request"]["previous"]) == (1, 2)
    assert body["turns"]["previous"] == {"value": 1}
    # No thumbs in the previous period: 0 of 1 answered turn.
    assert rate(body["thumbs_down"]["previous"]) == (0, 1)
    assert body["thumbs_down"]["previous"]["high"] == pytest.approx(0.79345, abs=1e-5)


def test_turn_metrics(client: APIClient) -> None:
    body = get(client, "summary/")
    m = {name: v["current"] for name, v in body["metrics"].items()}
    assert m["turns"] == {"value": 12}  # C11's second turn is on 03-12
    assert rate(m["clarify"]) == (1, 12)
    assert (m["clarify"]["low"], m["clarify"]["high"]) == pytest.approx(
        (0.01487, 0.35388), abs=1e-5
    )
    assert rate(m["oos"]) == (2, 12)
    # Answered: C1, C2, C10's answer (C11 found nothing, C12's reply was blocked).
    assert rate(m["thumbs_down"]) == (2, 3)
    for path in ("vllm", "transformers", "extractive", "not_found"):
        assert rate(m[f"path_{path}"]) == (1, 4), path
    assert rate(m["fallback"]) == (1, 3)
    assert rate(m["guard_blocked"]) == (1, 12)
    assert rate(m["injection_flagged"]) == (2, 12)
    assert rate(m["injection_refused"]) == (1, 12)
    assert rate(m["injection_handoff"]) == (1, 12)
    assert body["redactions"] == [
        {"type": "PAYMENT_CARD", "current": 2, "previous": 0},
        {"type": "EMAIL", "current": 2, "previous": 0},
    ] or body["redactions"] == [
        {"type": "EMAIL", "current": 2, "previous": 0},
        {"type": "PAYMENT_CARD", "current": 2, "previous": 0},
    ]
    assert body["thumbs_down_reasons"] == [{"reason": "wrong answer", "count": 1}]


def test_latency_percentiles(client: APIClient) -> None:
    latency = get(client, "summary/")["latency"]
    # Totals 5 8 15 18 20 22 25 30 40 60 120 900: nearest ranks 6, 11, 12 are 22, 120 and 900,
    # each the last in its bucket, so the estimate is the bucket's upper edge.
    assert latency["total"]["current"] == {"n": 12, "p50": 22.74, "p90": 135.53, "p99": 1009.74}
    assert 18.19 < 22 <= 22.74
    assert 108.42 < 120 <= 135.53
    assert 807.79 < 900 <= 1009.74
    assert latency["first_chunk"]["current"] == {"n": 2, "p50": 44.41, "p90": 330.87, "p99": 330.87}
    assert latency["total"]["previous"] == {"n": 1, "p50": 108.42, "p90": 108.42, "p99": 108.42}


def test_series_in_the_workspace_time_zone_with_empty_days(client: APIClient) -> None:
    points = get(client, "series/", metric="conversations", bucket="day")["points"]
    assert [p["start"][:10] for p in points] == [f"2025-03-0{d}" for d in range(3, 10)]
    assert points[0]["start"] == "2025-03-03T00:00:00+08:00"
    assert [p["value"] for p in points] == [1, 1, 0, 1, 2, 3, 3]
    handoff = get(client, "series/", metric="handoff", bucket="day")["points"]
    assert [(p["k"], p["n"]) for p in handoff] == [
        (0, 1),
        (0, 1),
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 3),
        (0, 3),
    ]
    assert handoff[2]["value"] is None
    assert handoff[2]["low"] is None
    week = get(client, "series/", metric="turns", bucket="week")["points"]
    # Monday 03-03 local starts the week; the period is that week.
    assert [(p["start"], p["value"]) for p in week] == [("2025-03-03T00:00:00+08:00", 12)]
    latency = get(client, "series/", metric="latency_total", bucket="month")["points"]
    assert latency[0]["n"] == 12
    assert latency[0]["p50"] == 22.74


def test_hour_buckets(client: APIClient) -> None:
    points = get(
        client,
        "series/",
        metric="turns",
        bucket="hour",
        start="2025-03-09T18:00:00+08:00",
        end="2025-03-10T00:00:00+08:00",
    )["points"]
    # 10:00Z and 10:01Z (C10) are 18:00 local, 15:00Z (C11) 23:00; 15:30Z (C12) too.
    assert [(p["start"][11:13], p["value"]) for p in points] == [
        ("18", 2),
        ("19", 0),
        ("20", 0),
        ("21", 0),
        ("22", 0),
        ("23", 2),
    ]


def test_filters(client: APIClient) -> None:
    def conversations(**filters: Any) -> int:
        return get(client, "summary/", **filters)["metrics"]["conversations"]["current"]["value"]

    assert conversations(language="zh") == 1  # C4 wrote in Chinese
    assert conversations(language="en") == 10
    assert conversations(intent="card_pin") == 2
    assert conversations(route="clarify") == 1
    assert conversations(nlu_model="nlu-v2") == 1
    assert conversations(generator="vllm:acme@1") == 1
    assert conversations(generator="extractive") == 1
    assert conversations(handed_off="false") == 5
    assert conversations(handed_off="true") == 6
    zh = get(client, "summary/", language="zh")["metrics"]
    assert rate(zh["handoff_explicit_request"]["current"]) == (1, 1)
    assert zh["turns"]["current"] == {"value": 1}
    card = get(client, "summary/", intent="card_pin")
    assert card["metrics"]["turns"]["current"] == {"value": 2}
    assert rate(card["metrics"]["thumbs_down"]["current"]) == (1, 2)
    assert card["not_filtered"] == {"latency": ["intent"]}
    handed = get(client, "summary/", handed_off="true")["metrics"]
    assert handed["turns"]["current"] == {"value": 6}  # C3 x2, C4, C5, C6, C7 (C8 had none)


def test_intents_and_models(client: APIClient) -> None:
    intents = get(client, "intents/")
    by_name = {row["intent"]: row for row in intents["intents"]}
    assert by_name["card_pin"]["turns"] == 2
    assert by_name["card_pin"]["previous_turns"] == 1
    assert by_name["card_pin"]["rise"] == 1.5
    assert rate(by_name["card_pin"]["thumbs_down"]) == (1, 2)
    assert rate(by_name["card_pin"]["automated_resolution"]) == (2, 2)
    assert by_name["delivery_time"]["turns"] == 2
    assert intents["rising"] == []  # none has 5 turns
    assert intents["trend"]["turns"][""] == [0, 0, 0, 2, 0, 1, 1]
    models = get(client, "models/")
    nlu = {row["version"]: row for row in models["nlu_model"]}
    assert nlu["nlu-v1"]["conversations"] == {"value": 9}
    assert nlu["nlu-v2"]["conversations"] == {"value": 1}
    assert nlu["nlu-v2"]["turns"] == {"value": 2}
    generators = {row["version"]: row for row in models["generator"]}
    assert set(generators) == {"", "vllm:acme@1", "transformers:acme@1", "extractive"}
    assert rate(generators["transformers:acme@1"]["fallback"]) == (1, 1)
    assert generators["vllm:acme@1"]["latency_total"]["n"] == 1


def test_drilldown_from_a_number_and_a_bucket(client: APIClient, scenario: Built) -> None:
    ids = {name: c.id for name, c in scenario.conversations.items()}

    def listed(**params: Any) -> list[int]:
        return [r["conversation_id"] for r in get(client, "conversations/", **params)["results"]]

    assert set(listed(metric="handoff")) == {ids[n] for n in ("c3", "c4", "c5", "c6", "c7", "c8")}
    assert listed(metric="handoff_sensitive_intent") == [ids["c5"]]
    assert set(listed(metric="automated_resolution")) == {
        ids[n] for n in ("c1", "c2", "c10", "c11")
    }
    assert set(listed(metric="automated_resolution", side="rest")) == {
        ids[n] for n in ("c3", "c4", "c5", "c6", "c7", "c8")
    }
    assert listed(metric="durable_resolution") == [ids["c1"]]
    assert set(listed(metric="thumbs_down")) == {ids["c2"], ids["c10"]}
    assert listed(metric="thumbs_down", side="rest") == [ids["c1"]]
    assert listed(metric="clarify") == [ids["c3"]]
    assert listed(metric="fallback") == [ids["c2"]]
    assert listed(metric="path_not_found") == [ids["c11"]]
    # The 03-09 (local) bucket of the resolution series.
    assert set(
        listed(
            metric="automated_resolution", bucket="day", bucket_start="2025-03-09T00:00:00+08:00"
        )
    ) == {ids["c10"], ids["c11"]}
    detail = get(client, f"conversations/{ids['c3']}/")
    assert [t["route"] for t in detail["turns"]] == ["clarify", "handoff"]
    assert detail["turns"][1]["route_reason"] == "out of scope (0.91), 2 turns in a row"
    assert detail["turns"][0]["oos_score"] == 0.9
    assert detail["facts"]["handoff_category"] == "low_confidence"
    assert [m["sender"] for m in detail["messages"]] == [
        "customer",
        "bot",
        "customer",
        "bot",
        "agent",
    ]


def test_exports(client: APIClient, scenario: Built) -> None:
    response = client.get("/api/v1/workspaces/acme/analytics/export/conversations.csv", PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("conversation_id,started_at,language,intent")
    assert len(lines) == 12
    turns = client.get("/api/v1/workspaces/acme/analytics/export/turns.csv", PERIOD)
    text = b"".join(turns.streaming_content).decode()
    assert len(text.splitlines()) == 13
    assert "转人工" in text
    assert "GLOBEX-SECRET" not in text
    series = client.get(
        "/api/v1/workspaces/acme/analytics/export/series.csv",
        {**PERIOD, "metric": "handoff", "bucket": "day"},
    )
    rows = b"".join(series.streaming_content).decode().splitlines()
    assert rows[0] == "start,end,value,k,n,low,high"
    assert rows[3] == "2025-03-05T00:00:00+08:00,2025-03-06T00:00:00+08:00,,0,0,,"


def test_refresh_matches_a_rebuild(scenario: Built) -> None:
    """New traffic after the rebuild, then the incremental refresh: the same facts as rebuilding
    from scratch (a customer's return reopens their earlier conversation too)."""
    workspace = scenario.workspace
    b = Builder(workspace)
    later = NOW + timedelta(hours=2)
    c1 = scenario.conversations["c1"]
    b.turn(c1, NOW + timedelta(hours=1), intent="card_pin", engine="vllm", adapter="acme@1")
    again = b.conversation(
        NOW + timedelta(hours=1), session=scenario.conversations["c10"].customer_session
    )
    b.message(again, "customer", NOW + timedelta(hours=1))
    c3 = scenario.conversations["c3"]
    type(c3).objects.filter(id=c3.id).update(csat_score=5)
    analytics_refresh(workspace=workspace, now=later)

    def facts() -> list[dict[str, Any]]:
        rows = ConversationFact.objects.filter(workspace=workspace).order_by("pk")
        return list(
            rows.values(
                *(
                    f.attname
                    for f in ConversationFact._meta.concrete_fields
                    if f.name != "computed_at"
                )
            )
        )

    refreshed = facts()
    analytics_rebuild(workspace=workspace, now=later)
    rebuilt = facts()
    assert refreshed == rebuilt
    facts = {f["conversation_id"]: f for f in rebuilt}
    assert facts[scenario.conversations["c10"].id]["reopened"] is True
    assert facts[c3.id]["csat_score"] == 5


def test_a_refresh_with_nothing_new_touches_nothing(scenario: Built) -> None:
    """Once every window has run out and the overlap has passed, a refresh recomputes no
    conversation (an unrated conversation is no change of CSAT)."""
    workspace = scenario.workspace
    now = timezone.now()
    analytics_refresh(workspace=workspace, now=now)
    analytics_refresh(workspace=workspace, now=now + timedelta(hours=1))
    result = analytics_refresh(workspace=workspace, now=now + timedelta(hours=2))
    assert (result.conversations, result.hours, result.turns) == (0, 0, 0)


def test_outcome_rules() -> None:
    day, week = timedelta(hours=24), timedelta(days=7)
    talk = [metrics.Activity("customer", at(1, 0)), metrics.Activity("bot", at(1, 0, 1))]

    def outcome(**kwargs: Any) -> metrics.ConversationOutcome:
        values = {
            "activity": talk,
            "closed_at": None,
            "handoff_requested_at": None,
            "later_customer_messages": [],
            "now": at(20, 0),
            "resolution_window": day,
            "durable_window": week,
        } | kwargs
        return metrics.conversation_outcome(**values)

    assert outcome().durable
    assert outcome().ended_at == at(2, 0, 1)
    assert not outcome(now=at(2, 0)).settled  # 23h59 idle
    assert outcome(now=at(2, 0)).recheck_at == at(2, 0, 1)
    back = outcome(later_customer_messages=[at(9, 0, 1)])  # exactly D after: still reopened
    assert back.reopened
    assert not back.durable
    assert back.durable_known
    assert not outcome(later_customer_messages=[at(9, 0, 2)]).reopened
    agent = outcome(activity=[*talk, metrics.Activity("agent", at(1, 1))])
    assert agent.settled
    assert not agent.resolved
    assert agent.durable_known
    assert outcome(closed_at=at(1, 2)).ended_at == at(1, 2)


def test_handoff_categories() -> None:
    assert metrics.handoff_category("customer_request") == "explicit_request"
    assert metrics.handoff_category("the customer asked for a person (intent x (0.91))") == (
        "explicit_request"
    )
    assert metrics.handoff_category("the customer accepted the offer of a person") == (
        "explicit_request"
    )
    assert metrics.handoff_category("intent fraud (0.97) is marked sensitive") == "sensitive_intent"
    assert metrics.handoff_category("low confidence (0.31 < 0.5), 2 turns in a row") == (
        "low_confidence"
    )
    assert metrics.handoff_category("negative sentiment (0.9) for 2 turns in a row") == (
        "negative_sentiment"
    )
    assert metrics.handoff_category("prompt_injection") == "injection_policy"
    assert metrics.handoff_category("flow refund: the action failed") == "other"
    assert metrics.handoff_category("bot_error") == "other"


def test_wilson_edges() -> None:
    assert metrics.wilson_interval(0, 0) is None
    low, high = metrics.wilson_interval(0, 10)  # type: ignore[misc]
    assert low == 0.0
    assert high == pytest.approx(0.27753, abs=1e-5)
    low, high = metrics.wilson_interval(10, 10)  # type: ignore[misc]
    assert low == pytest.approx(0.72247, abs=1e-5)
    assert high == pytest.approx(1.0)
