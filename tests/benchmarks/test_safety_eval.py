"""``evaluate_pii_wide`` reports each split, the outside one included, under its own keys."""

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from benchmarks.safety_eval import evaluate_pii_wide

if TYPE_CHECKING:
    from ml.safety.pii import PiiDetector


class Found(NamedTuple):
    entity: str
    start: int
    end: int


class ListedDetector:
    """Finds exactly the spans listed for each text."""

    def __init__(self, found: dict[str, list[Found]]) -> None:
        self.found = found

    def detect(self, text: str) -> list[Found]:
        return self.found.get(text, [])


def _row(split: str, text: str, spans: list[tuple[str, int, int]]) -> dict[str, Any]:
    return {
        "id": f"wide-{split}-en-0000",
        "split": split,
        "lang": "en",
        "text": text,
        "spans": [{"entity": e, "start": s, "end": t} for e, s, t in spans],
    }


def test_the_outside_split_is_scored_under_its_own_keys() -> None:
    rows = [
        _row("outside", "Ring 0712 345678 or 031 2345678", [("PHONE", 5, 16), ("PHONE", 20, 31)]),
        _row("outside", "I am Ama Mensah", [("PERSON", 5, 15)]),
        _row("fresh", "Mob: 0712 345678", [("PHONE", 5, 16)]),
    ]
    detector = ListedDetector(
        {
            "Ring 0712 345678 or 031 2345678": [Found("PHONE", 5, 16)],
            "I am Ama Mensah": [Found("PERSON", 5, 15), Found("PHONE", 0, 4)],
        }
    )

    metrics = evaluate_pii_wide(cast("PiiDetector", detector), rows)

    assert metrics["pii_wide_outside_messages"] == 2
    assert metrics["pii_wide_outside_recall_PHONE_en"] == 0.5
    assert metrics["pii_wide_outside_precision_PHONE_en"] == 0.5
    assert metrics["pii_wide_outside_recall_PERSON_en"] == 1.0
    assert metrics["pii_wide_outside_gold_PHONE_en"] == 2
    assert metrics["pii_wide_outside_recall"] == round(2 / 3, 4)
    assert metrics["pii_wide_fresh_recall_PHONE_en"] == 0.0
    assert metrics["pii_wide_fresh_messages"] == 1
