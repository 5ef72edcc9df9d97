import numpy as np
import pytest

from knowledge_graph.channel import GraphChannel
from knowledge_graph.contracts import Entity, Mention, Relation
from knowledge_graph.extract import EntityDictionary
from knowledge_graph.graph import build_graph, cooccurrence_relations, neighbourhood
from knowledge_graph.linking import EntityLinker
from knowledge_graph.sage import SageConfig, embed, graph_tensors, train_sage

ENTITIES = [
    Entity("plan:gold", "Gold Plan", "plan", aliases=("premium tier",)),
    Entity("fee:late", "Late Fee", "fee"),
    Entity("place:sf", "A&B Guest-House", "place"),
]


def test_dictionary_exact_alias_compact_and_partial() -> None:
    dictionary = EntityDictionary(ENTITIES)
    assert dictionary.find("Is the premium tier worth it? And the late fee?") == [
        ("plan:gold", "alias", "premium tier"),
        ("fee:late", "exact", "late fee"),
    ]
    assert dictionary.find("rooms at the a and b guesthouse") == [
        ("place:sf", "exact", "a and b guesthouse")
    ]
    assert dictionary.find_partial("gold something plan") == [("plan:gold", 1.0)]


def test_cooccurrence_and_neighbourhood() -> None:
    mentions = [Mention("plan:gold", "c1"), Mention("fee:late", "c1"), Mention("plan:gold", "c2")]
    relations = cooccurrence_relations(mentions)
    assert [(r.head, r.tail, r.weight) for r in relations] == [("fee:late", "plan:gold", 1.0)]
    kg = build_graph(ENTITIES, [Relation("plan:gold", "place:sf", "sold_at"), *relations], mentions)
    assert kg.chunks_of["plan:gold"] == ("c1", "c2")
    assert sorted(neighbourhood(kg, "plan:gold").nodes) == ["fee:late", "place:sf", "plan:gold"]
    assert kg.graph["plan:gold"]["place:sf"]["relation"] == "sold_at"


def _toy_graph() -> tuple[object, dict[str, np.ndarray]]:
    # Two communities of 6 nodes; features are noisy community markers.
    rng = np.random.default_rng(0)
    entities = [Entity(f"n{i}", f"node {i}") for i in range(12)]
    relations = [
        Relation(f"n{a}", f"n{b}")
        for group in (range(6), range(6, 12))
        for a in group
        for b in group
        if a < b
    ]
    kg = build_graph(entities, relations, [])
    features = {
        f"n{i}": (np.eye(8)[0 if i < 6 else 1] + rng.normal(0, 0.3, 8)).astype(np.float32)
        for i in range(12)
    }
    return kg, features


def test_graphsage_learns_links_and_embeds_new_nodes_without_retraining() -> None:
    kg, features = _toy_graph()
    tensors = graph_tensors(kg, features)  # type: ignore[arg-type]
    model, report = train_sage(tensors, SageConfig(hidden=16, out=8, epochs=60, lr=0.02))
    assert report.epochs == 60
    assert report.last_loss < report.first_loss
    z = embed(model, tensors)
    same = float(np.dot(z["n0"], z["n1"]))
    other = float(np.dot(z["n0"], z["n7"]))
    assert same > other
    # A new node joined to the first community gets an embedding from the trained model.
    kg.graph.add_node("new", name="new")  # type: ignore[attr-defined]
    kg.graph.add_edge("new", "n2")  # type: ignore[attr-defined]
    kg.graph.add_edge("new", "n3")  # type: ignore[attr-defined]
    features["new"] = np.eye(8, dtype=np.float32)[0]
    z2 = embed(model, graph_tensors(kg, features))  # type: ignore[arg-type]
    assert float(np.dot(z2["new"], z2["n0"])) > float(np.dot(z2["new"], z2["n7"]))


class _Vectors:
    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors

    def dense_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        return {c: self.vectors[c] for c in chunk_ids if c in self.vectors}


def test_graph_channel_links_expands_and_explains() -> None:
    mentions = [
        Mention("plan:gold", "c1"),
        Mention("fee:late", "c2"),
        Mention("place:sf", "c3"),
    ]
    kg = build_graph(ENTITIES, [Relation("plan:gold", "fee:late", "has_fee")], mentions)
    sage = {
        "plan:gold": np.array([1, 0], dtype=np.float32),
        "fee:late": np.array([0.8, 0.6], dtype=np.float32),
        "place:sf": np.array([0, 1], dtype=np.float32),
    }
    channel = GraphChannel(kg, EntityLinker(ENTITIES), sage)
    query = np.array([1, 0, 0], dtype=np.float32)
    vectors = _Vectors({c: np.array([1, 0, 0], dtype=np.float32) for c in ("c1", "c2", "c3")})
    hits = channel.search("what does the gold plan cost", query, 5, vectors)
    assert [h.chunk_id for h in hits] == ["c1", "c2"]
    assert hits[0].score == pytest.approx(1.0)
    assert hits[1].score == pytest.approx(0.5 * 0.8)
    assert hits[0].reasons == ("entity 'Gold Plan' (exact match of 'gold plan')",)
    assert hits[1].reasons == ("entity 'Late Fee' via 'Gold Plan' (has_fee, sage 0.80)",)
    # A question that names no entity takes the one named in the turn before.
    followup = channel.search(
        "and is there a fee?", query, 5, vectors, context=["tell me about the A&B guest house"]
    )
    assert [h.chunk_id for h in followup] == ["c3"]
    assert "exact match earlier" in followup[0].reasons[0]


CHAINS = [
    Entity("r:souvla-nopa", "Souvla - NoPa", "restaurant"),
    Entity("r:souvla-marina", "Souvla - Marina", "restaurant"),
    Entity("r:dragon", "DragonEats - SoMa", "restaurant"),
    Entity("h:good", "Good Hotel", "hotel"),
    Entity("h:nob", "Nob Hill Hotel", "hotel"),
    Entity("h:motor", "Nob Hill Motor Inn", "hotel"),
    *[Entity(f"h:{i}", f"Hotel Number {i}", "hotel") for i in range(5)],
]


def test_names_said_with_noise_link_and_ordinary_words_do_not() -> None:
    linker = EntityLinker(CHAINS)
    # Speech-recognition noise, and words run together in the name.
    assert linker.link("it's called dragon eats")[0].entity_id == "r:dragon"
    assert linker.link("the dragon eats place")[0].how == "fuzzy"
    # "good" alone is an adjective, not the Good Hotel; "hotel" names no hotel.
    assert linker.link("is it good for kids") == []
    assert linker.link("which hotel is it") == []
    # A chain's name links every branch; the branch named in the conversation wins.
    both = {e.entity_id for e in linker.link("one of them is called souvla")}
    assert both == {"r:souvla-nopa", "r:souvla-marina"}
    context = ["a greek place near the marina please", "one of them is called souvla"]
    linked = linker.link_in_context("is it good for groups", None, context)
    assert linked[0].entity_id == "r:souvla-marina"


def test_a_loose_match_in_the_question_does_not_hide_the_thing_named_just_before() -> None:
    linker = EntityLinker(CHAINS)
    context = ["sure, I found one: it's called nob hill motor inn"]
    linked = linker.link_in_context("nob hill, does that hotel have heating", None, context)
    assert linked[0].entity_id == "h:motor"
    # Named outright in the question, it settles the question.
    direct = linker.link_in_context("does the nob hill hotel have heating", None, context)
    assert [e.entity_id for e in direct] == ["h:nob"]
