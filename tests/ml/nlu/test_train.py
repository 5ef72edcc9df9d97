import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ml.artifacts import TamperedModelError
from ml.nlu import runtime as runtime_module
from ml.nlu.contracts import Example, NluData
from ml.nlu.evaluate import evaluate
from ml.nlu.runtime import NluRuntime
from ml.nlu.train import TrainResult, train
from tests.ml.nlu.conftest import INTENTS, tiny_config, tiny_data

ARTIFACT_FILES = {
    "adapter/adapter_config.json",
    "adapter/adapter_model.safetensors",
    "heads.safetensors",
    "bank.safetensors",
    "labels.json",
    "oos.json",
    "config.yaml",
    "meta.json",
    "metrics.json",
    "MODEL_CARD.md",
    "training_log.csv",
    "validation_log.csv",
}


def test_artifact_has_every_file_in_its_manifest(tiny_model: TrainResult) -> None:
    manifest = json.loads((tiny_model.directory / "manifest.json").read_text())["sha256"]
    assert set(manifest) >= ARTIFACT_FILES
    labels = json.loads((tiny_model.directory / "labels.json").read_text())
    assert labels["intents"] == sorted(INTENTS)
    assert labels["slot_tags"] == ["O", "B-order_id", "I-order_id"]


def test_training_logs_every_step_with_task_losses_and_weights(tiny_model: TrainResult) -> None:
    with (tiny_model.directory / "training_log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == tiny_model.steps
    assert {"intent_loss", "slots_loss", "sentiment_loss", "intent_weight", "lr"} <= set(rows[0])
    # Uncertainty weighting moves the weights away from 1 as training goes on.
    assert float(rows[-1]["intent_weight"]) != pytest.approx(1.0, abs=1e-3)


def test_tiny_model_learns_its_intents(tiny_model: TrainResult) -> None:
    runtime = NluRuntime()
    model = runtime.load("acme", tiny_model.directory)
    test = tiny_data().test
    metrics = evaluate(model, test)
    assert metrics["examples"] == 120
    assert metrics["accuracy"] >= 0.85


def test_predict_returns_intents_slots_and_sentiment(tiny_model: TrainResult) -> None:
    model = NluRuntime().load("acme", tiny_model.directory)
    [card, order] = model.predict(["my new card still hasn't arrived", "where is order 81234"])
    assert card.intent == "card_arrival"
    scores = [i.score for i in card.intents]
    assert len(scores) == 3
    assert scores == sorted(scores, reverse=True)
    assert 0.0 <= card.oos_score <= 1.0
    assert set(card.sentiment_scores) == {"neutral", "negative"}
    assert [(s.slot, s.value) for s in order.slots] == [("order_id", "81234")]


def test_workspaces_share_one_encoder(
    tiny_model: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = []
    real = runtime_module.load_base
    monkeypatch.setattr(runtime_module, "load_base", lambda path: loads.append(path) or real(path))
    other_intents = ("card_arrival", "top_up_failed")
    other = train(
        tiny_config("other", tmp_path, epochs=1),  # type: ignore[arg-type]
        data=tiny_data(other_intents, per_intent=6),
        out_dir=tmp_path / "other",
        progress=False,
    )
    runtime = NluRuntime()
    first = runtime.load("acme", tiny_model.directory)
    second = runtime.load("globex", other.directory)
    assert len(loads) == 1
    assert first.shared is second.shared
    assert first.labels.intents != second.labels.intents
    [a] = runtime.predict("acme", ["how much is the exchange rate"])
    [b] = runtime.predict("globex", ["how much is the exchange rate"])
    assert a.intents[0].intent in INTENTS
    assert {i.intent for i in b.intents} <= set(other_intents)
    # Each call runs with its own workspace's adapter, however the calls interleave.
    import torch

    text = ["my card still hasn't arrived"]
    acme, globex, acme_again = (m.outputs(text).pooled for m in (first, second, first))
    assert not torch.allclose(acme, globex, atol=1e-3)
    assert torch.equal(acme, acme_again)


def test_a_tampered_artifact_is_refused(tiny_model: TrainResult, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model.directory, copy)
    heads = copy / "heads.safetensors"
    heads.write_bytes(heads.read_bytes()[:-1] + b"\x00")
    with pytest.raises(TamperedModelError, match=r"heads\.safetensors does not match its SHA-256"):
        NluRuntime().load("acme", copy)


def test_training_refuses_a_single_intent(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        train(
            tiny_config("one", tmp_path),  # type: ignore[arg-type]
            data=tiny_data(("card_arrival",), per_intent=4),
            out_dir=tmp_path / "one",
            progress=False,
        )


def test_int8_quantization_keeps_the_answers(tiny_model: TrainResult) -> None:
    test = tiny_data().test
    full = evaluate(NluRuntime().load("acme", tiny_model.directory), test)
    model = NluRuntime(quantize=True).load("acme", tiny_model.directory)
    int8 = evaluate(model, test)
    assert abs(int8["accuracy"] - full["accuracy"]) <= 0.05
    qkv = model.shared.fast.layers[0].qkv
    assert type(qkv).__module__ == "torch.ao.nn.quantized.dynamic.modules.linear"


def test_imprinted_intent_head_is_a_nearest_centroid_classifier() -> None:
    from transformers import AutoTokenizer

    from ml.encoders import minilm_path
    from ml.nlu.config import ModelConfig
    from ml.nlu.model import Labels, NluHeads, load_base, with_new_lora
    from ml.nlu.runtime import own_pass, run_model
    from ml.nlu.tokens import encode_examples
    from ml.nlu.train import imprint_intent_head

    data = tiny_data(per_intent=8)
    examples = [e for e in data.train if e.intent]
    labels = Labels.build({e.intent for e in examples if e.intent}, set())
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    model = with_new_lora(load_base(str(minilm_path())), ModelConfig(), "default")
    heads = NluHeads(384, labels, dropout=0.0)
    items = encode_examples(examples, tokenizer, labels, 64)
    imprint_intent_head(model, heads, items, int(tokenizer.pad_token_id))
    test = [e for e in data.test if e.intent]
    encoded = encode_examples(test, tokenizer, labels, 64)
    out = run_model(own_pass(model.eval()), heads.eval(), encoded, 64, 0)
    predicted = [labels.intents[int(i)] for i in out.intent_logits.argmax(-1)]
    accuracy = sum(p == e.intent for p, e in zip(predicted, test, strict=True)) / len(test)
    assert accuracy >= 0.8  # no training at all: the class means alone


def test_knn_base_measures_out_of_scope_with_the_adapter_off(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModel

    from ml.encoders import minilm_path
    from ml.nlu.config import config_from_dict
    from ml.nlu.model import mean_pool

    config = config_from_dict(
        {
            "name": "base-space",
            "sources": [{"dataset": "jsonl", "path": "-", "tasks": ["intent"]}],
            "training": {"epochs": 4, "batch_size": 16, "lr": 0.003},
            "oos": {"method": "knn_base", "generic_negatives": True, "rule": "even_odds"},
            "output_dir": str(tmp_path),
        }
    )
    data = tiny_data()
    result = train(config, data=data, out_dir=tmp_path / "m", progress=False)
    model = NluRuntime().load("acme", result.directory)
    text = "my new card still hasn't come"
    out = model.outputs([text])
    assert out.base is not None
    assert model.outputs([text], oos=False).base is None  # SHAP's calls skip the second pass
    # The base embedding is the plain encoder's, untouched by the trained adapter.
    plain = AutoModel.from_pretrained(str(minilm_path())).eval()
    tokens = model.shared.tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        expected = mean_pool(plain(**tokens).last_hidden_state, tokens["attention_mask"])
    assert torch.allclose(out.base, expected, atol=1e-4)
    assert not torch.allclose(out.pooled, expected, atol=1e-2)
    # Messages from nowhere near the three intents score as out of scope; held-out ones don't.
    inside = model.predict([e.text for e in data.test[:30]])
    outside = model.predict(
        ["who won the football world cup in 1998", "give me a recipe for lasagna"]
    )
    assert all(r.is_oos for r in outside)
    assert sum(r.is_oos for r in inside) <= 3
    # With int8 weights the mixed batch (adapter and base rows in one pass) still works.
    int8 = NluRuntime(quantize=True).load("acme", result.directory)
    assert all(r.is_oos for r in int8.predict(["give me a recipe for lasagna"]))


def test_oos_refit_switches_a_knn_model_to_the_base_space(tiny_model: TrainResult) -> None:
    model = NluRuntime().load("acme", tiny_model.directory)
    data = tiny_data()
    training = [e.text for e in data.train if e.intent]
    inside = [e.text for e in data.validation if e.intent]
    outside = ["who won the football world cup in 1998", "give me a recipe for lasagna"]
    with pytest.raises(ValueError, match="training texts"):
        model.oos_refit(inside, outside, method="knn_base")
    model.oos_refit(inside, outside, method="knn_base", bank=training)
    assert model.oos.method == "knn_base"
    assert model.oos.bank is not None
    assert len(model.oos.bank) == len(training)
    # Every training text is its own nearest neighbour in the new bank.
    top = model.outputs(training[:5]).oos_space(model.oos) @ model.oos.bank.T
    assert top.argmax(dim=1).tolist() == [0, 1, 2, 3, 4]


OUTSIDE = [
    "who won the football world cup in 1998",
    "give me a recipe for lasagna",
    "what is the tallest mountain in europe",
    "play some jazz music",
    "how many legs does a spider have",
    "tell me a joke about cats",
]


def test_outlier_exposure_lowers_the_confidence_on_out_of_scope_examples(tmp_path: Path) -> None:
    import torch

    data = tiny_data()
    negatives = tuple(Example(text=t, is_oos=True) for t in OUTSIDE[:4])
    data = NluData(train=data.train + negatives, validation=data.validation, test=data.test)
    confidence = {}
    for weight in (0.0, 1.0):
        config = tiny_config(f"oe-{weight}", tmp_path, outlier_exposure=weight)
        result = train(config, data=data, out_dir=tmp_path / f"oe-{weight}", progress=False)  # type: ignore[arg-type]
        model = NluRuntime().load("acme", result.directory)
        logits = model.outputs(OUTSIDE[:4], oos=False).intent_logits
        confidence[weight] = float(torch.softmax(logits, -1).max(-1).values.mean())
        log = list(csv.DictReader((result.directory / "training_log.csv").open()))
        assert log, "no training steps"
        inside = [e.text for e in data.test if e.intent][:20]
        right = sum(
            r.intents[0].intent == e.intent
            for r, e in zip(
                model.predict(inside), [e for e in data.test if e.intent][:20], strict=True
            )
        )
        assert right >= 17  # the in-scope intents are still learnt
    # Trained to be unsure of them, the model is less sure of the negatives it saw.
    assert confidence[1.0] < confidence[0.0] - 0.1


def test_knn_mix_weighs_both_distances_on_validation(tmp_path: Path) -> None:
    from ml.nlu.config import config_from_dict

    data = tiny_data()
    validation = data.validation + tuple(Example(text=t, is_oos=True) for t in OUTSIDE)
    data = NluData(train=data.train, validation=validation, test=data.test)
    config = config_from_dict(
        {
            "name": "mix",
            "sources": [{"dataset": "jsonl", "path": "-", "tasks": ["intent"]}],
            "training": {"epochs": 4, "batch_size": 16, "lr": 0.003},
            "oos": {"method": "knn_mix", "target_recall": 1.0},
            "output_dir": str(tmp_path),
        }
    )
    result = train(config, data=data, out_dir=tmp_path / "m", progress=False)
    model = NluRuntime().load("acme", result.directory)
    assert model.oos.mix is not None
    assert model.oos.mix[0] > 0
    assert model.oos.mix[1] > 0
    assert model.oos.bank is not None
    assert model.oos.bank_base is not None
    assert model.oos.bank.shape == model.oos.bank_base.shape
    assert all(r.is_oos for r in model.predict(OUTSIDE))
    assert sum(r.is_oos for r in model.predict([e.text for e in data.test[:30]])) <= 3
    # Without out-of-scope validation examples there is nothing to weigh the distances on.
    plain = tiny_data()
    with pytest.raises(ValueError, match="out-of-scope validation"):
        train(config, data=plain, out_dir=tmp_path / "none", progress=False)


def test_frozen_bottom_splits_the_encoder_without_changing_its_states() -> None:
    import torch
    from transformers import AutoTokenizer

    from ml.encoders import minilm_path
    from ml.nlu.config import ModelConfig
    from ml.nlu.model import FrozenBottom, encode, load_base, with_new_lora

    model = with_new_lora(load_base(str(minilm_path())), ModelConfig(frozen_layers=3), "default")
    names = [n for n, _ in model.named_parameters() if "lora_" in n]
    adapted = {n.split(".layer.")[1].split(".")[0] for n in names}
    assert adapted == {"3", "4", "5"}  # no LoRA below the split
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    batch = tokenizer(["my card has not arrived", "hi"], padding=True, return_tensors="pt")
    model.eval()
    split = FrozenBottom(model, 3)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        whole = encode(model, ids, mask)
        parts = split.top(split.bottom(ids, mask), mask)
    real = mask.bool()
    assert torch.allclose(whole[real], parts[real], atol=1e-5)
    with pytest.raises(ValueError, match="frozen_layers"):
        with_new_lora(load_base(str(minilm_path())), ModelConfig(frozen_layers=6), "x")


def test_a_model_trained_above_a_frozen_bottom_learns_and_loads(tmp_path: Path) -> None:
    config = tiny_config("split", tmp_path)
    config = replace(config, model=replace(config.model, frozen_layers=3))  # type: ignore[type-var]
    result = train(config, data=tiny_data(), out_dir=tmp_path / "split", progress=False)  # type: ignore[arg-type]
    model = NluRuntime().load("acme", result.directory)
    metrics = evaluate(model, tiny_data().test)
    assert metrics["accuracy"] >= 0.85


def test_a_refitted_threshold_is_saved_into_the_verified_artifact(
    tiny_model: TrainResult, tmp_path: Path
) -> None:
    from ml.nlu.runtime import oos_save

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model.directory, copy)
    model = NluRuntime().load("acme", copy)
    before = model.oos.threshold
    model.oos.min_examples = 1
    threshold = model.oos_refit_examples(OUTSIDE)
    assert threshold != before
    oos_save(copy, model.oos)
    reloaded = NluRuntime().load("acme", copy)  # the manifest still verifies
    assert reloaded.oos.threshold == pytest.approx(threshold)
    assert all(r.is_oos for r in reloaded.predict(OUTSIDE))
    with pytest.raises(ValueError, match="no out-of-scope examples"):
        model.oos_refit_examples([])
