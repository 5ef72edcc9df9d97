"""What the knowledge graph takes and gives back: frozen dataclasses."""

from dataclasses import dataclass

# Where an entity or relation came from.
CURATED = "curated"  # an operator's entity dictionary or triple
NER = "ner"  # spaCy's named-entity recognizer
NOUN_PHRASE = "noun_phrase"
COOCCURRENCE = "cooccurrence"


@dataclass(frozen=True)
class Entity:
    entity_id: str
    name: str
    kind: str = "thing"
    aliases: tuple[str, ...] = ()
    origin: str = CURATED


@dataclass(frozen=True)
class Relation:
    head: str
    tail: str
    relation: str = "related_to"
    weight: float = 1.0
    origin: str = CURATED


@dataclass(frozen=True)
class Mention:
    entity_id: str
    chunk_id: str


@dataclass(frozen=True)
class LinkedEntity:
    """An entity found in a query: ``how`` is exact, alias, prefix or embedding."""

    entity_id: str
    name: str
    how: str
    score: float
    surface: str = ""
