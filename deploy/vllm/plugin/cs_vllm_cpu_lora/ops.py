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

import torch


def _squeezed(weights: torch.Tensor) -> torch.Tensor:
    """``[slots, 1, out, in]`` -> ``[slots, out, in]`` (the stacked layout has a layer axis)."""
    return weights.squeeze(1) if weights.dim() == 4 else weights


def grouped_matmul(
    inputs: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Row ``t`` of the result is ``inputs[t] @ weights[indices[t]].T`` (zeros where the index is
    negative)."""
    stacked = _squeezed(weights)
    inputs = inputs.to(dtype)
    rows = inputs.shape[0]
    indices = indices[:rows]
    slots = torch.unique(indices).tolist()
    if len(slots) == 1 and slots[0] >= 0 and indices.shape[0] == rows:
        return inputs @ stacked[slots[0]].to(dtype).T  # one adapter: the common case
    out = inputs.new_zeros((rows, stacked.shape[1]))
    for slot in slots:
        if slot < 0:
            continue
        members = (indices == slot).nonzero(as_tuple=True)[0]
        out.index_copy_(0, members, inputs.index_select(0, members) @ stacked[slot].to(dtype).T)
    return out


def _explode(lora_indices: torch.Tensor, seq_lens: torch.Tensor) -> torch.Tensor:
    return torch.repeat_interleave(lora_indices, seq_lens)


def bgmv_shrink(
    inputs: torch.Tensor,
    lora_a_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    scaling: float = 1.0,
) -> None:
    outputs = grouped_matmul(inputs, lora_a_weights, lora_indices_tensor, output_tensor.dtype)
    output_tensor[: outputs.shape[0], : outputs.shape[1]] = scaling * outputs


def bgmv_expand(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    add_inputs: bool = True,
) -> None:
    outputs = grouped_matmul(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    limit = output_tensor.shape[0]
    if outputs.shape[0] == 1 and output_tensor.shape[0] != 1:
        limit = 1
    # The adapter and the model may pad their outputs differently.
    common = min(outputs.shape[1], output_tensor.shape[1])
    if add_inputs:
        output_tensor[:, :common] += outputs[:limit, :common]
    else:
        output_tensor[:, :common] = outputs[:limit, :common]


def bgmv_expand_slice(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = True,
) -> None:
    outputs = grouped_matmul(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs


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
    indices = _explode(lora_indices_tensor, seq_len_tensor)
    bgmv_shrink(inputs, lora_a_weights, output_tensor, indices, scaling)


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
    indices = _explode(lora_indices_tensor, seq_len_tensor)
    bgmv_expand(inputs, lora_b_weights, output_tensor, indices, add_inputs)


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
    indices = _explode(lora_indices_tensor, seq_len_tensor)
    bgmv_expand_slice(
        inputs, lora_b_weights, output_tensor, indices, slice_offset, slice_size, add_inputs
    )


KERNELS = (
    "bgmv_shrink",
    "bgmv_expand",
    "bgmv_expand_slice",
    "sgmv_shrink",
    "sgmv_expand",
    "sgmv_expand_slice",
)
