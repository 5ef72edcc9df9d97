"""The in-process engine on the session's tiny base and two workspace adapters."""

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from ml.artifacts import TamperedModelError
from ml.generation.contracts import GenerationParams, Turn
from ml.generation.prompts import answer_messages, passages_number
from ml.serving.engine import UnknownAdapter
from ml.serving.registry import AdapterEntry, AdapterRegistry
from ml.serving.transformers_engine import TransformersEngine
from ml.serving.vllm_server import ServerConfig, build_command, lora_target_modules

pytestmark = pytest.mark.slow

MESSAGES = answer_messages(
    passages_number([("c1", "To cancel an order, open Order Details and press Cancel.")]),
    [Turn("customer", "how do I cancel my order?")],
)


@pytest.fixture(scope="module")
def engine(tiny_base: Path, tiny_adapters: Path) -> TransformersEngine:
    return TransformersEngine(tiny_base, AdapterRegistry(tiny_adapters))


async def _answer(engine: TransformersEngine, adapter: str | None, tokens: int = 24) -> str:
    params = GenerationParams(max_tokens=tokens)
    return "".join([d async for d in engine.stream_chat(MESSAGES, adapter, params)])


@pytest.mark.asyncio
async def test_each_workspace_adapter_answers_differently_and_deterministically(
    engine: TransformersEngine,
) -> None:
    assert engine.adapters == {"acme", "globex"}
    acme, globex, base = (
        await _answer(engine, "acme"),
        await _answer(engine, "globex"),
        await _answer(engine, None),
    )
    assert acme
    assert acme != globex
    assert base not in (acme, globex)
    assert await _answer(engine, "acme") == acme  # greedy: the same prompt, the same answer


@pytest.mark.asyncio
async def test_a_retrained_adapter_replaces_the_loaded_copy(
    engine: TransformersEngine, tiny_base: Path, tiny_adapters: Path, tmp_path: Path
) -> None:
    acme, globex = await _answer(engine, "acme"), await _answer(engine, "globex")
    shutil.copytree(tiny_adapters / "acme", tmp_path / "initech")
    own = TransformersEngine(tiny_base, AdapterRegistry(tmp_path))
    assert await _answer(own, "initech") == acme

    # "initech" is trained again: the registry folder is replaced, the manifest is newer.
    shutil.rmtree(tmp_path / "initech")
    shutil.copytree(tiny_adapters / "globex", tmp_path / "initech")
    manifest = tmp_path / "initech" / "manifest.json"
    later = manifest.stat().st_mtime_ns + 10**9
    os.utime(manifest, ns=(later, later))
    assert await _answer(own, "initech") == globex
    assert own.adapters == {"initech"}


@pytest.mark.asyncio
async def test_unknown_or_path_like_adapters_are_refused(engine: TransformersEngine) -> None:
    with pytest.raises(UnknownAdapter):
        await _answer(engine, "initech")
    with pytest.raises(UnknownAdapter):
        await _answer(engine, "../acme")


@pytest.mark.asyncio
async def test_a_consumer_that_leaves_stops_the_generation(engine: TransformersEngine) -> None:
    stream = engine.stream_chat(MESSAGES, "acme", GenerationParams(max_tokens=200))
    first = await anext(stream)
    assert first
    await stream.aclose()  # the customer disconnected
    # The lock is free again within a token or two: the next request isn't stuck behind it.
    answer = await asyncio.wait_for(_answer(engine, "globex", tokens=4), timeout=10)
    assert answer


def test_registry_refuses_a_tampered_adapter(tiny_adapters: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "adapters"
    shutil.copytree(tiny_adapters, copy)
    weights = copy / "acme" / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(TamperedModelError, match=r"adapter_model\.safetensors"):
        AdapterRegistry(copy).get("acme")
    assert AdapterRegistry(copy).get("globex").name == "globex"


def test_launcher_command_lists_each_registry_adapter(tiny_base: Path, tiny_adapters: Path) -> None:
    command = build_command(ServerConfig(base=tiny_base, adapters_dir=tiny_adapters, port=8123))
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    modules = command[command.index("--lora-modules") + 1 : command.index("--lora-modules") + 3]
    assert modules == [
        f"acme={(tiny_adapters / 'acme' / 'adapter').resolve()}",
        f"globex={(tiny_adapters / 'globex' / 'adapter').resolve()}",
    ]
    for flag in ("--enable-lora", "--enforce-eager"):
        assert flag in command
    assert command[command.index("--dtype") + 1] == "float32"
    assert command[command.index("--served-model-name") + 1] == "base"
    # The tiny adapters target every projection: vLLM's fused names, in the order given.
    at = command.index("--lora-target-modules")
    assert command[at + 1 : at + 5] == ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]


def test_lora_target_modules_are_the_union_of_the_adapters_in_vllm_s_names(
    tmp_path: Path,
) -> None:
    def entry(name: str, targets: object) -> AdapterEntry:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "adapter_config.json").write_text(json.dumps({"target_modules": targets}))
        return AdapterEntry(name, folder)

    qv, mlp = entry("a", ["q_proj", "v_proj"]), entry("b", ["up_proj", "down_proj"])
    assert lora_target_modules([qv]) == ["qkv_proj"]
    assert lora_target_modules([qv, mlp]) == ["down_proj", "gate_up_proj", "qkv_proj"]
    assert lora_target_modules([qv, entry("c", "all-linear")]) is None  # a pattern: no limit
    assert lora_target_modules([]) is None
