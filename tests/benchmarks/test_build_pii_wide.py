"""The wider PII set: the outside split's labels lie on its text, and the builder writes the
committed file again byte for byte."""

import json
import re
from collections import Counter
from typing import Any

import pytest

from benchmarks.data.safety.build_pii_wide import (
    EN_COMPOSED_TEMPLATES,
    OUTPUT,
    PER_TEMPLATE,
    SLOTS,
    UNLABELLED,
    build,
)


@pytest.fixture(scope="module")
def committed() -> list[dict[str, Any]]:
    with OUTPUT.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def outside(committed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in committed if row["split"] == "outside"]


def test_the_builder_writes_the_committed_rows(committed: list[dict[str, Any]]) -> None:
    assert build() == committed


def test_the_outside_split_is_576_english_messages_after_the_others(
    committed: list[dict[str, Any]], outside: list[dict[str, Any]]
) -> None:
    assert len(outside) == 576
    assert {row["lang"] for row in outside} == {"en"}
    assert committed[-576:] == outside  # appended: the other splits keep their ids
    assert len({row["id"] for row in committed}) == len(committed)


def test_every_outside_span_lies_on_its_value(outside: list[dict[str, Any]]) -> None:
    for row in outside:
        text, end_before = row["text"], 0
        for span in row["spans"]:
            value = text[span["start"] : span["end"]]
            assert span["entity"] in {"ADDRESS", "PERSON", "PHONE"}, row["id"]
            assert end_before <= span["start"] < span["end"] <= len(text), row["id"]
            assert value == value.strip(), (row["id"], value)
            assert value[-1] not in ",;:", (row["id"], value)
            end_before = span["end"]


def test_each_outside_span_is_exactly_a_slot_of_its_template(
    outside: list[dict[str, Any]],
) -> None:
    templates = EN_COMPOSED_TEMPLATES["outside"]
    assert len(templates) == 48
    for index, row in enumerate(outside):
        template = templates[index // PER_TEMPLATE["en"]]
        pattern, entities = "", []
        for literal, slot in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
            pattern += re.escape(literal)
            if slot in UNLABELLED:
                pattern += ".+?"
            elif slot:
                pattern += "(.+?)"
                entities.append(SLOTS[slot])
        match = re.fullmatch(pattern, row["text"], re.DOTALL)
        assert match is not None, row["id"]
        assert [(s["start"], s["end"]) for s in row["spans"]] == [
            match.span(group) for group in range(1, len(entities) + 1)
        ], row["id"]
        assert [s["entity"] for s in row["spans"]] == entities


def test_the_outside_split_labels_its_types_and_leaves_messages_without_any(
    outside: list[dict[str, Any]],
) -> None:
    spans = Counter(span["entity"] for row in outside for span in row["spans"])
    assert spans == {"PERSON": 312, "ADDRESS": 192, "PHONE": 192}
    assert sum(not row["spans"] for row in outside) == 24


def test_order_numbers_amounts_and_dates_beside_a_value_are_not_labelled(
    outside: list[dict[str, Any]],
) -> None:
    row = next(r for r in outside if r["text"].startswith("I was charged"))
    phone = row["text"].split("back at ")[1].split(", reference")[0]
    start = row["text"].index(phone)
    assert row["spans"] == [{"start": start, "end": start + len(phone), "entity": "PHONE"}]
