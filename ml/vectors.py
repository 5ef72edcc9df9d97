"""Opening the Qdrant vector store: a server when a URL is given, else local mode on a path.

Local mode keeps everything in one folder and allows one process only; a server allows many.
The process that opens a local folder first claims it (an exclusive lock on ``<folder>/.owner``
with its pid), so a second process is told which process holds it. The kernel drops the lock
when its process ends, killed or not.
"""

import fcntl
import os
import sys
from dataclasses import dataclass
from typing import TextIO

from qdrant_client import QdrantClient


@dataclass(frozen=True)
class QdrantLocation:
    url: str | None = None
    path: str | None = None
    api_key: str | None = None
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.url and not self.path:
            raise ValueError("QdrantLocation needs a server url or a local path")


class LocalStoreInUse(RuntimeError):
    """Another process holds the local folder."""

    def __init__(self, folder: str, owner: str):
        self.folder = folder
        self.owner = owner or "unknown"
        super().__init__(f"the local vector store {folder} is in use by process {self.owner}")


# Folders this process has claimed, each with its open lock file: held until the process ends.
_claimed: dict[str, TextIO] = {}


def local_store_claim(path: str) -> None:
    """Makes this process the only one that opens the local folder ``path``; a second call in the
    same process does nothing. Raises LocalStoreInUse while another process holds it."""
    folder = os.path.realpath(path)
    if folder in _claimed:
        return
    os.makedirs(folder, exist_ok=True)
    handle = open(os.path.join(folder, ".owner"), "a+")  # noqa: SIM115 (held open: the lock)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip()
        handle.close()
        raise LocalStoreInUse(folder, owner) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()} ({' '.join(sys.argv)[:200]})\n")
    handle.flush()
    _claimed[folder] = handle


def qdrant_open(location: QdrantLocation) -> QdrantClient:
    if location.url:
        return QdrantClient(
            url=location.url, api_key=location.api_key or None, timeout=int(location.timeout_s)
        )
    assert location.path is not None
    local_store_claim(location.path)
    return QdrantClient(path=location.path)


def local_fast_writes(client: QdrantClient, collection: str) -> None:
    """Qdrant's local mode commits every point to SQLite on its own, with an fsync each time
    (about 90 points/s on this machine's disk). Write-ahead logging without a sync per commit
    takes that to thousands per second; a power cut may lose the last writes, which an index
    rebuilt from the database (a full re-index) restores. Nothing to do on a server."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    local = getattr(client, "_client", None)
    if not isinstance(local, QdrantLocal):
        return
    storage = getattr(local.collections.get(collection), "storage", None)
    connection = getattr(storage, "storage", None)
    if connection is not None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
