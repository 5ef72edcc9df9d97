"""The shared encoder's forward pass for inference: MiniLM's layers as a few tensor operations,
each workspace's LoRA update applied beside the shared weights as two thin matrix products.

    ids ─ embeddings ─ layers below the adapter (once) ─┬─ layers above, with the adapter ─ states
                                                         └─ the same layers, adapter off ─ base

Training uses peft's modules (``model.py``); serving through them takes about twice as long on
a 2-core CPU (one message with the plain encoder's rows beside: 18 against 10 ms on the Zen 4
machine): every module call, every LoRA wrapper and, for a mixed-adapter batch (the adapted and
the plain encoder in one pass, ``Outputs.base``), peft's per-adapter row selection in each
wrapped layer. Here query, key and value are one matrix product, attention is
PyTorch's fused kernel, the adapter is data passed to the call (no active-adapter state on the
shared model, so no lock), and the layers below the first adapted one run once for both the
adapted and the plain rows. The states equal peft's to float rounding (``tests/ml/nlu``).
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import Tensor, nn
from torch.nn import functional

# Where each adapted module of a BERT layer lands: a fused product and the block of its output.
BLOCKS = {
    "attention.self.query": ("qkv", 0),
    "attention.self.key": ("qkv", 1),
    "attention.self.value": ("qkv", 2),
    "attention.output.dense": ("attention_out", 0),
    "intermediate.dense": ("intermediate", 0),
    "output.dense": ("output", 0),
}
LAYER_PATH = r"encoder\.layer\.(\d+)\.(.+)"  # a module's layer index and path inside it
LORA_KEY = re.compile(LAYER_PATH + r"\.lora_([AB])\.weight$")
POOLER = "pooler."  # after the last hidden states (an adapter on it changes nothing served)
NONE: dict[str, "LoraUpdate"] = {}
SUPPORTED = "plain LoRA on query, key, value and dense layers (no DoRA, bias or rank patterns)"


@dataclass(frozen=True)
class LoraUpdate:
    """``x @ down.T @ up.T``: the adapter's change to one fused product, scaling folded in."""

    down: Tensor  # (rank, in)
    up: Tensor  # (out, rank)


@dataclass(frozen=True)
class Adapter:
    """One workspace's LoRA updates: layer index -> fused product -> update."""

    layers: dict[int, dict[str, LoraUpdate]]

    @property
    def first_layer(self) -> int:
        return min(self.layers, default=0)

    @classmethod
    def build(
        cls, factors: dict[tuple[int, str], tuple[Tensor, Tensor, float]], hidden: int
    ) -> "Adapter":
        """From peft's factors, keyed by (layer, module path inside the layer): A, B, scale."""
        grouped: dict[tuple[int, str], list[tuple[int, Tensor, Tensor]]] = {}
        for (layer, module), (down, up, scale) in sorted(factors.items()):
            if module not in BLOCKS:
                raise ValueError(f"unsupported LoRA target {module}: {SUPPORTED} only")
            product, block = BLOCKS[module]
            grouped.setdefault((layer, product), []).append((block, down, up * scale))
        layers: dict[int, dict[str, LoraUpdate]] = {}
        for (layer, product), members in grouped.items():
            updates = layers.setdefault(layer, {})
            if product != "qkv":
                _, down, up = members[0]
                updates[product] = LoraUpdate(down.float().contiguous(), up.float().contiguous())
                continue
            rank = sum(down.shape[0] for _, down, _ in members)
            fused_up = torch.zeros(3 * hidden, rank)
            start = 0
            for block, down, up in members:
                fused_up[block * hidden : (block + 1) * hidden, start : start + down.shape[0]] = up
                start += down.shape[0]
            fused_down = torch.cat([down for _, down, _ in members]).float().contiguous()
            updates[product] = LoraUpdate(fused_down, fused_up)
        return cls(layers)


def adapter_from_peft(model: nn.Module, name: str, hidden: int) -> Adapter:
    """The factors of adapter ``name`` of a peft model in memory (at the end of training)."""
    from peft.tuners.lora import LoraLayer

    factors: dict[tuple[int, str], tuple[Tensor, Tensor, float]] = {}
    for path, module in model.named_modules():
        if not isinstance(module, LoraLayer) or name not in module.lora_A or POOLER in path:
            continue
        if module.use_dora.get(name):
            raise ValueError(f"unsupported adapter (DoRA): {SUPPORTED} only")
        match = re.search(LAYER_PATH + "$", path)
        if match is None:
            raise ValueError(f"unsupported LoRA target {path}: {SUPPORTED} only")
        lora_a: Any = module.lora_A[name]
        lora_b: Any = module.lora_B[name]
        factors[(int(match[1]), match[2])] = (
            lora_a.weight.detach(),
            lora_b.weight.detach(),
            float(module.scaling[name]),
        )
    return Adapter.build(factors, hidden)


def adapter_load(directory: Path, hidden: int) -> Adapter:
    """A saved peft adapter folder (``adapter_config.json``, ``adapter_model.safetensors``)."""
    config = json.loads((directory / "adapter_config.json").read_text())
    unsupported = (
        config.get("peft_type") != "LORA"
        or config.get("use_dora")
        or config.get("bias", "none") != "none"
        or config.get("rank_pattern")
        or config.get("alpha_pattern")
        or config.get("modules_to_save")
    )
    if unsupported:
        raise ValueError(f"unsupported adapter in {directory}: {SUPPORTED} only")
    rank = int(config["r"])
    alpha = float(config["lora_alpha"])
    scale = alpha / rank**0.5 if config.get("use_rslora") else alpha / rank
    pairs: dict[tuple[int, str], dict[str, Tensor]] = {}
    for key, tensor in load_file(str(directory / "adapter_model.safetensors")).items():
        match = LORA_KEY.search(key)
        if POOLER in key:
            continue
        if match is None:
            raise ValueError(f"unexpected tensor {key} in {directory}: {SUPPORTED} only")
        pairs.setdefault((int(match[1]), match[2]), {})[match[3]] = tensor
    factors: dict[tuple[int, str], tuple[Tensor, Tensor, float]] = {}
    for place, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise ValueError(f"{directory}: layer {place[0]} {place[1]} lacks half its LoRA pair")
        factors[place] = (pair["A"], pair["B"], scale)
    return Adapter.build(factors, hidden)


def plain(module: nn.Module) -> nn.Linear:
    """The shared Linear under a peft wrapper (or the module itself)."""
    base = getattr(module, "base_layer", module)
    if not isinstance(base, nn.Linear):
        raise TypeError(f"expected a Linear layer, got {type(base).__name__}")
    return base


class PackedLinear(nn.Module):
    """A Linear layer whose weight is kept in oneDNN's blocked layout, reordered once here
    instead of on every call. On our 2-core machines a message-sized product (13 to 30 rows)
    takes half the time of MKL's, most of all when the weights have left the cache between
    messages (the 6 layers' 42 MB don't fit a 32 MB L3): 163 against 383 us for a 384x1536
    weight on the Zen 4 machine, 247 against 389 with oneDNN held to AVX2. Equal to
    ``functional.linear`` up to float rounding (about 1e-4)."""

    def __init__(self, linear: nn.Linear, rows_hint: int = 32):
        super().__init__()
        weight = linear.weight.detach()
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, rows_hint)
        self.bias = linear.bias.detach() if linear.bias is not None else torch.zeros(len(weight))

    @staticmethod
    def available() -> bool:
        """Whether this PyTorch build has oneDNN's prepacked Linear for this CPU."""
        if not torch.backends.mkldnn.is_available():  # type: ignore[no-untyped-call]
            return False
        try:
            probe = nn.Linear(8, 8)
            packed = PackedLinear(probe)
            x = torch.randn(3, 8)
            with torch.no_grad():
                return bool(torch.allclose(packed(x), probe(x), atol=1e-4))
        except (AttributeError, RuntimeError):
            return False

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")
        return out


def project(x: Tensor, shared: nn.Module, update: LoraUpdate | None, rows: int) -> Tensor:
    """``shared(x)``, plus the adapter's update on the first ``rows`` rows (the adapted ones)."""
    y: Tensor = shared(x)
    if update is not None:
        y[:rows] += functional.linear(functional.linear(x[:rows], update.down), update.up)
    return y


class FastLayer(nn.Module):
    """One BERT layer (post-norm, as MiniLM): its weights shared with the model it came from,
    except query, key and value, stacked into one product."""

    def __init__(self, layer: Any):
        super().__init__()
        attention = layer.attention.self
        parts = [plain(attention.query), plain(attention.key), plain(attention.value)]
        hidden = parts[0].in_features
        self.qkv = nn.Linear(hidden, 3 * hidden)
        with torch.no_grad():
            self.qkv.weight.copy_(torch.cat([p.weight for p in parts]))
            self.qkv.bias.copy_(torch.cat([p.bias for p in parts]))
        self.attention_out = plain(layer.attention.output.dense)
        self.attention_norm = layer.attention.output.LayerNorm
        self.intermediate = plain(layer.intermediate.dense)
        self.activation = layer.intermediate.intermediate_act_fn
        self.output = plain(layer.output.dense)
        self.output_norm = layer.output.LayerNorm
        self.heads = int(attention.num_attention_heads)

    def forward(
        self, x: Tensor, mask: Tensor | None, updates: dict[str, LoraUpdate], rows: int
    ) -> Tensor:
        batch, length, hidden = x.shape
        qkv = project(x, self.qkv, updates.get("qkv"), rows)
        heads = qkv.view(batch, length, 3, self.heads, hidden // self.heads)
        q, k, v = heads.permute(2, 0, 3, 1, 4)
        context = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        context = context.transpose(1, 2).reshape(batch, length, hidden)
        attended = project(context, self.attention_out, updates.get("attention_out"), rows)
        x = self.attention_norm(attended + x)
        inner = self.activation(project(x, self.intermediate, updates.get("intermediate"), rows))
        out: Tensor = self.output_norm(project(inner, self.output, updates.get("output"), rows) + x)
        return out


class FastEncoder(nn.Module):
    """A BERT encoder's inference pass; ``bert`` may carry peft wrappers (their shared weights
    are used, the adapters are not)."""

    def __init__(self, bert: Any):
        super().__init__()
        if bert.config.position_embedding_type != "absolute" or bert.config.is_decoder:
            raise ValueError("the fast encoder serves BERT encoders with absolute positions")
        self.embeddings = bert.embeddings
        self.layers = nn.ModuleList(FastLayer(layer) for layer in bert.encoder.layer)
        self.hidden = int(bert.config.hidden_size)
        self.train(False)

    def quantize(self) -> None:
        """int8 weights for the shared Linear layers (CPU only), one scale per output channel;
        the LoRA factors stay float. On the bank model one scale per matrix (PyTorch's
        default) cost 1.1 points of BANKING77 accuracy, per channel 0.06."""
        config = torch.ao.quantization.per_channel_dynamic_qconfig
        torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            self, {nn.Linear: config}, dtype=torch.qint8, inplace=True
        )

    def pack(self) -> bool:
        """The shared Linear layers in oneDNN's prepacked layout, where this build has it;
        returns whether it did."""
        if not PackedLinear.available():
            return False
        for layer in self.layers:
            for name in ("qkv", "attention_out", "intermediate", "output"):
                module = getattr(layer, name)
                if isinstance(module, nn.Linear):
                    setattr(layer, name, PackedLinear(module))
        return True

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        adapter: Adapter | None,
        with_base: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """The last hidden states with ``adapter``, and with ``with_base`` those of the plain
        encoder too (rows appended to the batch from the first adapted layer on)."""
        rows = input_ids.shape[0]
        x = self.embeddings(input_ids=input_ids)
        mask = None if bool(attention_mask.all()) else attention_mask.bool()[:, None, None, :]
        split = adapter.first_layer if adapter is not None else len(self.layers)
        doubled = False
        for index, layer in enumerate(self.layers):
            if with_base and index == split:
                x = torch.cat([x, x])
                mask = None if mask is None else torch.cat([mask, mask])
                doubled = True
            updates = adapter.layers.get(index, NONE) if adapter is not None else NONE
            x = layer(x, mask, updates, rows)
        if not with_base:
            return x, None
        return (x[:rows], x[rows:]) if doubled else (x, x)
