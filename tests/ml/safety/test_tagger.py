"""The learned PII tagger: tokens keep their offsets, BIO tags become spans, the shipped weights
are checked against their manifest, and they find what the cue rules have no rule for."""

import shutil
from pathlib import Path

import pytest

from ml.artifacts import TamperedModelError, manifest_verify
from ml.safety.tagger import MODEL_DIR, decode, shape, tag, tokenize


def test_tokens_keep_their_offsets_and_line_breaks() -> None:
    text = "Flat 3,\n12 O'Neill St"
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["Flat", "3", ",", "\n", "12", "O'Neill", "St"]
    assert all(text[t.start : t.end] == t.text for t in tokens)


def test_shapes_squeeze_runs() -> None:
    assert [shape(w) for w in ["Anna", "ANNA", "0803", "12b", "\n"]] == [
        "Xxx", "XX", "dd", "ddx", "NL"
    ]  # fmt: skip


def test_bio_tags_become_spans() -> None:
    tokens = tokenize("call Ann Lee on 555 0100 now")
    tags = ["O", "B-PERSON", "I-PERSON", "O", "B-PHONE", "I-PHONE", "O"]
    assert decode(tokens, tags) == [("PERSON", 5, 12), ("PHONE", 16, 24)]
    # An I- tag with no B- before it opens a span; a B- right after a span starts another.
    assert decode(tokens, ["I-PERSON", "B-PERSON", *["O"] * 5]) == [
        ("PERSON", 0, 4),
        ("PERSON", 5, 8),
    ]


def test_a_tampered_weight_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "pii_tagger"
    shutil.copytree(MODEL_DIR, copy)
    manifest_verify(copy, "rebuild")
    with (copy / "model.pt").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(TamperedModelError):
        manifest_verify(copy, "rebuild")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The parcel is for Nomvula Dlamini", ("PERSON", "Nomvula Dlamini")),
        ("You can text me on 0821 555 0143 any time", ("PHONE", "0821 555 0143")),
        ("Deliver to 27 Harbour Road, Fremantle WA 6160 please", ("ADDRESS", "27 Harbour Road")),
    ],
)
def test_the_shipped_tagger_finds_names_numbers_and_addresses(
    text: str, expected: tuple[str, str]
) -> None:
    entity, value = expected
    found = [(kind, text[start:end]) for kind, start, end in tag(text)]
    assert any(kind == entity and value in span for kind, span in found), found


@pytest.mark.parametrize(
    "text",
    ["how long does a refund take", "can I pay with paypal?", "my card was declined at the ATM"],
)
def test_the_shipped_tagger_leaves_ordinary_queries_alone(text: str) -> None:
    assert tag(text) == []
