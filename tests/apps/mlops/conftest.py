"""Registry fixtures: model folders with a manifest (no training: the registry reads files and
rows, never the model), and NLU runs that point at them."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.mlops import serving
from apps.nlu import runtime as nlu_runtime
from apps.nlu.models import TrainingRun
from ml.artifacts import manifest_write


def artifact_folder(directory: Path, content: str = "weights") -> Path:
    (directory / "adapter").mkdir(parents=True)
    (directory / "adapter" / "adapter_config.json").write_text('{"r": 4}')
    (directory / "heads.safetensors").write_text(content)
    (directory / "oos.json").write_text('{"threshold": 0.5}')
    manifest_write(directory)
    return directory


@pytest.fixture(autouse=True)
def _fresh_process() -> Iterator[None]:
    """Each test starts like a new worker: no cached plan, no loaded model."""
    serving.plans_forget()
    nlu_runtime._loaded.clear()
    yield
    serving.plans_forget()
    nlu_runtime._loaded.clear()


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., TrainingRun]:
    """``make_run(workspace, score=0.8)``: a succeeded run with a model folder and the data it
    was exported from."""
    count = iter(range(1, 1000))

    def make(workspace: Any, score: float = 0.8, **fields: Any) -> TrainingRun:
        n = next(count)
        folder = artifact_folder(tmp_path / f"{workspace.slug}-run-{n}", content=f"weights {n}")
        data = tmp_path / f"{workspace.slug}-run-{n}-data.jsonl"
        rows = [
            {"text": "where is my card", "intent": "card_arrival", "source": "manual"},
            {"text": "has my card shipped", "intent": "card_arrival", "source": "feedback"},
            {"text": "what rate do you use", "intent": "exchange_rate", "source": "import"},
            {"text": "tell me a joke", "is_oos": True, "source": "manual"},
        ]
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return TrainingRun.objects.create(
            workspace=workspace,
            status=TrainingRun.Status.SUCCEEDED,
            artifact_path=str(folder),
            metrics={"validation": {"score": score, "intent_accuracy": score}},
            config={"sources": [{"dataset": "jsonl", "path": str(data)}]},
            **fields,
        )

    return make


class FakeModel:
    def __init__(self, directory: Path):
        self.directory = str(directory)
        self.meta = {"name": Path(directory).name}
        self.batched = False

    def batch_across_callers(self, *, max_batch: int, max_wait_s: float) -> None:
        self.batched = True


class FakeNluRuntime:
    """Stands in for ``ml.nlu.runtime.NluRuntime``: records which folder each slot loaded."""

    def __init__(self) -> None:
        self.models: dict[str, FakeModel] = {}
        self.loads: list[tuple[str, str]] = []

    def load(self, slot: str, directory: Path) -> FakeModel:
        self.models[slot] = FakeModel(directory)
        self.loads.append((slot, str(directory)))
        return self.models[slot]

    def get(self, slot: str) -> FakeModel:
        return self.models[slot]


@pytest.fixture
def fake_runtime(monkeypatch: pytest.MonkeyPatch) -> FakeNluRuntime:
    runtime = FakeNluRuntime()
    monkeypatch.setattr(nlu_runtime, "shared_runtime", lambda: runtime)
    return runtime
