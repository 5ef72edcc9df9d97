"""GraphSAGE node embeddings (PyG ``SAGEConv``), trained without labels by link prediction.

Full-batch: PyG's ``NeighborLoader`` needs pyg-lib or torch-sparse, which don't install here, and
a knowledge base's graph (thousands of nodes) fits in one pass anyway. GraphSAGE aggregates
neighbours' features, so an entity added later gets an embedding from its own features and edges
through the trained model, without retraining.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import negative_sampling, to_undirected

from knowledge_graph.graph import KnowledgeGraph

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SageConfig:
    hidden: int = 128
    out: int = 64
    dropout: float = 0.1
    epochs: int = 100
    lr: float = 0.01
    seed: int = 0
    time_budget_s: float = 110.0


class GraphSage(nn.Module):
    """Two ``SAGEConv`` layers; unit-length output so a dot product is a cosine."""

    def __init__(self, in_dim: int, hidden: int = 128, out: int = 64, dropout: float = 0.1):
        super().__init__()
        self.conv1 = SAGEConv(in_dim, hidden)
        self.conv2 = SAGEConv(hidden, out)
        self.dropout = dropout

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = F.relu(self.conv1(x, edge_index))
        h = F.dropout(h, p=self.dropout, training=self.training)
        h = self.conv2(h, edge_index)
        return F.normalize(h, dim=-1)

    def loss(self, z: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """Binary cross-entropy of linked vs sampled unlinked pairs, scored by scaled cosine."""
        pos = (z[positive[0]] * z[positive[1]]).sum(-1) * 5.0
        neg = (z[negative[0]] * z[negative[1]]).sum(-1) * 5.0
        logits = torch.cat([pos, neg])
        labels = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
        return F.binary_cross_entropy_with_logits(logits, labels)


@dataclass(frozen=True)
class GraphTensors:
    node_ids: tuple[str, ...]
    x: Tensor
    edge_index: Tensor  # both directions


def graph_tensors(kg: KnowledgeGraph, features: dict[str, FloatArray]) -> GraphTensors:
    node_ids = tuple(kg.graph.nodes)
    position = {node: i for i, node in enumerate(node_ids)}
    x = torch.from_numpy(np.stack([features[n] for n in node_ids]).astype(np.float32))
    edges = [(position[a], position[b]) for a, b in kg.graph.edges]
    if edges:
        edge_index = to_undirected(torch.tensor(edges, dtype=torch.long).t().contiguous())
    else:
        edge_index = torch.zeros((2, 0), dtype=torch.long)
    return GraphTensors(node_ids, x, edge_index)


@dataclass(frozen=True)
class TrainReport:
    epochs: int
    seconds: float
    first_loss: float
    last_loss: float


def train_sage(
    tensors: GraphTensors, config: SageConfig = SageConfig(), *, progress: bool = False
) -> tuple[GraphSage, TrainReport]:
    torch.manual_seed(config.seed)
    model = GraphSage(tensors.x.shape[1], config.hidden, config.out, config.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    started = time.perf_counter()
    losses: list[float] = []
    epochs = range(config.epochs)
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc="graphsage", unit="epoch")
    num_nodes = tensors.x.shape[0]
    if tensors.edge_index.shape[1] == 0 or num_nodes < 2:
        model.eval()
        return model, TrainReport(0, 0.0, 0.0, 0.0)
    for _ in epochs:
        model.train()
        optimizer.zero_grad()
        z = model(tensors.x, tensors.edge_index)
        negative = negative_sampling(
            tensors.edge_index, num_nodes=num_nodes, num_neg_samples=tensors.edge_index.shape[1]
        )
        loss = model.loss(z, tensors.edge_index, negative)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        losses.append(float(loss.item()))
        if time.perf_counter() - started > config.time_budget_s:
            break
    model.eval()
    report = TrainReport(len(losses), time.perf_counter() - started, losses[0], losses[-1])
    return model, report


@torch.no_grad()
def embed(model: GraphSage, tensors: GraphTensors) -> dict[str, FloatArray]:
    """Embeddings of every node, new ones included (inductive: no retraining)."""
    model.eval()
    z = model(tensors.x, tensors.edge_index).numpy().astype(np.float32)
    return {node: z[i] for i, node in enumerate(tensors.node_ids)}


def save_model(model: GraphSage, path: str) -> None:
    torch.save(
        {
            "state": model.state_dict(),
            "in_dim": model.conv1.in_channels,
            "hidden": model.conv1.out_channels,
            "out": model.conv2.out_channels,
        },
        path,
    )


def load_model(path: str) -> GraphSage:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = GraphSage(int(saved["in_dim"]), int(saved["hidden"]), int(saved["out"]))
    model.load_state_dict(saved["state"])
    model.eval()
    return model


def cosine(a: FloatArray, b: FloatArray) -> float:
    return float(np.dot(a, b) / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))


def features_for(names: Sequence[str], vectors: FloatArray) -> dict[str, FloatArray]:
    return {name: vectors[i] for i, name in enumerate(names)}
