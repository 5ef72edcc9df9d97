"""The serving forward pass (``ml/nlu/fast.py``) against peft's, which training uses."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from ml.encoders import minilm_path
from ml.nlu.config import ModelConfig
from ml.nlu.fast import FastEncoder, PackedLinear, adapter_from_peft, adapter_load
from ml.nlu.model import load_base, with_new_lora

TEXTS = ["my card has not arrived yet", "how do I top up with apple pay? it fails every time"]


def trained_looking(frozen_layers: int, seed: int) -> Any:
    """A peft model whose LoRA update is not zero (as after training)."""
    torch.manual_seed(seed)
    config = replace(ModelConfig(), frozen_layers=frozen_layers)
    model = with_new_lora(load_base(str(minilm_path())), config, "ws")
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            parameter.data.normal_(0.0, 0.02)
    return model.eval()


@pytest.fixture(scope="module")
def batch() -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    return tokenizer(TEXTS, padding=True, return_tensors="pt")


def close(fast: torch.Tensor, peft: torch.Tensor, mask: torch.Tensor) -> bool:
    """Equal at the real tokens (padding positions are never read)."""
    return bool(torch.allclose(fast[mask], peft[mask], atol=1e-4))


@pytest.mark.parametrize("frozen_layers", [0, 3])
@pytest.mark.parametrize("packed", [False, True])
def test_fast_pass_equals_peft_with_the_adapter_and_without(
    batch: Any, frozen_layers: int, packed: bool
) -> None:
    model = trained_looking(frozen_layers, seed=frozen_layers)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch.inference_mode():
        adapted = model(input_ids=ids, attention_mask=mask).last_hidden_state
        with model.disable_adapter():
            plain = model(input_ids=ids, attention_mask=mask).last_hidden_state
    fast = FastEncoder(model.get_base_model())
    if packed:
        assert fast.pack() == PackedLinear.available()
    adapter = adapter_from_peft(model, "ws", fast.hidden)
    assert adapter.first_layer == frozen_layers
    with torch.inference_mode():
        states, base = fast(ids, mask, adapter, with_base=True)
        alone, none = fast(ids, mask, adapter)
    real = mask.bool()
    assert base is not None
    assert none is None
    assert close(states, adapted, real)
    assert close(alone, adapted, real)
    assert close(base, plain, real)
    assert not close(states, plain, real)  # the update is not lost on the way


def test_a_saved_adapter_loads_to_the_same_update(batch: Any, tmp_path: Path) -> None:
    model = trained_looking(frozen_layers=3, seed=1)
    model.save_pretrained(str(tmp_path), selected_adapters=["ws"])
    folder = tmp_path / "ws" if (tmp_path / "ws").is_dir() else tmp_path
    fast = FastEncoder(model.get_base_model())
    in_memory = adapter_from_peft(model, "ws", fast.hidden)
    loaded = adapter_load(folder, fast.hidden)
    assert set(loaded.layers) == set(in_memory.layers) == {3, 4, 5}
    for layer, updates in in_memory.layers.items():
        assert (
            set(loaded.layers[layer])
            == set(updates)
            == {
                "qkv",
                "attention_out",
                "intermediate",
                "output",
            }
        )
        for product, update in updates.items():
            assert torch.allclose(loaded.layers[layer][product].up, update.up)
            assert torch.equal(loaded.layers[layer][product].down, update.down)


def test_two_workspaces_share_the_encoder_without_state(batch: Any) -> None:
    first, second = trained_looking(0, seed=2), trained_looking(0, seed=3)
    fast = FastEncoder(first.get_base_model())
    ids, mask = batch["input_ids"], batch["attention_mask"]
    a = adapter_from_peft(first, "ws", fast.hidden)
    b = adapter_from_peft(second, "ws", fast.hidden)
    with torch.inference_mode():
        a1, _ = fast(ids, mask, a)
        b1, _ = fast(ids, mask, b)
        a2, _ = fast(ids, mask, a)
    assert torch.equal(a1, a2)
    assert not torch.allclose(a1, b1, atol=1e-3)


def test_an_unsupported_adapter_is_refused_with_the_reason(tmp_path: Path) -> None:
    model = trained_looking(frozen_layers=0, seed=4)
    model.save_pretrained(str(tmp_path), selected_adapters=["ws"])
    folder = tmp_path / "ws" if (tmp_path / "ws").is_dir() else tmp_path
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(ValueError, match="no DoRA"):
        adapter_load(folder, 384)
