"""Splitting sections into chunks the encoder can take whole (MiniLM reads 256 word pieces, about
1,000 characters), at paragraph, then sentence, then word boundaries."""

import re
import uuid
from collections.abc import Iterable, Sequence

from ml.retrieval.contracts import Chunk, Section

MAX_CHARS = 900
_NAMESPACE = uuid.UUID("6f1c35a2-8a53-4c8e-9d8b-3a0f5d2e7c41")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")


def chunk_id_for(doc_id: str, position: int) -> str:
    """Stable: re-indexing the same source overwrites its chunks instead of adding copies."""
    return str(uuid.uuid5(_NAMESPACE, f"{doc_id}#{position}"))


def _pieces(text: str, max_chars: int) -> Iterable[str]:
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            yield paragraph
            continue
        for sentence in _SENTENCE.split(paragraph):
            while len(sentence) > max_chars:
                cut = sentence.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                yield sentence[:cut].strip()
                sentence = sentence[cut:].strip()
            if sentence:
                yield sentence


def split_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Pieces packed greedily up to ``max_chars``."""
    packed: list[str] = []
    current = ""
    for piece in _pieces(text, max_chars):
        joined = f"{current}\n\n{piece}" if current else piece
        if len(joined) <= max_chars:
            current = joined
        else:
            if current:
                packed.append(current)
            current = piece
    if current:
        packed.append(current)
    return packed


def chunk_sections(
    sections: Sequence[Section],
    *,
    doc_id: str,
    source: str = "",
    title: str = "",
    max_chars: int = MAX_CHARS,
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in sections:
        for text in split_text(section.text, max_chars):
            position = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=chunk_id_for(doc_id, position),
                    doc_id=doc_id,
                    text=text,
                    heading_path=section.heading_path,
                    source=source,
                    position=position,
                    title=title,
                )
            )
    return chunks
