import random
from pathlib import Path

import pytest

from ml.generation.bootstrap import chat_documents
from ml.generation.config import base_config_from_dict
from ml.generation.contracts import ChatMessage
from ml.generation.data.bitext import load_rows, split
from ml.generation.lm import chat_text, tokenizer_load
from ml.generation.prompts import PASSAGE_OPEN, REFUSAL, SYSTEM_PROMPT


def test_chat_text_is_what_the_chat_template_renders(tiny_base: Path) -> None:
    tokenizer = tokenizer_load(tiny_base)
    messages = [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", "where is my order?")]
    rendered = tokenizer.apply_chat_template(
        [*(m.to_json() for m in messages), {"role": "assistant", "content": "[P1] Here."}],
        tokenize=False,
    )
    assert chat_text(messages, "[P1] Here.") == rendered


def test_the_grounded_share_of_the_corpus_cites_or_refuses() -> None:
    rows = split(load_rows())[0][:400]
    plain = chat_documents(rows, 0.0, seed=1)
    assert not any(PASSAGE_OPEN in d for d in plain)
    assert plain[0] == chat_text([ChatMessage("user", rows[0].question)], rows[0].response)

    mixed = chat_documents(rows, 0.5, seed=1)
    grounded = [d for d in mixed if PASSAGE_OPEN in d]
    assert 150 < len(grounded) < 250
    answers = [d.rsplit("<|assistant|>\n", 1)[1] for d in grounded]
    refusals = sum(a.startswith(REFUSAL) for a in answers)
    assert 0 < refusals < len(answers) / 2
    assert all(a.startswith(REFUSAL) or a[:4] in ("[P1]", "[P2]") for a in answers)
    assert mixed == chat_documents(rows, 0.5, seed=1)  # seeded
    assert mixed != chat_documents(rows, 0.5, seed=random.Random(3).randint(2, 99))


def test_grounded_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="grounded_share"):
        base_config_from_dict({"grounded_share": 1.5})
