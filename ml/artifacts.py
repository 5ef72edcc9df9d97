"""SHA-256 manifests for model artifact folders: written after training, checked before loading,
so a file changed on disk (by accident or on purpose) is refused with a clear error."""

import hashlib
import json
from pathlib import Path

MANIFEST = "manifest.json"


class TamperedModelError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_write(directory: Path) -> dict[str, str]:
    """Hash every file under ``directory`` (but the manifest itself) into manifest.json."""
    digests = {
        path.relative_to(directory).as_posix(): sha256_of(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    (directory / MANIFEST).write_text(json.dumps({"sha256": digests}, indent=1) + "\n")
    return digests


def manifest_verify(directory: Path, how_to_rebuild: str) -> dict[str, str]:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise TamperedModelError(
            f"{directory} has no {MANIFEST}; refusing to load it ({how_to_rebuild})."
        )
    digests: dict[str, str] = json.loads(manifest.read_text())["sha256"]
    for name, expected in digests.items():
        path = directory / name
        if not path.is_file() or sha256_of(path) != expected:
            raise TamperedModelError(
                f"{path} does not match its SHA-256 in {MANIFEST}; refusing to load it "
                f"({how_to_rebuild})."
            )
    return digests
