"""The engine behind the real customer socket: a flow across a reconnect, traced per turn."""

from typing import Any

import pytest
from channels.db import database_sync_to_async

from apps.dialogue.models import TurnTrace
from tests.apps.conftest import drain_turns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _ask(socket: Any, client_id: str, text: str) -> str:
    await socket.send("message.send", client_message_id=client_id, text=text)
    done = (await socket.receive_until("message.done", timeout=20))[-1]
    return str(done["message"]["text"])


async def test_flow_continues_after_the_customer_reconnects(
    bank: Any, connect_customer: Any, settings: Any
) -> None:
    settings.DIALOGUE_REPLIER = "apps.dialogue.engine.EngineReplier"
    socket, session = await connect_customer(bank)
    assert (
        await _ask(socket, "c-1", "I lost my card") == "What are the last four digits of the card?"
    )
    await socket.close()

    socket, _ = await connect_customer(bank, token=session["token"])
    assert await _ask(socket, "c-2", "4821") == "Freeze the card ending 4821 (lost)?"
    assert await _ask(socket, "c-3", "yes") == "Done: the card ending 4821 is frozen."
    await socket.close()
    await drain_turns()

    traces = await database_sync_to_async(
        lambda: list(TurnTrace.objects.order_by("id").values_list("route", "intent", "data"))
    )()
    assert [t[0] for t in traces] == ["flow", "flow", "flow"]
    assert traces[0][1] == "lost_or_stolen_card"
    assert {"nlu", "state", "handler", "inbound", "guard"} <= set(traces[0][2])
    assert {"safety_in", "nlu", "state", "policy", "handler", "guard", "total"} <= set(
        traces[2][2]["latency_ms"]
    )
