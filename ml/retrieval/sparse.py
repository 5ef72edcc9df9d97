"""BM25-style sparse vectors: hashed terms with saturated term frequency on the document side,
one per distinct term on the query side, and IDF applied at search time (Qdrant's IDF modifier
on a server, ``SparseMatrix`` in process), so a document's vector never depends on the others
and indexing one article never re-weights the rest.

Deterministic and offline: CRC32 of the term, no vocabulary to train or download.
"""

import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

from ml.retrieval.contracts import SparseVector

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u3400-\u9fff]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_STOPWORDS_TEXT = """a an and are as at be been but by can could did do does for from had has
have how i
if in into is it its me my of on or our so that the their them then there these they this to was
we were what when where which who will with would you your yours i'm it's"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def _stem(word: str) -> str:
    """Plural and possessive endings only: "refunds" and "refund's" find "refund"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased word terms without stop words; Chinese as characters and character pairs."""
    clean = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    previous_cjk = ""
    previous_end = -1
    for match in _WORD.finditer(clean):
        token = match.group()
        if _CJK.fullmatch(token):
            out.append(token)
            if previous_cjk and match.start() == previous_end:
                out.append(previous_cjk + token)
            previous_cjk, previous_end = token, match.end()
            continue
        previous_cjk = ""
        if token not in STOPWORDS:
            out.append(_stem(token))
    return out


def term_index(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


@dataclass(frozen=True)
class Bm25Encoder:
    """``k1`` and ``b`` as in BM25; ``avg_len`` stands in for the corpus' average length."""

    k1: float = 1.2
    b: float = 0.75
    avg_len: float = 40.0

    def encode_document(self, text: str) -> SparseVector:
        counts = Counter(term_index(t) for t in terms(text))
        length = sum(counts.values())
        norm = self.k1 * (1 - self.b + self.b * length / self.avg_len)
        items = sorted(counts.items())
        return SparseVector(
            indices=tuple(i for i, _ in items),
            values=tuple(tf * (self.k1 + 1) / (tf + norm) for _, tf in items),
        )

    def encode_query(self, text: str) -> SparseVector:
        indices = sorted({term_index(t) for t in terms(text)})
        return SparseVector(indices=tuple(indices), values=tuple(1.0 for _ in indices))


def matched_terms(query: str, text: str) -> tuple[str, ...]:
    """The query's terms that the text holds (why the sparse channel found it)."""
    present = set(terms(text))
    seen: list[str] = []
    for term in terms(query):
        if term in present and term not in seen:
            seen.append(term)
    return tuple(seen)
