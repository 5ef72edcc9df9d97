from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.chat.models import Message
from apps.dialogue.engine import turn_decide
from apps.dialogue.models import DialogueSettings, Flow
from apps.dialogue.replies import TurnInput
from apps.generation.services import engine_get
from apps.nlu import runtime as nlu_runtime
from apps.nlu.models import TrainingRun
from ml.nlu.train import TrainResult, train
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.ml.nlu.conftest import tiny_config, tiny_data

INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_card")
FREEZE_SPEC = {
    "slots": [
        {
            "name": "card_last4",
            "prompt": "What are the last four digits of the card?",
            "pattern": r"\b\d{4}\b",
            "invalid": "Please give the last four digits, like 1234.",
        },
        {
            "name": "reason",
            "prompt": "Was it lost or stolen?",
            "choices": {"lost": ["missing"], "stolen": ["theft"]},
        },
    ],
    "confirm": "Freeze the card ending {card_last4} ({reason})?",
    "result": "Done: the card ending {card_last4} is frozen.",
}


@pytest.fixture(scope="session")
def bank_model(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    tmp = tmp_path_factory.mktemp("dialogue-nlu")
    return train(
        tiny_config("bank", tmp),  # type: ignore[arg-type]
        data=tiny_data(INTENTS, per_intent=16),
        out_dir=tmp / "bank",
        progress=False,
    )


@pytest.fixture
def bank(workspace_a: Any, bank_model: TrainResult) -> Iterator[Any]:
    """Workspace A with the tiny bank model active and a card-freeze flow."""
    TrainingRun.objects.create(
        workspace=workspace_a,
        status=TrainingRun.Status.SUCCEEDED,
        is_active=True,
        artifact_path=str(Path(bank_model.directory)),
        metrics={"validation": bank_model.validation},
    )
    Flow.objects.create(
        workspace=workspace_a, name="card_freeze", intent="lost_or_stolen_card", spec=FREEZE_SPEC
    )
    # The tiny model's sentiment head is a coin toss: no handoff on it in these tests.
    DialogueSettings.objects.create(workspace=workspace_a, max_negative_turns=99)
    yield workspace_a
    nlu_runtime._loaded.clear()  # ids come back after a rolled-back test


def say(conversation: Any, text: str) -> Any:
    """A customer message stored, then the engine's decision on it."""
    Message.objects.create(conversation=conversation, sender=Message.Sender.CUSTOMER, text=text)
    return turn_decide(
        TurnInput(
            workspace_id=conversation.workspace_id,
            language="en",
            conversation_id=conversation.pk,
            text=text,
        )
    )


@pytest.fixture
def extractive_only(settings: Any, tmp_path: Any) -> Iterator[None]:
    """No vLLM server and no base model: the knowledge-base answer is the best passage."""
    settings.VLLM_BASE_URL = ""
    settings.GENERATION_BASE_MODEL = tmp_path / "no-model"
    engine_get.cache_clear()
    yield
    engine_get.cache_clear()
