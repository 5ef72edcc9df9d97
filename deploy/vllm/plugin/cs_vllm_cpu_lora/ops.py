"""LoRA products for a batch whose tokens belong to a few adapters, one matrix product per
adapter.

vLLM's CPU backend (``vllm/lora/ops/torch_ops``) computes ``x @ A[i]`` by first gathering one
copy of the adapter matrix per token (``weights[indices]``, shape ``[tokens, out, rank]``) and
then a batched product. For a prefill of 32 prompts of 450 tokens that copies gigabytes per
layer, which is why a LoRA batch ran several times slower than the base model. Here the tokens
are grouped by adapter slot instead: at most ``max_loras`` products, no copy of the weights.

Same signatures and semantics as vLLM's torch ops, with one difference: an index of ``-1`` means
"no adapter" (the token gets no LoRA term), as in vLLM's GPU kernels; the torch ops read it as
Python's last slot.
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Grouping:
    """The tokens of a batch grouped by adapter slot: ``order`` lists the tokens that have an
    adapter, sorted by slot; ``sizes[i]`` of them belong to ``slots[i]``."""

    slots: tuple[int, ...]
    sizes: tuple[int, ...]
    order: torch.Tensor
    rows: int

    @property
    def single(self) -> bool:
        """Every token uses the same adapter."""
        return len(self.slots) == 1 and self.sizes[0] == self.rows


def grouping(indices: torch.Tensor) -> Grouping:
    slots_sorted, order = torch.sort(indices, stable=True)
    slots, sizes = torch.unique_consecutive(slots_sorted, return_counts=True)
    kept = [(int(s), int(n)) for s, n in zip(slots.tolist(), sizes.tolist(), strict=True)]
    skip = sum(n for s, n in kept if s < 0)  # -1 sorts first: tokens with no adapter
    kept = [(s, n) for s, n in kept if s >= 0]
    return Grouping(
        slots=tuple(s for s, _ in kept),
        sizes=tuple(n for _, n in kept),
        order=order[skip:],
        rows=int(indices.shape[0]),
    )


class _Recent:
    """The groupings of the last few batches, by the batch's slot list: the dozens of LoRA
    layers of one forward pass share one grouping."""

    def __init__(self, size: int = 8):
        self.size = size
        self.entries: dict[tuple[object, ...], Grouping] = {}

    def get(self, key: tuple[object, ...], indices: torch.Tensor) -> Grouping:
        found = self.entries.get(key)
        if found is None:
            if len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)))
            found = self.entries[key] = grouping(indices)
        return found


_RECENT = _Recent()


def _squeezed(weights: torch.Tensor) -> torch.Tensor:
    """``[slots, 1, out, in]`` -> ``[slots, out, in]`` (the stacked layout has a layer axis)."""
    return weights.squeeze(1) if weights.dim() == 4 else weights


def grouped_matmul(
    inputs: torch.Tensor, weights: torch.Tensor, groups: Grouping, dtype: torch.dtype
) -> torch.Tensor:
    """Row ``t`` of the result is ``inputs[t] @ weights[slot of t].T`` (zeros for a token with
    no adapter): one product per adapter in the batch."""
    stacked = _squeezed(weights)
    inputs = inputs.to(dtype)
    if groups.single:
        return inputs @ stacked[groups.slots[0]].to(dtype).T  # one adapter: the common case
    out = inputs.new_zeros((inputs.shape[0], stacked.shape[1]))
    if not groups.slots:
        return out
    chosen = inputs.index_select(0, groups.order)
    parts = [
        rows @ stacked[slot].to(dtype).T
        for slot, rows in zip(groups.slots, chosen.split(list(groups.sizes)), strict=True)
    ]
    out.index_copy_(0, groups.order, torch.cat(parts))
    return out


def _token_groups(indices: torch.Tensor, rows: int) -> Grouping:
    indices = indices[:rows]
    return _RECENT.get(("token", *indices.tolist()), indices)


def _sequence_groups(lora_indices: torch.Tensor, seq_lens: torch.Tensor) -> Grouping:
    key = ("seq", *lora_indices.tolist(), "len", *seq_lens.tolist())
    return _RECENT.get(key, torch.repeat_interleave(lora_indices, seq_lens))


def _shrink(
    inputs: torch.Tensor,
    weights: torch.Tensor,
    output_tensor: torch.Tensor,
    groups: Grouping,
    scaling: float,
) -> None:
    outputs = grouped_matmul(inputs, weights, groups, output_tensor.dtype)
    output_tensor[: outputs.shape[0], : outputs.shape[1]] = scaling * outputs


def _expand(
    inputs: torch.Tensor,
    weights: torch.Tensor,
    output_tensor: torch.Tensor,
    groups: Grouping,
    add_inputs: bool,
) -> None:
    outputs = grouped_matmul(inputs, weights, groups, output_tensor.dtype)
    limit = output_tensor.shape[0]
    if outputs.shape[0] == 1 and output_tensor.shape[0] != 1:
        limit = 1
    # The adapter and the model may pad their outputs differently.
    common = min(outputs.shape[1], output_tensor.shape[1])
    if add_inputs:
        output_tensor[:, :common] += outputs[:limit, :common]
    else:
        output_tensor[:, :common] = outputs[:limit, :common]


def _expand_slice(
    inputs: torch.Tensor,
    weights: torch.Tensor,
    output_tensor: torch.Tensor,
    groups: Grouping,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool,
) -> None:
    outputs = grouped_matmul(inputs, weights, groups, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs


# vLLM's kernel signatures: bgmv_* take one slot per token (decode), sgmv_* one per sequence
# with the sequences' lengths (prefill).


def bgmv_shrink(
    inputs: torch.Tensor,
    lora_a_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    scaling: float = 1.0,
) -> None:
    groups = _token_groups(lora_indices_tensor, inputs.shape[0])
    _shrink(inputs, lora_a_weights, output_tensor, groups, scaling)


def bgmv_expand(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    add_inputs: bool = True,
) -> None:
    groups = _token_groups(lora_indices_tensor, inputs.shape[0])
    _expand(inputs, lora_b_weights, output_tensor, groups, add_inputs)


def bgmv_expand_slice(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = True,
) -> None:
    groups = _token_groups(lora_indices_tensor, inputs.shape[0])
    _expand_slice(
        inputs, lora_b_weights, output_tensor, groups, slice_offset, slice_size, add_inputs
    )


def sgmv_shrink(
    inputs: torch.Tensor,
    lora_a_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    b_seq_start_loc: torch.Tensor,
    seq_len_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    scaling: float,
) -> None:
    groups = _sequence_groups(lora_indices_tensor, seq_len_tensor)
    _shrink(inputs, lora_a_weights, output_tensor, groups, scaling)


def sgmv_expand(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    b_seq_start_loc: torch.Tensor,
    seq_len_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    add_inputs: bool = False,
) -> None:
    groups = _sequence_groups(lora_indices_tensor, seq_len_tensor)
    _expand(inputs, lora_b_weights, output_tensor, groups, add_inputs)


def sgmv_expand_slice(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    b_seq_start_loc: torch.Tensor,
    seq_len_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = False,
) -> None:
    groups = _sequence_groups(lora_indices_tensor, seq_len_tensor)
    _expand_slice(
        inputs, lora_b_weights, output_tensor, groups, slice_offset, slice_size, add_inputs
    )


KERNELS = (
    "bgmv_shrink",
    "bgmv_expand",
    "bgmv_expand_slice",
    "sgmv_shrink",
    "sgmv_expand",
    "sgmv_expand_slice",
)
