"""Every turn trace records the registry versions that answered it: the NLU model (champion or
canary, by the customer's session) and, for a knowledge-base answer, the generator adapter."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async

from apps.dialogue import engine
from apps.dialogue.engine import TurnDecision
from apps.dialogue.models import DialogueSettings, Flow, TurnTrace
from apps.dialogue.replies import ReplyMeta, TurnInput
from apps.generation.services import adapter_pick
from apps.mlops import services
from apps.mlops.models import Decision, ModelVersion
from apps.nlu import runtime as nlu_runtime
from apps.nlu.models import TrainingRun
from ml.nlu.train import TrainResult
from tests.apps.conftest import drain_turns
from tests.apps.dialogue.conftest import FREEZE_SPEC, bank_model
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.apps.mlops.conftest import artifact_folder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
_bank_model = bank_model  # the tiny bank NLU model, trained once per session
PERSON = Decision.Decider.PERSON


async def _ask(socket: Any, client_id: str, text: str) -> str:
    await socket.send("message.send", client_message_id=client_id, text=text)
    done = (await socket.receive_until("message.done", timeout=20))[-1]
    return str(done["message"]["text"])


async def _last_versions() -> dict[str, Any]:
    data = await database_sync_to_async(lambda: TurnTrace.objects.order_by("-id")[0].data)()
    return dict(data)


def _registered_bank(workspace: Any, model: TrainResult) -> tuple[ModelVersion, ModelVersion]:
    """The tiny model as champion v1, and the same folder trained again as candidate v2."""
    runs = [
        TrainingRun.objects.create(
            workspace=workspace,
            status=TrainingRun.Status.SUCCEEDED,
            artifact_path=str(Path(model.directory)),
            metrics={"validation": model.validation},
        )
        for _ in range(2)
    ]
    champion = services.version_register_nlu(run=runs[0], trigger="person")
    services.version_promote(version=champion, decider=PERSON)
    candidate = services.version_register_nlu(run=runs[1], trigger="schedule")
    Flow.objects.create(
        workspace=workspace, name="card_freeze", intent="lost_or_stolen_card", spec=FREEZE_SPEC
    )
    DialogueSettings.objects.create(workspace=workspace, max_negative_turns=99)
    return champion, candidate


async def test_the_trace_names_the_nlu_version_that_answered(
    workspace_a: Any, bank_model: TrainResult, connect_customer: Any, settings: Any
) -> None:
    settings.DIALOGUE_REPLIER = "apps.dialogue.engine.EngineReplier"
    champion, candidate = await database_sync_to_async(_registered_bank)(workspace_a, bank_model)
    try:
        socket, _ = await connect_customer(workspace_a)
        await _ask(socket, "c-1", "I lost my card")
        await drain_turns()
        data = await _last_versions()
        assert data["route"]["name"] == "flow"
        expected = {
            "id": champion.pk,
            "number": 1,
            "arm": "champion",
            "run": champion.training_run_id,
        }
        assert data["nlu"]["version"] == expected
        assert data["versions"] == {"nlu": expected, "adapter": None}  # no generator used
        await socket.close()

        # Every new session in the canary from now on, in this process too (no restart).
        await database_sync_to_async(services.canary_start)(
            version=candidate, decider=PERSON, share=1.0
        )
        socket, _ = await connect_customer(workspace_a)
        await _ask(socket, "c-2", "my card was stolen")
        await drain_turns()
        data = await _last_versions()
        assert data["versions"]["nlu"] == {
            "id": candidate.pk,
            "number": 2,
            "arm": "canary",
            "run": candidate.training_run_id,
        }
        await socket.close()
    finally:
        nlu_runtime._loaded.clear()


async def test_the_trace_names_the_adapter_version_of_a_knowledge_base_answer(
    workspace_a: Any,
    connect_customer: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.DIALOGUE_REPLIER = "apps.dialogue.engine.EngineReplier"
    settings.GENERATION_ADAPTERS_DIR = str(tmp_path / "adapters")
    adapter = await database_sync_to_async(services.adapter_trained)(
        workspace_id=workspace_a.pk,
        directory=artifact_folder(tmp_path / "trained"),
        data_path=None,
        metrics={},
    )
    asked: list[str | None] = []

    def decide(turn: TurnInput) -> TurnDecision:
        from apps.chat.models import Conversation

        session = str(Conversation.objects.get(pk=turn.conversation_id).customer_session_id)
        return TurnDecision(
            text="",
            meta=ReplyMeta(route="faq", reason="test"),
            workspace=workspace_a,
            adapter=adapter_pick(workspace=workspace_a, session_key=session),
        )

    async def answer_stream(**kwargs: Any) -> AsyncIterator[str]:
        asked.append(kwargs["adapter"].name)
        yield "Cards arrive in 5 days."

    monkeypatch.setattr(engine, "turn_decide", decide)
    monkeypatch.setattr(engine, "answer_stream", answer_stream)
    socket, _ = await connect_customer(workspace_a)
    assert await _ask(socket, "c-1", "when does my card arrive?") == "Cards arrive in 5 days."
    await drain_turns()
    await socket.close()
    data = await _last_versions()
    expected = {"id": adapter.pk, "number": 1, "arm": "champion"}
    assert data["generator"]["adapter_version"] == expected
    assert data["versions"] == {"nlu": None, "adapter": expected}
    assert asked == ["acme__v1"]
