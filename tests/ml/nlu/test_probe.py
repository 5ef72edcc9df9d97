"""The base-space intent probe: fitted on training rows, its share chosen on validation."""

from pathlib import Path

import torch

from ml.nlu.probe import IntentProbe
from ml.nlu.runtime import NluRuntime
from ml.nlu.train import TrainResult, train
from tests.ml.nlu.conftest import tiny_config, tiny_data


def _clusters(rows_per_intent: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three intents, one direction each in a 4-d embedding space, with a little noise."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.eye(3, 4)
    intents = torch.arange(3).repeat_interleave(rows_per_intent)
    return centres[intents] + 0.1 * torch.randn(len(intents), 4, generator=generator), intents


def test_the_probe_gets_a_share_when_it_is_right_where_the_head_is_not() -> None:
    train_base, train_intents = _clusters(10, seed=1)
    validation_base, validation_intents = _clusters(10, seed=2)
    # A head that is sure of intent 0 every time: right on a third of validation only.
    wrong_head = torch.zeros(len(validation_intents), 3)
    wrong_head[:, 0] = 5.0
    probe = IntentProbe.fit(
        train_base, train_intents, 3, wrong_head, validation_base, validation_intents
    )
    assert probe is not None
    assert 0.0 < probe.mix <= 1.0
    mixed = probe.logits(wrong_head, validation_base)
    assert mixed.argmax(-1).tolist() == validation_intents.tolist()


def test_no_probe_is_kept_when_the_head_alone_does_best() -> None:
    train_base, train_intents = _clusters(10, seed=1)
    validation_base, validation_intents = _clusters(10, seed=2)
    perfect_head = 8.0 * torch.nn.functional.one_hot(validation_intents, 3).float()
    probe = IntentProbe.fit(
        train_base, train_intents, 3, perfect_head, validation_base, validation_intents
    )
    assert probe is None


def test_an_intent_without_training_rows_is_never_chosen_by_the_probe() -> None:
    train_base, train_intents = _clusters(10, seed=1)
    keep = train_intents != 2
    validation_base, validation_intents = _clusters(10, seed=2)
    head = torch.zeros(len(validation_intents), 3)
    probe = IntentProbe.fit(
        train_base[keep], train_intents[keep], 3, head, validation_base, validation_intents
    )
    assert probe is not None
    assert float(probe.bias[2]) < -1000


def test_a_model_trained_with_the_probe_saves_loads_and_uses_it(tmp_path: Path) -> None:
    from ml.nlu.config import config_from_dict

    # One epoch at a learning rate that leaves the head near random: the probe must win.
    raw = tiny_config("probe", tmp_path, epochs=1, lr=1e-7).to_dict()  # type: ignore[attr-defined]
    raw["model"]["base_probe"] = True
    result: TrainResult = train(
        config_from_dict(raw), data=tiny_data(), out_dir=tmp_path / "m", progress=False
    )
    model = NluRuntime().load("acme", result.directory)
    assert model.probe is not None
    assert model.probe.mix > 0
    assert '"intent_probe_mix": 0.0' not in (result.directory / "meta.json").read_text()
    text = "my card still hasn't arrived"
    out = model.outputs([text], oos=False)
    assert out.base is not None  # the probe needs the base pass even when OOS doesn't
    plain = NluRuntime().load("plain", result.directory)
    plain.probe = None
    head_only = plain.outputs([text], oos=False)
    assert out.base is not None
    assert torch.allclose(
        out.intent_logits, model.probe.logits(head_only.intent_logits, out.base), atol=1e-4
    )
    assert model.predict([text])[0].intents[0].intent == "card_arrival"


def test_a_two_intent_probe_tells_them_apart() -> None:
    """sklearn fits two classes as one logit; both intents must still be reachable."""
    train_base, train_intents = _clusters(10, seed=1)
    validation_base, validation_intents = _clusters(10, seed=2)
    two = train_intents < 2
    held = validation_intents < 2
    probe = IntentProbe.fit(
        train_base[two],
        train_intents[two],
        2,
        torch.zeros(int(held.sum()), 2),
        validation_base[held],
        validation_intents[held],
    )
    assert probe is not None
    predicted = probe.logits(torch.zeros(int(held.sum()), 2), validation_base[held]).argmax(-1)
    assert predicted.tolist() == validation_intents[held].tolist()
