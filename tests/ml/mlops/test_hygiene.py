import numpy as np
import pytest

from ml.mlops.hygiene import (
    NEAR_DUPLICATE_THRESHOLD,
    TrainingRow,
    clean_training_rows,
    is_frozen,
    normalise,
)


def _unit(*angles_degrees: float) -> np.ndarray:
    """Unit vectors in the plane at these angles: cos(angle difference) is their similarity."""
    radians = np.deg2rad(np.array(angles_degrees))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)


def _texts_not_frozen(count: int) -> list[str]:
    texts = (f"how do I top up my card number {i}" for i in range(10_000))
    return [text for text in texts if not is_frozen(text=text)][:count]


def test_normalise_folds_case_punctuation_and_spaces() -> None:
    assert normalise("  I lost my CARD!!  ") == "i lost my card"
    assert normalise("i lost\tmy card?") == "i lost my card"
    assert normalise("我的卡丢了！") == "我的卡丢了"


def test_frozen_rule_is_fixed_by_the_text_and_puts_about_its_share_in() -> None:
    texts = [f"where is my refund {i}" for i in range(2000)]
    frozen = [is_frozen(text=text) for text in texts]
    assert frozen == [is_frozen(text=text) for text in texts]
    assert is_frozen(text="Where is my refund 7?") == is_frozen(text="where is my refund 7")
    assert 0.17 < sum(frozen) / len(frozen) < 0.23  # the default is 20%
    assert not any(is_frozen(text=text, frozen_percent=0) for text in texts)
    # Known values of the rule, so a change to it (which would move labels between the frozen
    # set and training) fails here
    assert [i for i in range(40) if frozen[i]] == [1, 8, 13, 18, 28, 31, 38]
    assert [i for i in range(40) if is_frozen(text=f"WHERE is my refund {i}!")] == [
        1, 8, 13, 18, 28, 31, 38,
    ]  # fmt: skip


def test_frozen_texts_never_enter_training_and_the_sets_are_disjoint() -> None:
    texts = [f"where is my refund {i}" for i in range(200)]
    rows = [TrainingRow(text, "refund", "reviewed") for text in texts]
    # The same texts again, as weak labels with different case and punctuation
    rows += [TrainingRow(text.upper() + "?", "refund", "weak") for text in texts]
    embeddings = np.eye(400, dtype=np.float32)  # all far apart: only the text rule acts
    report = clean_training_rows(rows=rows, embeddings=embeddings)
    frozen_texts = {normalise(rows[i].text) for i in report.newly_frozen}
    training_texts = {normalise(rows[i].text) for i in report.training}
    assert frozen_texts
    assert not frozen_texts & training_texts
    assert frozen_texts == {normalise(t) for t in texts if is_frozen(text=t)}
    assert {normalise(rows[i].text) for i in report.frozen_leaks} == frozen_texts
    assert all(rows[i].source == "weak" for i in report.frozen_leaks)


def test_texts_already_frozen_or_near_them_are_held_out() -> None:
    texts = _texts_not_frozen(3)
    rows = [TrainingRow(text, "top_up", "weak") for text in texts]
    report = clean_training_rows(
        rows=rows,
        embeddings=_unit(0, 60, 120),
        frozen_texts=[texts[0].upper()],
        frozen_embeddings=_unit(61),
    )
    assert report.frozen_leaks == (0, 1)
    assert report.training == (2,)


def test_near_duplicates_of_a_label_keep_the_first_and_across_labels_conflict() -> None:
    texts = _texts_not_frozen(5)
    rows = [
        TrainingRow(texts[0], "top_up", "reviewed"),
        TrainingRow(texts[1], "top_up", "weak"),  # 10 degrees from row 0: cosine 0.985
        TrainingRow(texts[2], "top_up", "weak"),  # 40 degrees: cosine 0.766, kept
        TrainingRow(texts[3], "refund", "weak"),  # 5 degrees from row 2, another label
        TrainingRow(texts[4], "refund", "weak"),
    ]
    report = clean_training_rows(rows=rows, embeddings=_unit(0, 10, 40, 45, 180))
    assert report.training == (0, 2, 3, 4)
    assert [(d.dropped, d.kept) for d in report.duplicates] == [(1, 0)]
    assert report.duplicates[0].similarity == pytest.approx(np.cos(np.deg2rad(10)))
    assert [(c.first, c.second, c.same_text) for c in report.conflicts] == [(2, 3, False)]


def test_exact_duplicates_and_conflicting_labels_of_one_text() -> None:
    texts = _texts_not_frozen(2)
    rows = [
        TrainingRow(texts[0], "top_up", "weak"),
        TrainingRow(texts[0].upper() + "!", "top_up", "weak"),
        TrainingRow(texts[1], "top_up", "weak"),
        TrainingRow(texts[1] + ".", "refund", "weak"),
    ]
    report = clean_training_rows(rows=rows, embeddings=_unit(0, 0, 90, 90))
    assert report.training == (0,)
    assert [(d.dropped, d.kept, d.similarity) for d in report.duplicates] == [(1, 0, 1.0)]
    assert [(c.first, c.second, c.same_text) for c in report.conflicts] == [(2, 3, True)]


def test_default_threshold_is_the_benchmarked_one() -> None:
    import json
    from pathlib import Path

    result = Path(__file__).resolve().parents[3] / "benchmarks/results/dedup_threshold.json"
    assert json.loads(result.read_text())["metrics"]["dedup_threshold"] == NEAR_DUPLICATE_THRESHOLD


def test_mismatched_embeddings_are_refused() -> None:
    with pytest.raises(ValueError, match="embeddings for"):
        clean_training_rows(rows=[TrainingRow("a", "b", "weak")], embeddings=_unit(0, 1))
