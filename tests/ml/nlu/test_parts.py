"""The small pieces: configuration, BIO tags, task weighting, out-of-scope threshold, data."""

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from ml.encoders import minilm_path
from ml.nlu.config import config_from_dict
from ml.nlu.contracts import Example, SlotSpan
from ml.nlu.data import stratified_holdout, take_shots
from ml.nlu.data.bitext import example_from_row
from ml.nlu.data.jsonl import example_from_json
from ml.nlu.data.woz2 import ValueFinder, example_from_turn
from ml.nlu.model import Labels, TaskWeighting
from ml.nlu.oos import OosDetector, temperature_fit
from ml.nlu.tokens import batch_count, batches, decode_slots, encode_examples, task_signature
from ml.nlu.train import LinearSchedule


def test_config_refuses_unknown_keys_and_values() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        config_from_dict(
            {"name": "x", "sources": [{"dataset": "banking77"}], "training": {"epoch": 3}}
        )
    with pytest.raises(ValueError, match="loss_weighting"):
        config_from_dict(
            {
                "name": "x",
                "sources": [{"dataset": "banking77"}],
                "training": {"loss_weighting": "max"},
            }
        )
    with pytest.raises(ValueError, match="unknown task"):
        config_from_dict({"name": "x", "sources": [{"dataset": "banking77", "tasks": ["ner"]}]})


def test_bio_tags_round_trip_through_decoding() -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    text = "Any cheap eritrean restaurants in the centre?"
    spans = (
        SlotSpan("price_range", 4, 9, "cheap"),
        SlotSpan("food", 10, 18, "eritrean"),
        SlotSpan("area", 38, 44, "centre"),
    )
    labels = Labels.build(set(), {"food", "area", "price_range"})
    [encoded] = encode_examples([Example(text=text, slots=spans)], tokenizer, labels, 64)
    tags = [labels.slot_tags[t] if t >= 0 else "-" for t in encoded.slot_tags]
    assert tags.count("B-food") == 1
    assert "I-food" in tags
    tag_ids = [max(t, 0) for t in encoded.slot_tags]
    assert decode_slots(text, encoded.offsets, tag_ids, labels) == spans


def test_decoding_repairs_an_inside_tag_without_a_beginning() -> None:
    labels = Labels.build(set(), {"food"})
    offsets = [(0, 0), (0, 3), (4, 8), (0, 0)]
    o, i_food = labels.slot_tags.index("O"), labels.slot_tags.index("I-food")
    assert decode_slots("hot thai", offsets, [o, o, i_food, o], labels) == (
        SlotSpan("food", 4, 8, "thai"),
    )


def test_uncertainty_weighting_is_kendalls_formula() -> None:
    weighting = TaskWeighting(("intent", "slots"), "uncertainty")
    with torch.no_grad():
        weighting.log_vars.copy_(torch.tensor([0.5, -1.0]))
    total = weighting({"intent": torch.tensor(2.0), "slots": torch.tensor(3.0)})
    expected = np.exp(-0.5) * 2.0 + 0.5 + np.exp(1.0) * 3.0 - 1.0
    assert float(total.detach()) == pytest.approx(expected, rel=1e-6)


def test_dwa_gives_more_weight_to_the_task_that_learns_slower() -> None:
    weighting = TaskWeighting(("intent", "slots"), "dwa")
    weighting.epoch_end({"intent": 2.0, "slots": 2.0})
    assert weighting.weights() == {"intent": 1.0, "slots": 1.0}
    weighting.epoch_end({"intent": 1.0, "slots": 1.9})  # intent halves, slots barely move
    weights = weighting.weights()
    assert weights["slots"] > 1.0 > weights["intent"]
    assert sum(weights.values()) == pytest.approx(2.0)


def test_schedule_warms_up_then_decays_over_the_planned_steps() -> None:
    schedule = LinearSchedule(100, 0.1)
    assert schedule(0) == pytest.approx(0.1 / 0.9)  # warming up
    assert schedule(10) == pytest.approx(1.0)
    assert schedule(55) == pytest.approx(0.5)
    assert schedule(100) == 0.0
    assert schedule(130) == 0.0


def test_threshold_with_oos_examples_maximises_both_recalls() -> None:
    detector = OosDetector(method="msp", k=1, temperature=1.0)
    inscope = np.array([0.1, 0.2, 0.3, 0.35], dtype=np.float32)
    outside = np.array([0.32, 0.6, 0.7], dtype=np.float32)
    detector.fit(inscope, outside, inscope_keep=0.97)
    # From 0.3 up to 0.32: 3 of 4 in scope kept, 3 of 3 outside caught (J 1.75); at 0.35: 4/4 +
    # 2/3 (1.67). The threshold sits in the middle of that gap.
    assert detector.threshold == pytest.approx(0.31)
    assert detector.is_oos(np.array([0.315, 0.305], dtype=np.float32)).tolist() == [True, False]
    calibrated = detector.calibrated(np.array([0.0, 1.0], dtype=np.float32))
    assert calibrated[0] < 0.5 < calibrated[1]


def test_even_odds_threshold_sits_where_the_calibrated_probability_is_one_half() -> None:
    # Templated validation rows: every in-scope distance is tiny, so Youden's gap starts just
    # above them (a few general queries sit close) and a rephrasing at 0.14 is flagged; even
    # odds weighs the whole fit instead.
    generator = np.random.default_rng(0)
    inscope = generator.uniform(0.0, 0.1, 300).astype(np.float32)
    near, far = generator.uniform(0.12, 0.25, 20), generator.uniform(0.3, 0.9, 180)
    outside = np.concatenate([near, far]).astype(np.float32)
    youden = OosDetector(method="knn", k=5, temperature=1.0)
    youden.fit(inscope, outside, inscope_keep=0.97)
    even = OosDetector(method="knn", k=5, temperature=1.0, rule="even_odds")
    even.fit(inscope, outside, inscope_keep=0.97)
    assert youden.threshold < even.threshold
    assert even.calibrated(np.array([even.threshold], dtype=np.float32))[0] == pytest.approx(0.5)
    rephrasing = np.array([0.14], dtype=np.float32)
    assert youden.is_oos(rephrasing)[0]
    assert not even.is_oos(rephrasing)[0]
    assert OosDetector.from_json(even.to_json(), bank=None).rule == "even_odds"


def test_threshold_without_oos_examples_keeps_a_share_of_in_scope() -> None:
    detector = OosDetector(method="msp", k=1, temperature=1.0)
    inscope = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    detector.fit(inscope, np.zeros(0, dtype=np.float32), inscope_keep=0.9)
    assert detector.threshold == pytest.approx(0.9)
    assert detector.calibrated(np.array([0.5], dtype=np.float32))[0] == pytest.approx(51 / 101)


def test_temperature_fit_recovers_an_overconfident_scale() -> None:
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 5, (4000,), generator=generator)
    true_logits = torch.randn(4000, 5, generator=generator)
    true_logits[torch.arange(4000), targets] += 1.0
    sampled = torch.multinomial(torch.softmax(true_logits, -1), 1, generator=generator).squeeze(1)
    assert temperature_fit(true_logits * 3.0, sampled) == pytest.approx(3.0, rel=0.15)


def test_holdout_and_shots_keep_every_intent() -> None:
    rows = [Example(text=f"{i} {n}", intent=i) for i in ("a", "b", "c") for n in range(10)]
    keep, held = stratified_holdout(rows, 0.2, random.Random(1))
    assert sorted(e.intent for e in held) == ["a", "a", "b", "b", "c", "c"]
    assert len(keep) == 24
    assert not set(keep) & set(held)
    shots = take_shots(keep, 3, random.Random(1))
    assert sorted(e.intent for e in shots) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3


def test_woz_values_are_found_through_their_surface_forms() -> None:
    finder = ValueFinder(
        {"food": ["chinese", "asian oriental"], "area": ["centre"], "price range": ["moderate"]}
    )
    turn = {
        "transcript": "A moderately priced asian place in the center please",
        "turn_label": [
            ["price range", "moderate"],
            ["food", "asian oriental"],
            ["area", "centre"],
            ["request", "phone"],
        ],
    }
    example = example_from_turn(turn, finder)
    assert [(s.slot, s.value, turn["transcript"][s.start : s.end]) for s in example.slots] == [
        ("price_range", "moderate", "moderately priced"),
        ("food", "asian oriental", "asian"),
        ("area", "centre", "center"),
    ]
    assert finder.normalize("area", "Center") == "centre"


def test_bitext_row_gives_slot_and_weak_sentiment() -> None:
    row = {
        "instruction": "I want to cancel order 1234 you f*cking idiots",
        "intent": "cancel_order",
        "entity_type": "order_id",
        "start_offset": "23",
        "end_offset": "27",
        "tags": "BW",
    }
    example = example_from_row(row)
    assert example.slots == (SlotSpan("order_id", 23, 27, "1234"),)
    assert example.sentiment == "negative"


def test_jsonl_rows_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the text"):
        example_from_json({"text": "hi", "slots": [{"slot": "x", "start": 0, "end": 9}]}, "row 1")
    with pytest.raises(ValueError, match="non-empty text"):
        example_from_json({"text": " "}, "row 2")
    assert example_from_json({"text": "x", "is_oos": True}, "row 3").is_oos
    (tmp_path / "x.jsonl").write_text(json.dumps({"text": "a", "split": "later"}) + "\n")


def test_by_task_batches_hold_one_task_mix_each() -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    labels = Labels.build({"a", "b"}, {"food"})
    examples = [Example(text=f"intent {i}", intent="ab"[i % 2]) for i in range(10)]
    examples += [
        Example(text=f"thai {i}", slots=(SlotSpan("food", 0, 4, "thai"),)) for i in range(7)
    ]
    items = encode_examples(examples, tokenizer, labels, 16)
    made = list(batches(items, 4, 0, random.Random(1), by_task=True))
    assert len(made) == batch_count(items, 4, by_task=True) == 3 + 2
    for batch in made:
        assert len({task_signature(items[i]) for i in batch.indices}) == 1
    mixed = list(batches(items, 4, 0, random.Random(1)))
    assert len(mixed) == batch_count(items, 4, by_task=False) == 5
    assert sorted(i for b in made for i in b.indices) == list(range(17))


def test_threshold_for_a_target_out_of_scope_recall() -> None:
    detector = OosDetector(method="msp", k=1, temperature=1.0)
    outside = np.arange(1, 101, dtype=np.float32) / 100
    detector.fit(np.zeros(5, dtype=np.float32), outside, inscope_keep=0.97, target_recall=0.85)
    assert float(detector.is_oos(outside).mean()) == pytest.approx(0.85)
    detector.fit(np.zeros(5, dtype=np.float32), outside, inscope_keep=0.97, target_recall=1.0)
    assert bool(detector.is_oos(outside).all())


def test_ensemble_score_is_the_sum_of_in_scope_z_scores() -> None:
    detector = OosDetector(method="ensemble", k=1, temperature=1.0)
    inscope = np.array([[0.1, 0.2, 0.0], [0.3, 0.4, 0.2], [0.2, 0.3, 0.1]], dtype=np.float32)
    detector.fit_standard(inscope)
    assert detector.mix is not None
    assert len(detector.mix) == 4
    weights, bias = np.asarray(detector.mix[:3]), detector.mix[3]
    z = (inscope - inscope.mean(0)) / inscope.std(0)
    assert inscope @ weights + bias == pytest.approx(z.sum(1), abs=1e-3)
    restored = OosDetector.from_json(detector.to_json(), bank=None)
    assert restored.mix == pytest.approx(detector.mix)
    assert restored.needs_base
    assert restored.is_mixed
    assert not restored.bank_is_base
    with pytest.raises(ValueError, match="in-scope validation"):
        detector.fit_standard(inscope[:1])


def test_few_oos_examples_keep_the_in_scope_share_and_many_may_not_flag_too_many() -> None:
    inscope = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    detector = OosDetector(
        method="msp", k=1, temperature=1.0, inscope_keep=0.95, min_examples=10, max_flagged=0.1
    )
    # Nine examples are too few to move the threshold off the 95 % in-scope quantile.
    detector.fit(inscope, np.full(9, 0.5, dtype=np.float32))
    assert detector.threshold == pytest.approx(0.95)
    assert detector.platt is None
    # Ten low-scoring ones would pull Youden's threshold to 0.49 (half the in-scope flagged);
    # the cap keeps it where 10 % are.
    detector.refit(np.full(10, 0.5, dtype=np.float32))
    assert detector.threshold == pytest.approx(0.9)
    assert detector.platt is not None
    # Ten high-scoring ones: Youden's threshold, between the two groups.
    detector.refit(np.linspace(1.5, 2.0, 10, dtype=np.float32))
    assert 1.0 < detector.threshold < 1.5
    restored = OosDetector.from_json(detector.to_json(), bank=None)
    assert (restored.inscope_keep, restored.min_examples, restored.max_flagged) == (0.95, 10, 0.1)
    # Models saved before these settings existed load with the old behaviour.
    old = {k: v for k, v in detector.to_json().items() if k not in ("min_examples", "max_flagged")}
    assert OosDetector.from_json(old, bank=None).max_flagged == 1.0
