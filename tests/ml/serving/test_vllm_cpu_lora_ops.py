"""The grouped LoRA kernels of our vLLM plugin (deploy/vllm/plugin) against a per-token
reference: ``y[t] = x[t] @ W[slot[t]].T``, nothing for a slot of -1 (no adapter)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "deploy" / "vllm" / "plugin"))
from cs_vllm_cpu_lora import ops

SLOTS, RANK, HIDDEN, OUT = 4, 8, 32, 48


def reference(x: torch.Tensor, weights: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    stacked = weights.squeeze(1)
    rows = [
        x[t] @ stacked[s].T if s >= 0 else torch.zeros(stacked.shape[1])
        for t, s in enumerate(slots.tolist())
    ]
    return torch.stack(rows)


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("slots", [[2, 2, 2, 2, 2], [0, 3, -1, 3, 1], [-1, -1, -1, -1, -1]])
def test_shrink_then_expand_match_the_per_token_products(
    rng: torch.Generator, slots: list[int]
) -> None:
    x = torch.randn(len(slots), HIDDEN, generator=rng)
    a = torch.randn(SLOTS, 1, RANK, HIDDEN, generator=rng)
    b = torch.randn(SLOTS, 1, OUT, RANK, generator=rng)
    index = torch.tensor(slots)

    buffer = torch.full((len(slots), RANK), 99.0)  # stale values must be overwritten
    ops.bgmv_shrink(x, a, buffer, index, scaling=0.5)
    torch.testing.assert_close(buffer, 0.5 * reference(x, a, index))

    y = torch.ones(len(slots), OUT)
    ops.bgmv_expand(buffer, b, y, index, add_inputs=True)
    torch.testing.assert_close(y, 1 + reference(buffer, b, index))


def test_prefill_kernels_spread_each_sequence_s_adapter_over_its_tokens(
    rng: torch.Generator,
) -> None:
    seq_lens, seq_slots = torch.tensor([3, 1, 4]), torch.tensor([1, -1, 0])
    per_token = torch.repeat_interleave(seq_slots, seq_lens)
    tokens = int(seq_lens.sum())
    x = torch.randn(tokens, HIDDEN, generator=rng)
    a = torch.randn(SLOTS, 1, RANK, HIDDEN, generator=rng)
    b = torch.randn(SLOTS, 1, OUT, RANK, generator=rng)
    starts = torch.tensor([0, 3, 4])

    buffer = torch.zeros(tokens, RANK)
    ops.sgmv_shrink(x, a, buffer, starts, seq_lens, seq_slots, 3, 4, tokens, 2.0)
    torch.testing.assert_close(buffer, 2.0 * reference(x, a, per_token))

    y = torch.zeros(tokens, 2 * OUT)
    ops.sgmv_expand_slice(buffer, b, y, starts, seq_lens, seq_slots, 3, 4, tokens, OUT, OUT, True)
    torch.testing.assert_close(y[:, OUT:], reference(buffer, b, per_token))
    assert not y[:, :OUT].any()  # the other slice is untouched


def test_plugin_is_off_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import cs_vllm_cpu_lora

    monkeypatch.setenv("CS_VLLM_CPU_LORA", "0")
    cs_vllm_cpu_lora.register()  # returns before importing vLLM, which this venv doesn't have
