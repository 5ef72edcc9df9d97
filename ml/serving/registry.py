"""The workspace adapters that exist: one artifact folder per workspace under one directory
(``<adapters_dir>/<name>/adapter`` with a SHA-256 manifest, as ``ml.generation.train`` writes).

Adapters are looked up by name only; a name is letters, digits, '-' and '_', so a caller can't
point the server at a path of its choosing."""

import re
from dataclasses import dataclass
from pathlib import Path

from ml.artifacts import manifest_verify
from ml.serving.engine import UnknownAdapter

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
REBUILD = "retrain it with `python -m ml.generation.train --config ...`"


@dataclass(frozen=True)
class AdapterEntry:
    name: str
    path: Path  # the peft adapter folder (adapter_config.json, adapter_model.safetensors)


def artifact_version(adapter_path: Path) -> int:
    """When the adapter's artifact was last written (its manifest's mtime, in ns): training
    writes the manifest last, so a retrained adapter has a new version."""
    manifest = adapter_path.parent / "manifest.json"
    return manifest.stat().st_mtime_ns if manifest.is_file() else 0


def adapter_name_check(name: str) -> str:
    if not NAME.match(name):
        raise UnknownAdapter(f"invalid adapter name {name!r}")
    return name


class AdapterRegistry:
    def __init__(self, directory: Path, *, verify: bool = True):
        self.directory = Path(directory)
        self.verify = verify

    def entries(self) -> list[AdapterEntry]:
        if not self.directory.is_dir():
            return []
        found = []
        for folder in sorted(self.directory.iterdir()):
            if NAME.match(folder.name) and (folder / "adapter" / "adapter_config.json").is_file():
                found.append(self._entry(folder))
        return found

    def _entry(self, folder: Path) -> AdapterEntry:
        if self.verify:
            manifest_verify(folder, REBUILD)
        return AdapterEntry(folder.name, (folder / "adapter").resolve())

    def get(self, name: str) -> AdapterEntry:
        folder = self.directory / adapter_name_check(name)
        if not (folder / "adapter" / "adapter_config.json").is_file():
            raise UnknownAdapter(f"no adapter named {name!r} in {self.directory}")
        return self._entry(folder)

    def version(self, name: str) -> int:
        """The adapter's current version (0 when it isn't there); a stat, no hashing."""
        return artifact_version(self.directory / adapter_name_check(name) / "adapter")

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]
