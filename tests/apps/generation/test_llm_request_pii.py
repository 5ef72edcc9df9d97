"""The LLM request (the exact JSON sent to vLLM, and the messages given to the in-process model)
never holds a card or Chinese ID number the customer typed: the prompt is built from the stored,
redacted messages. The full turn runs through the socket with the GroundedReplier."""

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async

from apps.dialogue.models import TurnTrace
from apps.generation import services as generation
from ml.generation.contracts import ChatMessage, GenerationParams
from ml.generation.prompts import SYSTEM_PROMPT
from ml.serving.fallback import FallbackEngine
from ml.serving.vllm_client import VllmEngine, VllmSettings
from tests.apps.conftest import drain_turns

CARD = "4111 1111 1111 1111"
CN_ID = "11010519491231002X"
PLANTED = ("4111111111111111", CARD, "4111-1111-1111-1111", CN_ID, "1949123")


class RecordingEngine:
    """Stands in for the in-process model: records the messages it would render."""

    name = "transformers"

    def __init__(self) -> None:
        self.seen: list[list[dict[str, str]]] = []

    async def stream_chat(
        self, messages: Sequence[ChatMessage], adapter: str | None, params: GenerationParams
    ) -> AsyncIterator[str]:
        self.seen.append([m.to_json() for m in messages])
        yield "I can help with that."


def _vllm(handler: Any) -> VllmEngine:
    return VllmEngine(
        VllmSettings(base_url="http://vllm.test", retries=0, backoff=0),
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_llm_requests_hold_no_planted_card_or_id(
    workspace_a: Any, connect_customer: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DIALOGUE_REPLIER = "apps.dialogue.grounded.GroundedReplier"
    sent: list[bytes] = []

    def vllm_down(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)  # the exact bytes on the wire
        return httpx.Response(503)

    recording = RecordingEngine()
    monkeypatch.setattr(
        generation, "engine_get", lambda: FallbackEngine([_vllm(vllm_down), recording])
    )
    socket, _ = await connect_customer(workspace_a)
    text = f"My card {CARD} was charged twice, ID {CN_ID}; the same card {CARD.replace(' ', '-')}"
    await socket.send("message.send", client_message_id="c-1", text=text)
    events = await socket.receive_until("message.done")
    await drain_turns()
    await socket.close()

    assert len(sent) == 1
    wire = sent[0].decode()
    body = json.loads(wire)
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert (
        "customer: My card <CARD_1> was charged twice, ID <ID_NUMBER_1>; the same card <CARD_1>"
        in (body["messages"][1]["content"])
    )
    in_process = json.dumps(recording.seen, ensure_ascii=False)
    for value in PLANTED:
        assert value not in wire, f"{value} went to vLLM in clear text"
        assert value not in in_process, f"{value} went to the in-process model in clear text"
    assert recording.seen[0] == body["messages"]  # both engines get the same prompt
    assert events[-1]["message"]["text"] == "I can help with that."
    trace = await database_sync_to_async(TurnTrace.objects.get)()
    generator = trace.data["generator"]
    assert generator["engine"] == "transformers"
    assert generator["adapter"] is None  # no adapter registered for this workspace
    assert generator["fallbacks"][0].startswith("vllm: vLLM unavailable")
