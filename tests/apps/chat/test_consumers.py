"""The chat protocol over real WebSockets (Channels' communicator, in-memory layer)."""

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from apps.chat.models import Conversation, Message
from apps.dialogue.models import TurnTrace
from apps.feedback.models import MessageFeedback
from tests.apps.conftest import drain_turns
from tests.factories import ConversationFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _count(**filters: Any) -> Any:
    return database_sync_to_async(lambda: Message.objects.filter(**filters).count())()


async def test_message_is_stored_acknowledged_streamed_and_traced(
    workspace_a: Any, connect_customer: Any
) -> None:
    socket, _ = await connect_customer(workspace_a)
    await socket.send("sync", after=0)
    assert await socket.receive() == {
        "v": 1,
        "type": "history",
        "conversation": None,
        "messages": [],
    }

    await socket.send("message.send", client_message_id="c-1", text="Where is my parcel?")
    events = await socket.receive_until("message.done")
    types = [e["type"] for e in events]
    assert types[0] == "message.new"
    assert events[0]["message"]["client_message_id"] == "c-1"
    assert events[0]["message"]["sender"] == "customer"
    assert "typing" in types
    deltas = [e["delta"] for e in events if e["type"] == "message.delta"]
    # Streamed: the first chunk alone, the rest as fast as the channel layer takes them.
    assert len(deltas) >= 2
    done = events[-1]["message"]
    assert done["sender"] == "bot"
    assert done["text"] == "".join(deltas)

    await drain_turns()
    assert await _count(sender="customer") == 1
    assert await _count(sender="bot") == 1
    trace = await database_sync_to_async(TurnTrace.objects.get)()
    assert trace.route == "faq"  # no NLU model yet: the knowledge base answers
    assert trace.reply_message_id == done["id"]
    assert trace.data["latency_ms"]["first_chunk"] <= trace.data["latency_ms"]["total"]
    await socket.close()


async def test_resend_is_acknowledged_again_never_stored_twice(
    workspace_a: Any, connect_customer: Any
) -> None:
    socket, _ = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="c-1", text="hello")
    first = (await socket.receive_until("message.new"))[-1]
    done = (await socket.receive_until("message.done"))[-1]
    await socket.send("message.send", client_message_id="c-1", text="hello")
    again = await socket.receive()
    assert again["type"] == "message.new"
    assert again["message"]["id"] == first["message"]["id"]
    # The bot's reply comes with it (the client may have missed it), and no second bot turn.
    reply = await socket.receive()
    assert (reply["type"], reply["message"]["id"]) == ("message.new", done["message"]["id"])
    assert await socket.nothing()
    assert await _count() == 2
    await socket.close()


async def test_drop_mid_stream_then_resume_has_every_message_once(
    workspace_a: Any, connect_customer: Any, slow_replier: None
) -> None:
    socket, auth = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="c-1", text="tell me a long story")
    ack = (await socket.receive_until("message.new"))[-1]["message"]
    await socket.receive_until("message.delta")
    await socket.close()  # the network drops halfway through the reply

    await drain_turns()  # the reply is finished and stored even with nobody listening
    resumed, _ = await connect_customer(workspace_a, token=auth["token"])
    await resumed.send("sync", after=ack["id"])
    history = await resumed.receive()
    assert history["type"] == "history"
    assert [m["sender"] for m in history["messages"]] == ["bot"]
    assert history["messages"][0]["text"] == "".join(f"part{i} " for i in range(10))
    assert history["messages"][0]["sources"] == [{"title": "T", "url": "/t"}]

    # The widget resends what it never saw acknowledged; it is acknowledged, not stored again.
    await resumed.send("message.send", client_message_id="c-1", text="tell me a long story")
    assert (await resumed.receive())["message"]["id"] == ack["id"]
    # With the bot's reply it has (a widget shows a message it has already once).
    assert (await resumed.receive())["message"]["id"] == history["messages"][0]["id"]
    await resumed.send("sync", after=0)
    full = await resumed.receive()
    ids = [m["id"] for m in full["messages"]]
    assert len(ids) == len(set(ids)) == 2
    assert await _count() == 2
    await resumed.close()


async def test_token_of_a_is_refused_on_b(
    workspace_a: Any, workspace_b: Any, connect_customer: Any
) -> None:
    from apps.accounts.widget import customer_session_start

    issued = await database_sync_to_async(customer_session_start)(
        workspace=workspace_a, origin="https://acme.example.com"
    )
    socket, _ = await connect_customer(
        workspace_b, origin="https://globex.example.com", token=issued.token
    )
    error = await socket.receive()
    assert error["type"] == "error"
    assert error["code"] == "invalid_token"
    assert (await socket.communicator.receive_output())["code"] == 4401


async def test_disallowed_origin_is_refused(workspace_a: Any, connect_customer: Any) -> None:
    from apps.accounts.widget import customer_session_start

    issued = await database_sync_to_async(customer_session_start)(
        workspace=workspace_a, origin="https://acme.example.com"
    )
    socket, _ = await connect_customer(
        workspace_a, origin="https://evil.example.net", token=issued.token
    )
    error = await socket.receive()
    assert (error["type"], error["code"]) == ("error", "origin_not_allowed")
    assert (await socket.communicator.receive_output())["code"] == 4403


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "invalid"),
        ('{"type": "ping"}', "unsupported_version"),
        ('{"v": 1, "type": "launch.rocket"}', "unknown_type"),
        ('{"v": 1, "type": "message.send", "text": "no id"}', "invalid"),
        ('{"v": 1, "type": "message.send", "client_message_id": 5, "text": "x"}', "invalid"),
        ('{"v": 1, "type": "message.send", "client_message_id": "c", "text": "   "}', "invalid"),
        ('{"v": 1, "type": "csat", "score": 9}', "invalid"),
        ('{"v": 1, "type": "feedback", "message_id": 999, "rating": "up"}', "unknown_message"),
    ],
)
async def test_bad_events_get_an_error_and_the_socket_stays_open(
    workspace_a: Any, connect_customer: Any, frame: str, code: str
) -> None:
    socket, _ = await connect_customer(workspace_a)
    await socket.communicator.send_to(text_data=frame)
    error = await socket.receive()
    assert (error["type"], error["code"]) == ("error", code), error
    assert error["message"]
    await socket.send("ping")
    assert (await socket.receive())["type"] == "pong"
    await socket.close()


async def test_oversized_event_and_text(
    workspace_a: Any, connect_customer: Any, settings: Any
) -> None:
    settings.CHAT_EVENT_MAX_BYTES = 2000
    settings.MESSAGE_MAX_CHARS = 100
    socket, _ = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="big", text="x" * 3000)
    assert (await socket.receive())["code"] == "too_large"
    await socket.send("message.send", client_message_id="long", text="x" * 101)
    error = await socket.receive()
    assert (error["code"], error["ref"]) == ("invalid", "long")
    assert error["message"] == "text: A message can be at most 100 characters."
    await socket.send("ping")
    assert (await socket.receive())["type"] == "pong"
    assert await _count() == 0
    await socket.close()


async def test_rate_limited_messages_get_an_error_not_a_drop(
    workspace_a: Any, connect_customer: Any, settings: Any
) -> None:
    settings.CHAT_RATE_MESSAGES_PER_SESSION = "2/60"
    socket, _ = await connect_customer(workspace_a)
    for index in range(2):
        await socket.send("message.send", client_message_id=f"c-{index}", text="hi")
        await socket.receive_until("message.done")
    await socket.send("message.send", client_message_id="c-2", text="hi")
    error = await socket.receive()
    assert (error["code"], error["ref"]) == ("rate_limited", "c-2")
    await socket.send("ping")
    assert (await socket.receive())["type"] == "pong"
    await socket.close()


async def test_feedback_and_csat(workspace_a: Any, connect_customer: Any) -> None:
    socket, _ = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="c-1", text="hi")
    reply = (await socket.receive_until("message.done"))[-1]["message"]
    await socket.send("feedback", message_id=reply["id"], rating="down", reason="not an answer")
    assert await socket.receive() == {
        "v": 1,
        "type": "feedback.saved",
        "message_id": reply["id"],
        "rating": "down",
    }
    feedback = await database_sync_to_async(MessageFeedback.objects.get)()
    assert (feedback.rating, feedback.reason) == ("down", "not an answer")
    await socket.send("csat", score=4, comment="fine")
    assert (await socket.receive())["type"] == "csat.saved"
    conversation = await database_sync_to_async(Conversation.objects.get)()
    assert (conversation.csat_score, conversation.csat_comment) == (4, "fine")
    await socket.close()


async def test_feedback_on_someone_elses_message_is_refused(
    workspace_a: Any, connect_customer: Any
) -> None:
    other = await database_sync_to_async(ConversationFactory)(workspace=workspace_a)
    bot = await database_sync_to_async(Message.objects.create)(
        conversation=other, sender="bot", text="theirs"
    )
    socket, _ = await connect_customer(workspace_a)
    await socket.send("feedback", message_id=bot.id, rating="up")
    assert (await socket.receive())["code"] == "unknown_message"
    await socket.close()


async def test_handoff_claim_reply_release_close(
    workspace_a: Any, connect_customer: Any, connect_agent: Any, agent_of: Any
) -> None:
    agent = await database_sync_to_async(agent_of)(workspace_a)
    console = await connect_agent(agent, workspace_a)
    await console.send("queue")
    assert (await console.receive()) == {"v": 1, "type": "queue", "conversations": []}

    customer, _ = await connect_customer(workspace_a)
    # A question first ("I want a human" would hand over by itself), then the person button.
    await customer.send("message.send", client_message_id="c-1", text="where is my parcel?")
    await customer.receive_until("message.done")
    await customer.send("handoff.request")
    requested = await customer.receive_until("handoff.requested")
    assert any(e["type"] == "message.new" and e["message"]["sender"] == "system" for e in requested)

    updated = (await console.receive_until("conversation.updated"))[-1]["conversation"]
    assert (updated["status"], updated["handoff_reason"]) == (
        "waiting_for_agent",
        "customer_request",
    )
    conversation_id = updated["id"]

    await console.send("conversation.open", conversation_id=conversation_id)
    detail = await console.receive_until("conversation")
    notes = detail[-1]["notes"]
    assert [n["route"] for n in notes] == ["faq"]
    assert [m["sender"] for m in detail[-1]["messages"]] == ["customer", "bot", "system"]

    await console.send("conversation.claim", conversation_id=conversation_id)
    accepted = (await customer.receive_until("handoff.accepted"))[-1]
    assert accepted["agent_name"] == agent.username

    await console.send(
        "message.send",
        conversation_id=conversation_id,
        client_message_id="a-1",
        text="Hi, Ann here",
    )
    seen = (await customer.receive_until("message.new"))[-1]["message"]
    while seen["sender"] != "agent":
        seen = (await customer.receive_until("message.new"))[-1]["message"]
    assert (seen["text"], seen["agent_name"]) == ("Hi, Ann here", agent.username)

    # With a person on the chat, the bot stays quiet.
    await customer.send("message.send", client_message_id="c-2", text="thanks")
    assert (await customer.receive())["type"] == "message.new"
    assert await customer.nothing(0.5)

    await console.send("conversation.release", conversation_id=conversation_id)
    await customer.receive_until("handoff.released")
    await console.send("conversation.claim", conversation_id=conversation_id)
    await customer.receive_until("handoff.accepted")
    await console.send("conversation.close", conversation_id=conversation_id)
    closed = (await customer.receive_until("conversation.closed"))[-1]
    assert closed["conversation"]["status"] == "closed"
    await customer.close()
    await console.close()


async def test_two_agents_cannot_claim_the_same_conversation(
    workspace_a: Any, connect_agent: Any, agent_of: Any
) -> None:
    conversation = await database_sync_to_async(ConversationFactory)(
        workspace=workspace_a, status=Conversation.Status.WAITING_FOR_AGENT
    )
    first = await connect_agent(await database_sync_to_async(agent_of)(workspace_a), workspace_a)
    second = await connect_agent(await database_sync_to_async(agent_of)(workspace_a), workspace_a)
    await asyncio.gather(
        first.send("conversation.claim", conversation_id=conversation.id),
        second.send("conversation.claim", conversation_id=conversation.id),
    )
    outcomes = []
    for socket in (first, second):
        events = await socket.receive_until("conversation.updated")
        outcomes += [e.get("code") for e in events if e["type"] == "error"]
        if not await socket.nothing(0.3):
            extra = await socket.receive()
            outcomes += [extra.get("code")] if extra["type"] == "error" else []
    assert outcomes == ["already_claimed"]
    refreshed = await database_sync_to_async(Conversation.objects.get)(id=conversation.id)
    assert refreshed.status == "with_agent"
    await first.close()
    await second.close()


async def test_agent_socket_of_a_cannot_open_or_hear_b(
    workspace_a: Any, workspace_b: Any, connect_agent: Any, agent_of: Any, connect_customer: Any
) -> None:
    console = await connect_agent(await database_sync_to_async(agent_of)(workspace_a), workspace_a)
    customer_b, _ = await connect_customer(workspace_b, origin="https://globex.example.com")
    await customer_b.send("message.send", client_message_id="b-1", text="B's secret")
    await customer_b.receive_until("message.done")
    await customer_b.send("handoff.request")
    await customer_b.receive_until("handoff.requested")
    b_conversation = await database_sync_to_async(Conversation.objects.get)(workspace=workspace_b)

    for type_ in ("conversation.open", "conversation.claim"):
        await console.send(type_, conversation_id=b_conversation.id)
        error = await console.receive()
        assert (error["type"], error["code"]) == ("error", "not_found")
    await console.send("queue")
    assert (await console.receive())["conversations"] == []
    await customer_b.send("message.send", client_message_id="b-2", text="B's second secret")
    await customer_b.receive_until("message.new")
    assert await console.nothing(0.5)
    await console.close()
    await customer_b.close()


async def test_agent_socket_needs_an_agent_of_that_workspace(
    workspace_a: Any, workspace_b: Any, connect_agent: Any, agent_of: Any
) -> None:
    operator = await database_sync_to_async(agent_of)(workspace_a, "operator")
    socket = await connect_agent(operator, workspace_a)
    assert (await socket.receive())["code"] == "forbidden"
    assert (await socket.communicator.receive_output())["code"] == 4403

    agent_b = await database_sync_to_async(agent_of)(workspace_b)
    socket = await connect_agent(agent_b, workspace_a)
    assert (await socket.receive())["code"] == "not_found"
    assert (await socket.communicator.receive_output())["code"] == 4403


async def test_too_many_events_on_one_socket(
    workspace_a: Any, connect_customer: Any, settings: Any
) -> None:
    settings.CHAT_RATE_EVENTS_PER_SOCKET = "4/60"
    socket, _ = await connect_customer(workspace_a)  # its auth event is the first of the four
    for _ in range(3):
        await socket.send("ping")
        assert (await socket.receive())["type"] == "pong"
    await socket.send("ping")
    assert (await socket.receive())["code"] == "rate_limited"
    await socket.close()


async def test_idle_socket_is_closed_with_a_reason(
    workspace_a: Any, connect_customer: Any, settings: Any
) -> None:
    settings.CHAT_IDLE_TIMEOUT_SECONDS = 1
    socket, _ = await connect_customer(workspace_a)
    error = await socket.receive(timeout=5)
    assert (error["type"], error["code"]) == ("error", "idle_timeout")
    assert (await socket.communicator.receive_output(timeout=2))["code"] == 4408
