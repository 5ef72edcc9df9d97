"""What generation calls above itself: MlopsConfig.ready connects the model registry's answers
(which adapter version serves a customer session, what happens to a newly trained adapter)."""

from dataclasses import dataclass
from typing import Any

from apps.core.hooks import Hook


@dataclass(frozen=True)
class ServingAdapter:
    """A registered adapter version, by the name the engines serve it under."""

    name: str
    version_id: int
    version_number: int
    arm: str = "champion"  # "champion" or "canary"

    def to_trace(self) -> dict[str, object]:
        return {"id": self.version_id, "number": self.version_number, "arm": self.arm}


@Hook
def serving_adapter(workspace_id: int, session_key: str | None) -> ServingAdapter | None:
    """The adapter version that answers this customer session: the canary for a session that
    hashes into the canary's share, else the champion; None when the registry holds no adapter
    for the workspace (its adapter folder, if any, serves as before the registry)."""
    raise NotImplementedError


@Hook
def adapter_trained(
    workspace_id: int, directory: str, data_path: str | None, metrics: dict[str, Any]
) -> None:
    """A new adapter was trained into ``directory`` from the records in ``data_path``: register
    it and decide whether it serves."""
    raise NotImplementedError
