"""A tiny bootstrapped base model and two tiny workspace adapters, built once per test session
when a test asks for them (about a minute on 2 cores): the generation, serving and vLLM tests
and the app's adapter training share them (a pytest plugin of tests/conftest.py)."""

from pathlib import Path

import pytest

from ml.generation.bootstrap import bootstrap
from ml.generation.config import BaseModelConfig, sft_config_from_dict
from ml.generation.train import train

TINY_BASE = BaseModelConfig(
    vocab_size=512,
    hidden_size=128,
    intermediate_size=256,
    layers=2,
    heads=2,  # head size 64, which vLLM's CPU attention supports
    seq_len=128,
    max_positions=65536,  # RoPE: no weights; room for the vLLM test's long cancelled request
    batch_size=16,
    lr=1e-2,
    warmup_steps=10,
    steps=150,  # about 40 s: enough for Bitext-like text, so two adapters can differ
    rows_limit=800,
    max_minutes=0,  # no time cap: on a busy machine the model must still be the same
)
# Two workspaces with different knowledge (Bitext categories) and seeds.
WORKSPACES = {"acme": (["ORDER", "REFUND"], 1), "globex": (["ACCOUNT", "INVOICE"], 2)}


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bootstrap(TINY_BASE, out_dir=tmp_path_factory.mktemp("gen") / "base", progress=False)


@pytest.fixture(scope="session")
def tiny_adapters(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry folder: <dir>/acme/adapter, <dir>/globex/adapter."""
    registry = tmp_path_factory.mktemp("adapters")
    for name, (categories, seed) in WORKSPACES.items():
        config = sft_config_from_dict(
            {
                "name": name,
                "base": str(tiny_base),
                "sources": [{"dataset": "bitext", "categories": categories, "limit": 80}],
                "mixture": {"passage_words": 30},
                "training": {
                    "max_steps": 5,
                    "batch_size": 4,
                    "lr": 0.02,
                    "max_length": 320,
                    "eval_examples": 8,
                    "seed": seed,
                },
            }
        )
        train(config, out_dir=registry / name, progress=False)
    return registry
