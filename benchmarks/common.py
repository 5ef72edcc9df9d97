"""What every benchmark shares: the machine description, percentiles and a free loopback port."""

import os
import platform
import socket
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version()}


def percentile(values: list[float], q: float, digits: int = 2) -> float:
    """The q-quantile by the nearest-rank method; 0.0 for no values."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], digits) if ordered else 0.0


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 (for a server a benchmark starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
