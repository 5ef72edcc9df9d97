"""What the learning loop takes from the review queue: frozen dataclasses, not ORM rows."""

from dataclasses import dataclass
from datetime import datetime

# The label of an out-of-scope text (not a valid intent name, so never confused with one).
OUT_OF_SCOPE_LABEL = "<out_of_scope>"


@dataclass(frozen=True)
class ReviewedLabel:
    """A final label people gave a customer turn.

    ``label``: an intent name, or ``OUT_OF_SCOPE_LABEL``. ``source``: "single" (one labeller),
    "agreed" (two labellers gave the same label) or "adjudicated" (an admin decided).
    ``labeller``: the user name of whoever decided; for "agreed", both, joined by "+" in the order
    they labelled. ``slots``: ``({"slot", "start", "end"}, ...)`` offsets into ``text``.
    """

    text: str
    label: str
    source: str
    labeller: str
    item_id: int
    labelled_at: datetime
    slots: tuple[dict[str, object], ...] = ()


@dataclass(frozen=True)
class WeakLabelRecord:
    """A label read off behaviour under ``rule`` (see ``apps.review.services.harvest``).

    ``label``: an intent name, or "" for "in scope, intent unknown". ``negative``: the text is
    *not* ``label``."""

    text: str
    label: str
    rule: str
    negative: bool
    weak_label_id: int
    trace_id: int | None
    created_at: datetime
