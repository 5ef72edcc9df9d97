import pytest

from ml.mlops.agreement import LabelRow, agreement_report, cohen_kappa, label_kappas


def _table(yes_yes: int, yes_no: int, no_yes: int, no_no: int) -> tuple[list[str], list[str]]:
    """Two labellers' yes/no labels from the cells of their 2x2 table."""
    cells = [("y", "y")] * yes_yes + [("y", "n")] * yes_no + [("n", "y")] * no_yes
    cells += [("n", "n")] * no_no
    return [a for a, _ in cells], [b for _, b in cells]


def test_kappa_of_the_wikipedia_50_item_example_is_0_4() -> None:
    # en.wikipedia.org/wiki/Cohen's_kappa, "Simple example": p_o = 0.7, p_e = 0.5, kappa = 0.4
    first, second = _table(20, 5, 10, 15)
    kappa = cohen_kappa(first=first, second=second)
    assert kappa.observed == pytest.approx(0.7)
    assert kappa.expected == pytest.approx(0.5)
    assert kappa.value == pytest.approx(0.4)
    assert kappa.items == 50


def test_kappa_of_the_wikipedia_same_agreement_examples() -> None:
    # The same 60% agreement gives kappa 0.1304 with balanced marginals and 0.2593 with unbalanced
    first, second = _table(45, 15, 25, 15)
    assert cohen_kappa(first=first, second=second).value == pytest.approx(0.1304, abs=5e-5)
    first, second = _table(25, 35, 5, 35)
    assert cohen_kappa(first=first, second=second).value == pytest.approx(0.2593, abs=5e-5)


def test_kappa_is_one_for_identical_labels_and_negative_below_chance() -> None:
    labels = ["a", "b", "c", "a", "b"]
    assert cohen_kappa(first=labels, second=labels).value == pytest.approx(1.0)
    assert cohen_kappa(first=["a", "b", "a", "b"], second=["b", "a", "b", "a"]).value == -1.0


def test_kappa_undefined_cases_say_why() -> None:
    one_label = cohen_kappa(first=["a", "a", "a"], second=["a", "a", "a"])
    assert one_label.value is None
    assert "one label only" in one_label.reason
    empty = cohen_kappa(first=[], second=[])
    assert empty.value is None
    assert "too few items" in empty.reason
    assert cohen_kappa(first=["a", "b"], second=["a", "b"], min_items=3).value is None
    with pytest.raises(ValueError, match="not the same items"):
        cohen_kappa(first=["a"], second=["a", "b"])


def test_per_label_kappa_is_one_vs_rest() -> None:
    first = ["card", "card", "fee", "fee", "oos", "oos"]
    second = ["card", "card", "fee", "oos", "oos", "fee"]
    per_label = label_kappas(first=first, second=second)
    assert set(per_label) == {"card", "fee", "oos"}
    assert per_label["card"].value == pytest.approx(1.0)
    # fee vs not fee: cells (y,y)=1 (y,n)=1 (n,y)=1 (n,n)=3: p_o=4/6, p_e=(2*2+4*4)/36
    p_o, p_e = 4 / 6, 20 / 36
    assert per_label["fee"].value == pytest.approx((p_o - p_e) / (1 - p_e))


def _rows(labeller: str, labels: list[str]) -> list[LabelRow]:
    return [LabelRow(item=i, labeller=labeller, label=label) for i, label in enumerate(labels)]


def test_report_flags_the_labeller_who_disagrees_with_everybody() -> None:
    gold = ["card", "fee", "oos", "transfer"] * 5
    careless = list(gold)
    for i in range(0, 20, 2):  # half the items wrong
        careless[i] = "fee" if gold[i] != "fee" else "card"
    rows = _rows("ann", gold) + _rows("bob", gold) + _rows("cid", careless)
    report = agreement_report(rows=rows)
    assert [(p.first, p.second) for p in report.pairs] == [
        ("ann", "bob"),
        ("ann", "cid"),
        ("bob", "cid"),
    ]
    assert report.pairs[0].kappa.value == pytest.approx(1.0)
    assert report.flagged == ("cid",)
    by_name = {entry.labeller: entry for entry in report.labellers}
    assert by_name["cid"].best == pytest.approx(report.pairs[1].kappa.value)
    assert by_name["ann"].best == pytest.approx(1.0)
    assert by_name["ann"].kappa.items == 40  # 20 items shared with bob, 20 with cid
    assert set(report.per_label) == {"card", "fee", "oos", "transfer"}


def test_report_with_too_few_shared_items_flags_nobody() -> None:
    rows = _rows("ann", ["a", "b", "a"]) + _rows("bob", ["b", "a", "b"])
    report = agreement_report(rows=rows)
    assert report.pairs[0].kappa.value is None
    assert "too few items" in report.pairs[0].kappa.reason
    assert report.flagged == ()


def test_report_counts_only_shared_items_and_the_last_row_of_a_labeller() -> None:
    rows = _rows("ann", ["a", "b"] * 6) + _rows("bob", ["a", "b"] * 6)
    rows += [
        LabelRow(item=0, labeller="bob", label="b"),
        LabelRow(item=0, labeller="bob", label="a"),
    ]
    rows += [LabelRow(item="only-ann", labeller="ann", label="a")]
    report = agreement_report(rows=rows)
    assert report.pairs[0].kappa.items == 12
    assert report.pairs[0].kappa.value == pytest.approx(1.0)


def test_two_labellers_who_disagree_are_both_flagged() -> None:
    rows = _rows("ann", ["a", "b", "c"] * 4) + _rows("bob", ["a", "c", "b"] * 4)
    report = agreement_report(rows=rows)
    assert report.pairs[0].kappa.value == pytest.approx(0.0)
    assert report.flagged == ("ann", "bob")
