"""Entity linking of a query: dictionary names (exact, alias, unique prefix) and, for what no
name matches, the nearest entity names by the sentence encoder."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from knowledge_graph.contracts import CURATED, NOUN_PHRASE, Entity, LinkedEntity
from knowledge_graph.extract import EntityDictionary

FloatArray = npt.NDArray[np.float32]
HOW_SCORE = {"exact": 1.0, "alias": 0.95, "prefix": 0.8, "partial": 0.75}


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

    def link(self, query: str, query_vector: FloatArray | None = None) -> list[LinkedEntity]:
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
        if query_vector is not None and self.name_vectors is not None and self.embedding_entities:
            similarities = self.name_vectors @ query_vector
            top = np.argsort(-similarities)[: self.max_embedding_links]
            for i in top:
                score = float(similarities[i])
                entity = self.embedding_entities[int(i)]
                if score >= self.min_similarity and entity.entity_id not in linked:
                    linked[entity.entity_id] = LinkedEntity(
                        entity.entity_id, entity.name, "embedding", score
                    )
        return sorted(linked.values(), key=lambda e: (-e.score, e.entity_id))

    def _named(self, link: LinkedEntity) -> bool:
        """Linked by its name, and a named thing (not a noun phrase like "credit card"): what a
        follow-up question ("do they take credit cards?") refers back to."""
        entity = self.by_id.get(link.entity_id)
        return link.how != "embedding" and entity is not None and entity.origin != NOUN_PHRASE

    def _curated(self, link: LinkedEntity) -> bool:
        entity = self.by_id.get(link.entity_id)
        return link.how != "embedding" and entity is not None and entity.origin == CURATED

    def link_in_context(
        self, query: str, query_vector: FloatArray | None, context: Sequence[str] = ()
    ) -> list[LinkedEntity]:
        """Entities of the query; when it names no named thing ("do they take credit cards?"),
        also those named in the last few earlier turns, weaker the further back."""
        linked = self.link(query, query_vector)
        # Only an entity from the operators' dictionary settles what the question is about;
        # a named entity spaCy found ("Mastercard") may be what is asked about it.
        if any(self._curated(link) for link in linked):
            return linked
        seen = {link.entity_id for link in linked}
        carried: list[LinkedEntity] = []
        weight = 0.9
        turns_with_links = 0
        for turn in reversed(context):
            earlier = [link for link in self.link(turn) if self._named(link)]
            if not earlier:
                continue
            for e in earlier:
                if e.entity_id not in seen:
                    seen.add(e.entity_id)
                    how = f"{e.how} match earlier"
                    carried.append(
                        LinkedEntity(e.entity_id, e.name, how, e.score * weight, e.surface)
                    )
            turns_with_links += 1
            if turns_with_links == self.context_turns:
                break
            weight *= 0.8  # the further back, the less likely the question is about it
        if carried:
            return sorted([*linked, *carried], key=lambda e: (-e.score, e.entity_id))
        return linked
