"""The production web server: uvicorn with N worker processes sharing one listening socket.

    python -m cs_platform.serve [--host 0.0.0.0] [--port 8000] [--workers N]

Workers: one process per worker under uvicorn's supervisor, which starts a new one when a worker
dies. Several workers need a Qdrant server (``QDRANT_URL``): Qdrant's local mode (the embedded
default) can be opened by one process only, so without ``QDRANT_URL`` the server runs one worker
and refuses to start with more (a second worker would fail every turn it got).

Why not ``uvicorn --workers N``: its multi-worker mode binds the socket with ``proto=0``, and
asyncio only switches Nagle's algorithm off (TCP_NODELAY) on sockets whose proto is TCP. With
Nagle on, every small WebSocket frame after the first waits for the client's delayed ACK:
streamed replies arrived in one lump ~40 ms late. Binding the socket here with IPPROTO_TCP fixes
that; everything else is uvicorn's own supervisor.

Metrics: the workers count in Prometheus' multiprocess files (``PROMETHEUS_MULTIPROC_DIR``, a new
temporary folder when unset, emptied at start), so ``/metrics`` on any worker reports them all;
the supervisor marks a worker that died, so its open sockets stop counting.
"""

import argparse
import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from apps.core.metrics_process import multiprocess_dir_prepare, process_dead


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which also tells the metrics when a worker process is gone."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        # Died and replaced here, or retired by a signal handled just before (HUP, TTOU).
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                process_dead(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the platform (HTTP + WebSockets).")
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    shared_vectors = bool(os.environ.get("QDRANT_URL"))
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "2" if shared_vectors else "1")),
    )
    parser.add_argument("--log-level", default=os.environ.get("UVICORN_LOG_LEVEL", "info"))
    args = parser.parse_args()
    if args.workers > 1 and not shared_vectors:
        parser.exit(
            2,
            f"cs_platform.serve: {args.workers} workers need a Qdrant server: set QDRANT_URL. "
            "Qdrant's local mode (QDRANT_URL unset) can be opened by one process only; "
            "run with --workers 1 (WEB_CONCURRENCY=1) on the embedded vector store.\n",
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.production")
    multiprocess_dir_prepare(prefix="cs-web-metrics-")
    config = uvicorn.Config(
        "cs_platform.asgi:application",
        workers=args.workers,
        log_level=args.log_level,
        ws="websockets-sansio",
        proxy_headers=True,
        lifespan="off",
    )
    sock = listening_socket(args.host, args.port)
    # Supervised even with one worker: a worker that dies (killed, out of memory) is replaced,
    # and the bot turns it was running are taken up again by the new one (apps.chat.BotTurn).
    Supervisor(config, sockets=[sock]).run()


if __name__ == "__main__":
    main()
