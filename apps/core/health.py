"""Readiness probes: can this process reach the database, the channel layer and Qdrant?"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from apps.core.vectors import qdrant_client

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    latency_ms: float
    error: str = ""


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _channel_layer_roundtrip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=PROBE_TIMEOUT_S)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("channel layer returned a different message")


def _channel_layer() -> None:
    async_to_sync(_channel_layer_roundtrip)()


def _qdrant() -> None:
    qdrant_client().get_collections()


PROBES: dict[str, Callable[[], None]] = {
    "database": _database,
    "channel_layer": _channel_layer,
    "qdrant": _qdrant,
}


def readiness_probe() -> list[ProbeResult]:
    results = []
    for name, probe in PROBES.items():
        started = time.perf_counter()
        try:
            probe()
        except Exception as exc:  # a probe reports any failure; it never raises
            results.append(ProbeResult(name, False, _elapsed_ms(started), error=type(exc).__name__))
        else:
            results.append(ProbeResult(name, True, _elapsed_ms(started)))
    return results


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
