"""A workspace's own knowledge as training rows: a JSON Lines file of records
``{"question": ..., "answer": ..., "group": ...}``, one per question. The app writes it from the
workspace's published FAQ articles (the title and the examples of the intents an article answers
are its questions, the body its answer, the article its group) and from the replies customers
marked helpful (see ``apps.generation.selectors.training_record_list``).

Both texts are redacted again here, whatever the file holds: training data never holds personal
data in clear. Rows of one group share their answer, so a question's answering passage is its
group's answer."""

import json
from pathlib import Path

from ml.generation.data.bitext import BitextRow, redact_text

FIELDS = ("question", "answer", "group")


def load_records(path: Path) -> list[BitextRow]:
    if not path.is_file():
        raise FileNotFoundError(f"no training records at {path}")
    rows = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{line_no}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not all(
            isinstance(record.get(f), str) and record[f].strip() for f in FIELDS
        ):
            raise ValueError(f"{path}:{line_no}: a record needs non-empty {', '.join(FIELDS)}")
        rows.append(
            BitextRow(
                row_id=f"records:{line_no}",
                intent=record["group"],
                category="KB",
                question=redact_text(" ".join(record["question"].split())),
                response=redact_text(record["answer"].strip()),
            )
        )
    if not rows:
        raise ValueError(f"{path}: no records")
    return rows
