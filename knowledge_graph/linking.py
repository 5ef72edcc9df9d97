"""Entity linking of a query: dictionary names (exact, alias, unique prefix, most of a name's
words), names said with noise (character trigrams) and, for what no name matches, the nearest
entity names by the sentence encoder."""

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from knowledge_graph.contracts import CURATED, NOUN_PHRASE, Entity, LinkedEntity
from knowledge_graph.extract import NUMBER_WORDS, EntityDictionary
from knowledge_graph.names import is_stopword, name_tokens, normalize_name

FloatArray = npt.NDArray[np.float32]
HOW_SCORE = {"exact": 1.0, "alias": 0.95, "prefix": 0.8, "partial": 0.75, "fuzzy": 0.85}
# Matches that settle what a question is about; weaker ones ("most of the words", "sounds
# like") still let an entity named in the turns before it compete.
SETTLING = frozenset({"exact", "alias", "prefix"})
# "Souvla - NoPa", "Holiday Inn (Union Square)": a chain's name without its branch.
_BRANCH = re.compile(r"\s+[-–—]\s+|\s*\(")


class FuzzyNames:
    """Names said with spelling or speech-recognition noise ("the museum of three d. illusion",
    "dragon eats", "la mediterranee"): the character-trigram TF-IDF cosine between each run of
    up to ``max_words`` words of the text and each name, or a chain's name without its branch
    (which links every branch of the chain, a little weaker than a full name)."""

    def __init__(
        self,
        entities: Iterable[Entity],
        min_similarity: float = 0.8,
        max_words: int = 6,
        common_owners: int = 5,
    ):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.min_similarity = min_similarity
        # Per indexed name: (entity id, weight, the branch's words for a chain's name).
        self.owners: list[tuple[str, float, frozenset[str]]] = []
        names: list[str] = []
        for entity in entities:
            for name in (entity.name, *entity.aliases):
                full = normalize_name(name)
                base, *branch = _BRANCH.split(name, maxsplit=1)
                base = normalize_name(base)
                if len(full.replace(" ", "")) >= 4:
                    names.append(full)
                    self.owners.append((entity.entity_id, 1.0, frozenset()))
                if branch and base != full and len(base.replace(" ", "")) >= 4:
                    names.append(base)
                    branch_words = frozenset(name_tokens(branch[0])) - {"the"}
                    self.owners.append((entity.entity_id, 0.95, branch_words))
        # Words many names share ("hotel", "restaurant", "san") name nothing on their own.
        counts = Counter(word for name in set(names) for word in set(name.split()))
        self.common = frozenset(w for w, n in counts.items() if n >= common_owners)
        self.max_words = min(max_words, max((len(n.split()) for n in names), default=1))
        self.name_lengths = np.asarray([len(n.split()) for n in names])
        self.vocabulary: dict[str, int] = {}
        if names:
            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3))
            self.matrix = vectorizer.fit_transform(names).T.tocsr()  # trigrams x names
            self.vocabulary = vectorizer.vocabulary_
            self.idf = vectorizer.idf_.astype(np.float32)
            self.analyze = vectorizer.build_analyzer()
        self._grams: dict[str, Counter[int]] = {}

    def _counts(self, text: str) -> Counter[int]:
        """Trigram counts of a word or a run of words (each word is padded on its own, so a
        run's counts are the sum of its words')."""
        counts = self._grams.get(text)
        if counts is None:
            counts = Counter(self.vocabulary[g] for g in self.analyze(text) if g in self.vocabulary)
            if len(self._grams) > 100_000:
                self._grams.clear()
            self._grams[text] = counts
        return counts

    def find_many(
        self, texts: Sequence[str], around: frozenset[str] = frozenset()
    ) -> list[list[tuple[str, float, str]]]:
        """For each text, (entity id, similarity, the words that matched), best first; all
        texts in one sparse product. ``around``: the words of the whole conversation; a chain's
        branch named there ("union square") counts the chain's name as that branch's."""
        from scipy.sparse import csr_matrix

        found: list[dict[str, tuple[float, str]]] = [{} for _ in texts]
        if not self.vocabulary:
            return [[] for _ in texts]
        # Rows of ``pieces``: every word of every text, then each two-word run written as one
        # word ("dragon eats" for "DragonEats"); a window is a sum of pieces.
        pieces: list[str] = []
        windows: list[tuple[int, str, list[int]]] = []  # (text, surface, pieces)
        for index, text in enumerate(texts):
            tokens = name_tokens(text)
            first = len(pieces)
            pieces.extend(tokens)
            # "good" alone (or "is it good") is too often an ordinary word, "hotel" names no
            # hotel: a window needs 5 letters of words that could only be part of a name, and
            # starts and ends with no stopword.
            letters = [0]
            for token in tokens:
                letters.append(letters[-1] + self._distinctive_letters(token))
            stop = [is_stopword(token) for token in tokens]
            for start in range(len(tokens)):
                if stop[start]:
                    continue
                for end in range(start + 1, min(start + self.max_words, len(tokens)) + 1):
                    if stop[end - 1] or letters[end] - letters[start] < 5:
                        continue
                    words = tokens[start:end]
                    windows.append(
                        (index, " ".join(words), list(range(first + start, first + end)))
                    )
                    if len(words) == 2:
                        pieces.append("".join(words))
                        windows.append((index, pieces[-1], [len(pieces) - 1]))
        if not windows:
            return [[] for _ in texts]
        rows, columns, values = [], [], []
        for row, piece in enumerate(pieces):
            for column, count in self._counts(piece).items():
                rows.append(row)
                columns.append(column)
                values.append(float(count))
        grams = csr_matrix((values, (rows, columns)), shape=(len(pieces), len(self.vocabulary)))
        incidence = csr_matrix(
            (
                np.ones(sum(len(w[2]) for w in windows), dtype=np.float32),
                (
                    [row for row, w in enumerate(windows) for _ in w[2]],
                    [piece for w in windows for piece in w[2]],
                ),
            ),
            shape=(len(windows), len(pieces)),
        )
        vectors = (incidence @ grams).multiply(self.idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
        vectors = csr_matrix(vectors.multiply(1.0 / np.maximum(norms, 1e-9)[:, None]))
        similarity = (vectors @ self.matrix).tocoo()
        keep = similarity.data >= self.min_similarity
        window_rows, name_columns = similarity.row[keep], similarity.col[keep]
        scores = similarity.data[keep]
        # A run of words much longer or shorter than the name is another phrase that shares
        # its letters ("good for a hotel" is not "Good Hotel").
        lengths = np.asarray([len(w[1].split()) for w in windows])
        fits = np.abs(lengths[window_rows] - self.name_lengths[name_columns]) <= 1
        for row, column, score in zip(
            window_rows[fits], name_columns[fits], scores[fits], strict=True
        ):
            entity_id, weight, branch = self.owners[int(column)]
            if branch and branch <= around:
                weight = 1.0
            index, surface, _ = windows[int(row)]
            weighted = float(score) * weight
            if weighted > found[index].get(entity_id, (0.0, ""))[0]:
                found[index][entity_id] = (weighted, surface)
        return [
            [
                (entity_id, score, surface)
                for entity_id, (score, surface) in sorted(
                    per_text.items(), key=lambda item: (-item[1][0], item[0])
                )
            ]
            for per_text in found
        ]

    def _distinctive_letters(self, word: str) -> int:
        ordinary = len(word) < 3 or is_stopword(word) or word in NUMBER_WORDS
        return 0 if ordinary or word in self.common else len(word)

    def find(self, text: str, around: frozenset[str] = frozenset()) -> list[tuple[str, float, str]]:
        """``find_many`` for one text."""
        return self.find_many([text], around)[0]


class EntityLinker:
    def __init__(
        self,
        entities: Sequence[Entity],
        name_vectors: FloatArray | None = None,
        *,
        embedding_entities: Sequence[Entity] | None = None,
        min_similarity: float = 0.6,
        max_embedding_links: int = 2,
        context_turns: int = 3,
        look_back: int = 12,
    ):
        self.by_id = {e.entity_id: e for e in entities}
        self.dictionary = EntityDictionary(entities)
        # ``name_vectors[i]`` is the encoded name of ``embedding_entities[i]``.
        self.embedding_entities = list(
            entities if embedding_entities is None else embedding_entities
        )
        self.name_vectors = name_vectors
        self.min_similarity = min_similarity
        self.max_embedding_links = max_embedding_links
        self.context_turns = context_turns
        self.look_back = look_back  # earlier turns read at most
        self.has_curated = any(e.origin == CURATED for e in entities)
        # Noun phrases are ordinary words; only names are worth matching through noise.
        self.fuzzy = FuzzyNames(e for e in entities if e.origin != NOUN_PHRASE)

    def link(
        self,
        query: str,
        query_vector: FloatArray | None = None,
        around: frozenset[str] = frozenset(),
        fuzzy: Sequence[tuple[str, float, str]] | None = None,
    ) -> list[LinkedEntity]:
        """``around``: the words of the whole conversation (see ``FuzzyNames.find_many``);
        ``fuzzy``: this text's noisy name matches, when already found."""
        linked: dict[str, LinkedEntity] = {}
        for entity_id, how, surface in self.dictionary.find(query):
            entity = self.by_id.get(entity_id)
            if entity is None:
                continue
            candidate = LinkedEntity(entity_id, entity.name, how, HOW_SCORE[how], surface)
            if entity_id not in linked or linked[entity_id].score < candidate.score:
                linked[entity_id] = candidate
        for entity_id, coverage in self.dictionary.find_partial(query):
            entity = self.by_id.get(entity_id)
            if entity is not None and entity_id not in linked:
                score = HOW_SCORE["partial"] * coverage
                linked[entity_id] = LinkedEntity(entity_id, entity.name, "partial", score)
        if fuzzy is None:
            fuzzy = self.fuzzy.find(query, around)
        for entity_id, similarity, surface in fuzzy:
            entity = self.by_id.get(entity_id)
            score = HOW_SCORE["fuzzy"] * similarity
            if entity is not None and (entity_id not in linked or linked[entity_id].score < score):
                linked[entity_id] = LinkedEntity(entity_id, entity.name, "fuzzy", score, surface)
        return self.with_embedding_links(list(linked.values()), query_vector)

    def _named(self, link: LinkedEntity) -> bool:
        """Linked by its name, and a named thing (not a noun phrase like "credit card"): what a
        follow-up question ("do they take credit cards?") refers back to."""
        entity = self.by_id.get(link.entity_id)
        return link.how != "embedding" and entity is not None and entity.origin != NOUN_PHRASE

    def _settles(self, link: LinkedEntity) -> bool:
        entity = self.by_id.get(link.entity_id)
        return link.how in SETTLING and entity is not None and entity.origin == CURATED

    def link_in_context(
        self, query: str, query_vector: FloatArray | None, context: Sequence[str] = ()
    ) -> list[LinkedEntity]:
        """Entities of the query; when it names no named thing ("do they take credit cards?"),
        also those named in the last few earlier turns, weaker the further back."""
        return self.with_embedding_links(self.names_in_context(query, context), query_vector)

    def with_embedding_links(
        self, linked: Sequence[LinkedEntity], query_vector: FloatArray | None
    ) -> list[LinkedEntity]:
        """``linked`` plus the entities whose encoded names are nearest the query (for what
        no name matched); the only step that needs the query's vector."""
        found = {link.entity_id: link for link in linked}
        if query_vector is not None and self.name_vectors is not None and self.embedding_entities:
            similarities = self.name_vectors @ query_vector
            for i in np.argsort(-similarities)[: self.max_embedding_links]:
                score = float(similarities[i])
                entity = self.embedding_entities[int(i)]
                if score >= self.min_similarity and entity.entity_id not in found:
                    found[entity.entity_id] = LinkedEntity(
                        entity.entity_id, entity.name, "embedding", score
                    )
        return sorted(found.values(), key=lambda e: (-e.score, e.entity_id))

    def names_in_context(self, query: str, context: Sequence[str] = ()) -> list[LinkedEntity]:
        """``link_in_context`` without the embedding links: needs no vector, so it can run
        while the query is being encoded."""
        around = frozenset(name_tokens(" ".join([*context, query])))
        linked = self.link(query, None, around)
        # Only an entity from the operators' dictionary, named outright, settles what the
        # question is about; a named entity spaCy found ("Mastercard") may be what is asked
        # about it, and a loose match ("nob hill ... hotel") may be a thing named just before.
        if any(self._settles(link) for link in linked):
            return linked
        seen = {link.entity_id for link in linked}
        carried: list[LinkedEntity] = []
        weight = 0.9
        turns_with_links = 0
        earlier_turns = list(reversed(context[-self.look_back :]))
        noisy = self.fuzzy.find_many(earlier_turns, around)
        for turn, fuzzy in zip(earlier_turns, noisy, strict=True):
            earlier = [link for link in self.link(turn, None, around, fuzzy) if self._named(link)]
            if not earlier:
                continue
            for e in earlier:
                if e.entity_id not in seen:
                    seen.add(e.entity_id)
                    how = f"{e.how} match earlier"
                    carried.append(
                        LinkedEntity(e.entity_id, e.name, how, e.score * weight, e.surface)
                    )
            # Only turns that name one of the operators' entities use up the look-back (when
            # there are any): "san francisco" in passing doesn't push the hotel out of reach.
            if not self.has_curated or any(self._settles(e) for e in earlier):
                turns_with_links += 1
            if turns_with_links == self.context_turns:
                break
            weight *= 0.8  # the further back, the less likely the question is about it
        if carried:
            return sorted([*linked, *carried], key=lambda e: (-e.score, e.entity_id))
        return linked
