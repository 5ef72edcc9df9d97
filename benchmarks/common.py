"""What every benchmark shares: the machine description, percentiles and a free loopback port."""

import os
import platform
import socket
from pathlib import Path
from typing import Any


def cpu_field(name: str) -> str:
    """The first CPU's ``name`` line of /proc/cpuinfo ("" where there is none)."""
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.is_file() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "")


def machine() -> dict[str, Any]:
    """The CPU a result was measured on: its name, and its widest vector instructions (two
    "AMD EPYC" machines of ours differ there, and by 2x in NLU speed)."""
    flags = set(cpu_field("flags").split())
    widest = next((isa for isa in ("avx512f", "avx2", "avx") if isa in flags), "")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_field("model name") or platform.processor(),
        "vector_isa": widest.removesuffix("f"),
        "bf16": "avx512_bf16" in flags,
        "python": platform.python_version(),
    }


def percentile(values: list[float], q: float, digits: int = 2) -> float:
    """The q-quantile by the nearest-rank method; 0.0 for no values."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], digits) if ordered else 0.0


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 (for a server a benchmark starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
