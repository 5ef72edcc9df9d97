"""The learning loop closed: reviewed labels grow a frozen evaluation set that no training sees,
a retraining trains a candidate from the rest and the gate judges it on the frozen set; the
canary check promotes or rolls back on live conversations; beat runs it all on schedule."""

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounts.models import Role, User
from apps.accounts.widget import customer_session_start
from apps.chat.models import Conversation
from apps.chat.services import conversation_close, conversation_handoff, customer_message_receive
from apps.dialogue.models import TurnTrace
from apps.mlops import services as registry
from apps.mlops import serving, tasks
from apps.mlops.models import (
    CanaryLook,
    Decision,
    FrozenItem,
    ModelVersion,
    ReleasePolicy,
    Retraining,
)
from apps.mlops.services import retraining as loop
from apps.mlops.services.canary import canary_check
from apps.mlops.services.schedule import release_policy_update, schedules_sync
from apps.nlu import services as nlu_services
from apps.nlu.models import TrainingExample, TrainingRun
from apps.nlu.runtime import model_serving
from apps.review.models import ReviewItem, ReviewLabel
from ml.mlops.gate import Predictions
from ml.mlops.hygiene import is_frozen, normalise
from ml.nlu.data.banking77 import SHIPPED, read

INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_phone")
State = ModelVersion.State


def _rows(split: str, per_intent: int) -> list[tuple[str, str]]:
    rows = [(e.text, e.intent or "") for e in read(SHIPPED / split) if e.intent in INTENTS]
    return [r for name in INTENTS for r in [r for r in rows if r[1] == name][:per_intent]]


def _reviewed(workspace: Any, labeller: User, rows: list[tuple[str, str]]) -> None:
    """Final reviewed labels, as the review queue leaves them (one labeller each)."""
    now = timezone.now()
    for text, intent in rows:
        item = ReviewItem.objects.create(
            workspace=workspace,
            text=text,
            turn_at=now,
            status=ReviewItem.Status.DONE,
            final_intent=intent,
            final_source=ReviewItem.Source.SINGLE,
            finalized_at=timezone.now(),
        )
        ReviewLabel.objects.create(item=item, labeller=labeller, intent=intent)


@pytest.fixture
def champion(workspace_a: Any) -> ModelVersion:
    """Workspace A trained by hand on 8 examples per intent: the champion (today's rule)."""
    nlu_services.training_examples_import(workspace=workspace_a, rows=_rows("train.csv", 8))
    run = TrainingRun.objects.create(workspace=workspace_a)
    run = nlu_services.training_run_execute(run_id=run.pk)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    version = ModelVersion.objects.get(training_run=run)
    assert version.state == State.CHAMPION
    return version


@pytest.fixture
def labeller(member_of: Callable[..., User], workspace_a: Any) -> User:
    return member_of(workspace_a, Role.OPERATOR)


def _policy(workspace: Any, **fields: Any) -> ReleasePolicy:
    return release_policy_update(workspace=workspace, **fields)


@pytest.mark.django_db
def test_the_frozen_set_grows_by_its_rule_and_never_trains(
    workspace_a: Any, champion: ModelVersion, labeller: User
) -> None:
    rows = _rows("test.csv", 12)
    _reviewed(workspace_a, labeller, rows)
    _policy(workspace_a, min_new_labels=5)
    done = loop.retraining_run(workspace=workspace_a, trigger="schedule")
    assert done is not None
    assert done.training_run is not None, done.reason
    frozen = {normalise(t) for t, _ in rows if is_frozen(text=t)}
    assert frozen  # the rule picks about 20% of the texts
    assert set(FrozenItem.objects.values_list("normalised", flat=True)) == frozen
    data = Path(done.training_run.config["sources"][0]["path"]).read_text().splitlines()
    trained = {normalise(json.loads(line)["text"]) for line in data}
    assert not trained & frozen
    # The other reviewed labels train, but for near-duplicates of a frozen or kept text.
    open_texts = {normalise(t) for t, _ in rows if not is_frozen(text=t)}
    hygiene = done.numbers["hygiene"]
    assert len(open_texts & trained) == hygiene["training_reviewed"] >= 0.9 * len(open_texts)
    assert hygiene["reviewed"] == len(rows) - len(frozen)
    assert done.numbers["hygiene"]["threshold"] == 0.91
    assert done.numbers["weak_labels"] == "not used"
    # The candidate was judged by the gate, not by the stop-gap: it never became champion.
    version = done.version
    assert version is not None
    assert version.state in (State.CANARY, State.REJECTED)
    decision = Decision.objects.get(version=version)
    assert decision.decider == Decision.Decider.GATE
    assert decision.numbers["frozen_items"] == len(frozen)
    assert set(decision.numbers["accuracy"]) == {"candidate", "champion"}
    # A frozen text an operator adds by hand is left out of a manual training's export too.
    frozen_text = next(t for t, _ in rows if is_frozen(text=t))
    TrainingExample.objects.create(workspace=workspace_a, text=frozen_text)
    path = Path(champion.artifact_path).parent / "manual.jsonl"
    nlu_services.training_data_export(workspace=workspace_a, path=path)
    assert normalise(frozen_text) not in {
        normalise(json.loads(line)["text"]) for line in path.read_text().splitlines()
    }
    # The set only grows: a later pass keeps every frozen text.
    if version.state == State.CANARY:  # a running canary makes the next pass wait
        registry.version_roll_back(workspace=workspace_a, kind="nlu", decider="person")
    _reviewed(workspace_a, labeller, _rows("test.csv", 16)[-6:])
    loop.retraining_run(workspace=workspace_a, trigger="schedule")
    assert frozen <= set(FrozenItem.objects.values_list("normalised", flat=True))


@pytest.mark.django_db
def test_a_pass_with_too_few_new_labels_is_skipped_with_its_reason(
    workspace_a: Any, champion: ModelVersion, labeller: User
) -> None:
    _reviewed(workspace_a, labeller, _rows("test.csv", 2))
    runs = TrainingRun.objects.count()
    done = loop.retraining_run(workspace=workspace_a, trigger="schedule")
    assert done is not None
    assert done.status == Retraining.Status.SKIPPED
    assert "fewer than the policy's 50" in done.reason
    assert done.numbers["min_new_labels"] == 50
    assert TrainingRun.objects.count() == runs
    assert ModelVersion.objects.get(state=State.CHAMPION) == champion


def _predictions(labels: list[str]) -> Predictions:
    return Predictions(
        labels=tuple(labels), confidences=tuple(0.9 for _ in labels), latencies_ms=(5.0,) * 10
    )


@pytest.mark.django_db
def test_the_gate_rejects_a_candidate_trained_on_30_percent_shuffled_labels(
    workspace_a: Any, make_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion = registry.version_register_nlu(run=make_run(workspace_a), trigger="person")
    registry.version_promote(version=champion, decider="person")
    candidate = registry.version_register_nlu(run=make_run(workspace_a), trigger="schedule")
    # A frozen set of 120 items over 6 intents; the champion gets 90% right, the candidate
    # learned from labels shuffled for 30% of items and gets them wrong where it learned wrong.
    rng = random.Random(0)
    intents = [f"intent_{k}" for k in range(6)]
    gold = [intents[i % 6] for i in range(120)]
    for i, label in enumerate(gold):
        FrozenItem.objects.create(
            workspace=workspace_a, text=f"text {i}", normalised=f"text {i}", label=label
        )
    champion_labels = [g if rng.random() < 0.9 else rng.choice(intents) for g in gold]
    shuffled = [rng.choice(intents) if rng.random() < 0.3 else g for g in champion_labels]
    predictions = {champion.pk: champion_labels, candidate.pk: shuffled}
    monkeypatch.setattr(
        loop,
        "frozen_predictions",
        lambda *, version, texts: _predictions(predictions[version.pk]),
    )
    assert loop.version_judge(version=candidate) == Retraining.Status.REJECTED
    candidate.refresh_from_db()
    assert candidate.state == State.REJECTED
    decision = Decision.objects.get(version=candidate, action=Decision.Action.REJECT)
    assert "macro_f1_vs_champion" in decision.numbers["failed"]
    assert "macro_f1_vs_champion" in decision.reason
    failed = [c for c in decision.numbers["checks"] if not c["passed"]]
    assert failed
    assert all(c["value"] < c["threshold"] for c in failed if c["name"] != "ece")
    assert decision.numbers["accuracy"]["candidate"] < decision.numbers["accuracy"]["champion"]
    # The champion still serves.
    assert serving.nlu_serving_runs(workspace_a.pk, "any")[0].version_id == champion.pk


@pytest.mark.django_db
def test_a_crash_mid_training_leaves_the_champion_serving(
    workspace_a: Any, champion: ModelVersion, labeller: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reviewed(workspace_a, labeller, _rows("test.csv", 4))
    _policy(workspace_a, min_new_labels=3)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("killed halfway through an epoch")

    monkeypatch.setattr("ml.nlu.train.train", crash)
    done = loop.retraining_run(workspace=workspace_a, trigger="schedule")
    assert done is not None
    assert done.status == Retraining.Status.FAILED
    assert "MemoryError" in done.reason
    assert done.training_run is not None
    assert done.training_run.status == TrainingRun.Status.FAILED
    assert list(ModelVersion.objects.values_list("pk", "state")) == [(champion.pk, State.CHAMPION)]
    served = model_serving(workspace=workspace_a, session_key="customer-1")
    assert served is not None
    assert served.run.version_id == champion.pk
    # The failed pass does not block the next one.
    assert not Retraining.objects.filter(status=Retraining.Status.RUNNING).exists()


@pytest.mark.django_db
def test_a_second_delivery_while_a_pass_runs_does_nothing(workspace_a: Any, labeller: User) -> None:
    Retraining.objects.create(workspace=workspace_a, kind="nlu", trigger="schedule")
    assert loop.retraining_run(workspace=workspace_a, trigger="schedule") is None
    assert tasks.mlops_retrain(workspace_a.pk) == "already running"
    assert Retraining.objects.count() == 1
    assert tasks.mlops_canary_check(workspace_a.pk) == "no canary"
    assert tasks.mlops_retrain(999_999) == "no workspace"


# --- the canary check ------------------------------------------------------------------------


def _canary(workspace: Any, make_run: Any, **policy: Any) -> tuple[ModelVersion, ModelVersion]:
    _policy(workspace, canary_share=0.5, **policy)
    champion = registry.version_register_nlu(run=make_run(workspace), trigger="person")
    registry.version_promote(version=champion, decider="person")
    candidate = registry.version_register_nlu(run=make_run(workspace), trigger="schedule")
    registry.canary_start(version=candidate, decider="gate")
    candidate.refresh_from_db()
    return champion, candidate


def _conversations(
    workspace: Any, version: ModelVersion, arm: str, n: int, handed_off: int, agent: User
) -> list[str]:
    """``n`` conversations answered by ``version``, the first ``handed_off`` of them handed to
    a person, all closed (settled). Returns their session keys."""
    keys = []
    for i in range(n):
        session = customer_session_start(workspace=workspace, origin="https://acme.example.com")
        message, _ = customer_message_receive(
            session=session.session, text=f"question {i}", client_message_id=f"{arm}-{i}"
        )
        TurnTrace.objects.create(
            workspace=workspace,
            conversation_id=message.conversation_id,
            customer_message=message,
            route="faq",
            intent="card_arrival",
            latency_ms=20.0,
            data={"versions": {"nlu": {"id": version.pk, "number": version.number, "arm": arm}}},
        )
        if i < handed_off:
            conversation_handoff(conversation_id=message.conversation_id, reason="low_confidence")
        conversation_close(
            workspace=workspace, conversation_id=message.conversation_id, agent=agent
        )
        keys.append(str(session.session.pk))
    return keys


@pytest.mark.django_db
def test_a_guardrail_breach_rolls_the_canary_back_and_the_champion_serves(
    workspace_a: Any, make_run: Any, agent_of: Callable[..., User]
) -> None:
    agent = agent_of(workspace_a)
    champion, canary = _canary(workspace_a, make_run, guardrail_min_conversations=30)
    _conversations(workspace_a, champion, "champion", 40, handed_off=4, agent=agent)
    _conversations(workspace_a, canary, "canary", 40, handed_off=30, agent=agent)
    check = canary_check(workspace=workspace_a)
    assert check is not None
    assert check.decision == "roll_back"
    assert check.reason.startswith("guardrail breach: handoff 0.750 vs 0.100")
    canary.refresh_from_db()
    assert canary.state == State.REJECTED
    decision = Decision.objects.get(action=Decision.Action.ROLL_BACK)
    assert decision.decider == Decision.Decider.SEQUENTIAL_TEST
    assert decision.numbers["canary"]["handoff"] == 0.75
    assert decision.numbers["champion"]["handed_off"] == 4
    assert CanaryLook.objects.get().decision == "roll_back"
    # Every customer session, those the canary served included, is the champion's now.
    sessions = [str(s) for s in Conversation.objects.values_list("customer_session_id", flat=True)]
    for key in sessions:
        assert [r.version_id for r in serving.nlu_serving_runs(workspace_a.pk, key)] == [
            champion.pk
        ]


@pytest.mark.django_db
def test_a_clear_win_on_resolution_promotes_the_canary(
    workspace_a: Any, make_run: Any, agent_of: Callable[..., User]
) -> None:
    agent = agent_of(workspace_a)
    champion, canary = _canary(
        workspace_a,
        make_run,
        min_canary_conversations=30,
        guardrail_min_conversations=30,
        resolution_margin=0.0,
    )
    _conversations(workspace_a, champion, "champion", 60, handed_off=30, agent=agent)
    _conversations(workspace_a, canary, "canary", 60, handed_off=3, agent=agent)
    check = canary_check(workspace=workspace_a)
    assert check is not None
    assert (check.decision, check.reason) == ("promote", "resolution better")
    assert check.numbers["resolution_test"]["lower"] > 0
    canary.refresh_from_db()
    champion.refresh_from_db()
    assert (canary.state, champion.state) == (State.CHAMPION, State.RETIRED)
    decision = Decision.objects.get(action=Decision.Action.PROMOTE, version=canary)
    assert decision.numbers["canary"]["automated_resolution"] == 0.95
    assert decision.numbers["champion"]["automated_resolution"] == 0.5
    # A second look finds nothing to decide.
    assert canary_check(workspace=workspace_a) is None


@pytest.mark.django_db
def test_too_few_conversations_keep_the_canary_running(
    workspace_a: Any, make_run: Any, agent_of: Callable[..., User]
) -> None:
    agent = agent_of(workspace_a)
    champion, canary = _canary(workspace_a, make_run)
    _conversations(workspace_a, champion, "champion", 5, handed_off=0, agent=agent)
    _conversations(workspace_a, canary, "canary", 5, handed_off=5, agent=agent)
    check = canary_check(workspace=workspace_a)
    assert check is not None
    assert check.decision == "continue"
    canary.refresh_from_db()
    assert canary.state == State.CANARY
    assert tasks.mlops_canary_check_all() == 1


# --- the schedule ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_policy_schedules_the_workspace_retraining_in_beat(
    workspace_a: Any, workspace_b: Any
) -> None:
    _policy(workspace_a, nlu_schedule="15 2 * * 1")
    task = PeriodicTask.objects.get(name=f"mlops-retrain-nlu-{workspace_a.pk}")
    assert task.task == "apps.mlops.tasks.mlops_retrain"
    assert json.loads(task.args) == [workspace_a.pk]
    assert task.crontab is not None
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "15",
        "2",
        "*",
        "*",
        "1",
    )
    # A changed cron moves the same task; every workspace gets one (the default cron without
    # a policy of its own).
    _policy(workspace_a, nlu_schedule="0 4 * * *")
    assert PeriodicTask.objects.get(name=f"mlops-retrain-nlu-{workspace_a.pk}").crontab.hour == "4"
    assert schedules_sync() >= 2
    other = PeriodicTask.objects.get(name=f"mlops-retrain-nlu-{workspace_b.pk}")
    assert (other.crontab.minute, other.crontab.hour) == ("0", "3")
    # The daily tasks the migration scheduled.
    assert set(
        PeriodicTask.objects.filter(
            name__in=["review-harvest", "mlops-canary-check", "mlops-schedules-sync"]
        ).values_list("task", flat=True)
    ) == {
        "apps.review.tasks.review_harvest_all",
        "apps.mlops.tasks.mlops_canary_check_all",
        "apps.mlops.tasks.mlops_schedules_sync",
    }


@pytest.mark.django_db
def test_a_policy_with_a_bad_cron_is_refused(workspace_a: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        _policy(workspace_a, nlu_schedule="every night")
    assert not PeriodicTask.objects.filter(name__startswith="mlops-retrain-nlu-").exists()
