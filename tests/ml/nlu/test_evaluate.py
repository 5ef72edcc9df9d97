"""ml.nlu.evaluate: out-of-scope recall and AUROC per kind of out-of-scope row, and each task
counted on its own rows only."""

import json
from pathlib import Path

import numpy as np
import pytest

from ml.nlu.config import SourceConfig
from ml.nlu.contracts import Example
from ml.nlu.data import load_source
from ml.nlu.data.banking77 import SHIPPED, read
from ml.nlu.data.clinc150 import generic_oos_queries
from ml.nlu.data.jsonl import example_from_json
from ml.nlu.evaluate import evaluate
from ml.nlu.runtime import NluModel, NluRuntime
from ml.nlu.train import TrainResult
from tests.ml.nlu.conftest import INTENTS, tiny_data


@pytest.fixture(scope="module")
def model(tiny_model: TrainResult) -> NluModel:
    return NluRuntime().load("acme", tiny_model.directory)


def pairwise_auroc(inscope: np.ndarray, outside: np.ndarray) -> float:
    above = (outside[:, None] > inscope[None, :]).mean()
    ties = (outside[:, None] == inscope[None, :]).mean()
    return float(above + ties / 2)


def test_out_of_scope_recall_and_auroc_by_kind(model: NluModel) -> None:
    inscope = [e for e in tiny_data().test][:30]
    bank_texts = [e.text for e in read(SHIPPED / "test.csv") if e.intent not in INTENTS][:20]
    in_domain = [Example(text=t, is_oos=True, oos_kind="in_domain") for t in bank_texts]
    elsewhere = generic_oos_queries()[:20]
    out_of_domain = [Example(text=t, is_oos=True, oos_kind="out_of_domain") for t in elsewhere]
    unnamed = [Example(text="what's the capital of peru", is_oos=True)]
    metrics = evaluate(model, inscope + in_domain + out_of_domain + unnamed)

    texts = [e.text for e in inscope + in_domain + out_of_domain + unnamed]
    raw = model.outputs(texts).oos_scores(model.oos)
    flagged = [r.is_oos for r in model.predict(texts)]
    rows = {"in_domain": slice(30, 50), "out_of_domain": slice(50, 70)}
    assert (metrics["intent_examples"], metrics["oos_examples"]) == (30, 41)
    assert metrics["oos_auroc"] == pytest.approx(pairwise_auroc(raw[:30], raw[30:]))
    for kind, where in rows.items():
        assert metrics[f"oos_examples_{kind}"] == 20
        assert metrics[f"oos_recall_{kind}"] == pytest.approx(np.mean(flagged[where]))
        assert metrics[f"oos_auroc_{kind}"] == pytest.approx(pairwise_auroc(raw[:30], raw[where]))
    assert "oos_recall_" not in metrics  # the row without a kind counts in the total only
    # No kinds named: no per-kind keys, the AUROC still.
    plain = evaluate(model, inscope + [Example(text=t, is_oos=True) for t in elsewhere])
    assert "oos_auroc" in plain
    assert not [k for k in plain if k.startswith(("oos_recall_", "oos_auroc_"))]


def test_each_task_counts_only_its_own_rows(model: NluModel) -> None:
    data = tiny_data()
    intents = list(data.test[:24])
    slot_rows = [e for e in data.train + data.validation if e.slots is not None]
    sentiment_rows = [e for e in data.train + data.validation if e.sentiment]
    unlabelled = [Example(text="hello there")]
    alone = evaluate(model, intents)
    mixed = evaluate(model, intents + slot_rows + sentiment_rows + unlabelled)
    assert alone["intent_examples"] == mixed["intent_examples"] == 24
    assert {k: mixed[k] for k in ("accuracy", "macro_f1", "ece")} == {
        k: alone[k] for k in ("accuracy", "macro_f1", "ece")
    }
    assert (mixed["slot_examples"], mixed["sentiment_examples"]) == (8, 8)
    assert mixed["examples"] == 24 + 8 + 8  # the row without any label is not evaluated
    assert "slot_f1" not in alone
    assert "sentiment_accuracy" not in alone


def test_a_model_without_a_task_is_not_scored_on_it(
    model: NluModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "meta", {**model.meta, "tasks": ["intent"]})
    slot_rows = [e for e in tiny_data().train if e.slots is not None]
    metrics = evaluate(model, list(tiny_data().test[:6]) + slot_rows)
    assert metrics["examples"] == 6
    assert "slot_f1" not in metrics


def test_out_of_scope_rows_belong_to_the_intent_task(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    rows = [
        {"text": "where is my card", "intent": "card_arrival", "split": "test"},
        {
            "text": "what's the weather",
            "is_oos": True,
            "oos_kind": "out_of_domain",
            "split": "test",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    as_intents = load_source(SourceConfig("jsonl", ("intent",), path=str(path)), 1, 0.1)
    assert [(e.is_oos, e.oos_kind) for e in as_intents.test] == [
        (False, None),
        (True, "out_of_domain"),
    ]
    # A source that teaches only sentiment doesn't teach (or test) out of scope either.
    as_sentiment = load_source(SourceConfig("jsonl", ("sentiment",), path=str(path)), 1, 0.1)
    assert [(e.is_oos, e.oos_kind) for e in as_sentiment.test] == [(False, None), (False, None)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "hi", "intent": "greet", "is_oos": True}, "carries no intent"),
        ({"text": "hi", "intent": "greet", "oos_kind": "in_domain"}, "oos_kind is for"),
    ],
)
def test_jsonl_refuses_contradictory_out_of_scope_rows(
    row: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        example_from_json(row, "data.jsonl:1")
