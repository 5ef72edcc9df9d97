import random
from pathlib import Path

import pytest

from ml.generation.config import MixtureConfig, sft_config_from_dict
from ml.generation.data.bitext import load_rows, row_from_csv, split
from ml.generation.data.sft import PassagePool, answer_example, build_mixture, rewrite_example
from ml.generation.prompts import REFUSAL


def _csv_row(instruction: str, **extra: str) -> dict[str, str]:
    row = {
        "instruction": instruction,
        "intent": "cancel_order",
        "category": "ORDER",
        "entity_type": "",
        "start_offset": "",
        "end_offset": "",
        "response": "You can cancel it in {{Order Details}}.",
    }
    row.update(extra)
    return row


def test_marked_spans_and_detected_pii_are_redacted() -> None:
    text = "cancel order 98765 for Jane Roe, card 4111 1111 1111 1111"
    row = row_from_csv(
        2, _csv_row(text, entity_type="order_id", start_offset="13", end_offset="18")
    )
    # The name is personal data too (after the name cue "for").
    assert row.question == "cancel order <ORDER_ID_1> for <PERSON_1>, card <CARD_1>"
    assert row.entity_text == "<ORDER_ID_1>"
    cn = row_from_csv(3, _csv_row("my ID is 11010519491231002X"))
    assert "11010519491231002X" not in cn.question


def test_split_is_fixed_and_disjoint() -> None:
    rows = load_rows()
    train, test = split(rows)
    assert len(rows) == 4514
    assert len(train) + len(test) == 4514
    assert {r.row_id for r in train}.isdisjoint({r.row_id for r in test})
    assert len({r.intent for r in test}) == 27
    assert [r.row_id for r in split(rows)[1]] == [r.row_id for r in test]


def test_answer_examples_cite_the_gold_passage_or_refuse() -> None:
    train, _ = split(load_rows())
    pool = PassagePool(train, passage_words=20)
    mixture = MixtureConfig(passages=3)
    rng = random.Random(0)
    row = train[0]
    answer = answer_example(row, pool, mixture, rng, refuse=False)
    gold = answer.meta["gold"]
    assert answer.target == f"[{gold}] {row.response}"
    assert [p.pid for p in answer.passages] == ["P1", "P2", "P3"]
    gold_row = next(p for p in answer.passages if p.pid == gold)
    assert gold_row.source_id != row.row_id  # never its own response
    assert len(gold_row.text.split()) <= 20
    refusal = answer_example(row, pool, mixture, rng, refuse=True)
    assert refusal.target == REFUSAL
    intents = {r.row_id: r.intent for r in train}
    assert all(intents[p.source_id] != row.intent for p in refusal.passages)


def test_mixture_has_the_three_tasks_and_rewrites_resolve_references() -> None:
    train, _ = split(load_rows())
    rows = [r for r in train if r.entity_type == "order_id"][:40]
    rewrite = rewrite_example(rows[0], random.Random(0))
    last = rewrite.messages[-1].content.splitlines()[-1]
    assert "that order" in last
    assert rows[0].entity_text not in last
    assert rewrite.target == rows[0].question
    examples = build_mixture(
        rows, PassagePool(train, 20), MixtureConfig(summary=1.0, rewrite=1.0), random.Random(0)
    )
    assert {e.task for e in examples} == {"answer", "summary", "rewrite"}
    assert len(examples) == 120


def test_config_rejects_unknown_keys_and_bad_names() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        sft_config_from_dict({"name": "a", "sources": [{"dataset": "bitext"}], "oops": {}})
    with pytest.raises(ValueError, match="adapter name"):
        sft_config_from_dict({"name": "../etc", "sources": [{"dataset": "bitext"}]})
    with pytest.raises(ValueError, match="unknown dataset"):
        sft_config_from_dict({"name": "a", "sources": [{"dataset": "nope"}]})


def test_records_are_redacted_and_a_bad_line_is_named(tmp_path: Path) -> None:
    from ml.generation.data.records import load_records

    good = tmp_path / "kb.jsonl"
    good.write_text(
        '{"question": "refund to card 4111 1111 1111 1111?", "answer": "Five days.", '
        '"group": "article-1"}\n\n'
    )
    [row] = load_records(good)
    assert (row.intent, row.category, row.response) == ("article-1", "KB", "Five days.")
    assert "4111" not in row.question
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "a", "group": "g"}\n{"question": "q"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: a record needs"):
        load_records(bad)
    with pytest.raises(ValueError, match="records source needs a path"):
        sft_config_from_dict({"name": "x", "sources": [{"dataset": "records"}]})
