"""Training is budgeted by epochs or steps and stops for a recorded reason; a run cut by its
safety net (``training.max_minutes``) is marked and warned about."""

import json
import logging
import random
from pathlib import Path

import pytest
import yaml

from ml.nlu.config import config_from_dict
from ml.nlu.contracts import Example, NluData
from ml.nlu.data.banking77 import SHIPPED, read
from ml.nlu.train import TrainResult, main, train
from tests.ml.nlu.conftest import INTENTS

TRAINING = {"epochs": 3, "batch_size": 8, "lr": 0.003, "patience": 5}


def intent_rows(per_intent: int) -> list[Example]:
    rows = [e for e in read(SHIPPED / "train.csv") if e.intent in INTENTS]
    random.Random(5).shuffle(rows)
    return [e for intent in INTENTS for e in [e for e in rows if e.intent == intent][:per_intent]]


def train_small(tmp_path: Path, progress: bool = False, **training: object) -> TrainResult:
    rows = intent_rows(8)  # 6 of each intent train (3 batches an epoch), 2 validate
    data = NluData(
        train=tuple(e for i, e in enumerate(rows) if i % 8 < 6),
        validation=tuple(e for i, e in enumerate(rows) if i % 8 >= 6),
    )
    config = config_from_dict(
        {
            "name": "budget",
            "sources": [{"dataset": "jsonl", "path": "-", "tasks": ["intent"]}],
            "training": {**TRAINING, **training},
            "output_dir": str(tmp_path),
        }
    )
    return train(config, data=data, out_dir=tmp_path / "model", progress=progress)


def test_a_run_that_spends_its_budget_stopped_with_epochs_done(tmp_path: Path) -> None:
    result = train_small(tmp_path)
    expected = {
        "stop_reason": "epochs_done",
        "steps": 9,
        "steps_planned": 9,
        "epochs_planned": 3,
        "epochs_completed": 3.0,
    }
    assert result.budget() == expected
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert {k: meta[k] for k in expected} == expected
    assert "warning" not in meta
    assert (
        "Stopped: epochs_done after 9 of 9 planned steps"
        in (tmp_path / "model" / "MODEL_CARD.md").read_text()
    )


def test_max_steps_caps_the_epochs(tmp_path: Path) -> None:
    result = train_small(tmp_path, max_steps=4)
    assert (result.stop_reason, result.steps, result.steps_planned) == ("max_steps", 4, 4)
    assert result.epochs_completed == 1.33


def test_validation_that_stops_improving_stops_training_for_patience(tmp_path: Path) -> None:
    # With no learning rate the validation score never moves after the first validation.
    result = train_small(tmp_path, lr=0.0, eval_every=1, patience=1)
    assert (result.stop_reason, result.steps, result.steps_planned) == ("patience", 2, 9)
    assert not result.cut_by_time_limit


def test_the_safety_net_cuts_loudly_in_the_log_the_progress_and_the_cli_json(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "examples.jsonl"
    data.write_text(
        "".join(json.dumps({"text": e.text, "intent": e.intent}) + "\n" for e in intent_rows(7))
    )
    config = {
        "name": "budget",
        "sources": [{"dataset": "jsonl", "path": str(data), "tasks": ["intent"]}],
        "training": {**TRAINING, "max_minutes": 1e-9},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    with caplog.at_level(logging.WARNING, logger="ml.nlu.train"):
        main(["--config", str(tmp_path / "config.yaml"), "--out", str(tmp_path / "model")])
    stdout = capsys.readouterr().out
    printed = json.loads(stdout[stdout.index("{\n") :])
    warning = (
        "the time limit (training.max_minutes, a safety net) cut training after 1 of 9 planned "
        "steps (0.33 of 3 epochs)"
    )
    assert printed["stop_reason"] == "time_limit"
    assert (printed["steps"], printed["steps_planned"], printed["epochs_completed"]) == (1, 9, 0.33)
    assert printed["warning"].startswith(warning)
    assert f"WARNING budget: {warning}" in stdout  # on the progress output
    assert [r.getMessage() for r in caplog.records] == [f"budget: {printed['warning']}"]
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert (meta["stop_reason"], meta["warning"]) == ("time_limit", printed["warning"])
