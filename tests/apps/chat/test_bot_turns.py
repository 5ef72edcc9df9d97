"""Every stored customer message gets exactly one bot turn, eventually: across failures, dead
processes and resends (issue 19)."""

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from apps.accounts.widget import customer_session_start
from apps.chat.models import BotTurn, Conversation, Message
from apps.chat.services import (
    bot_turn_claim,
    conversation_close,
    customer_message_receive,
)
from apps.dialogue.services import turn_run, turns_recover
from tests.apps.conftest import drain_turns
from tests.doubles import FailingReplier
from tests.factories import MembershipFactory


@pytest.fixture
def failing_replier(settings: Any) -> type[FailingReplier]:
    settings.DIALOGUE_REPLIER = "tests.doubles.FailingReplier"
    settings.TURN_RETRY_BACKOFF_SECONDS = 0
    FailingReplier.failures = 1
    FailingReplier.calls = 0
    return FailingReplier


def _receive(workspace: Any, text: str = "Where is my order?", cid: str = "c-1") -> Message:
    session = customer_session_start(workspace=workspace, origin="https://acme.example.com").session
    message, created = customer_message_receive(session=session, text=text, client_message_id=cid)
    assert created
    return message


def _replies(message: Message) -> int:
    return Message.objects.filter(
        conversation=message.conversation_id, client_message_id=f"reply-{message.id}"
    ).count()


@pytest.mark.django_db
def test_a_stored_message_comes_with_its_bot_turn(workspace_a: Any) -> None:
    message = _receive(workspace_a)
    turn = BotTurn.objects.get()
    assert turn.customer_message_id == message.id
    assert turn.state == BotTurn.State.PENDING
    assert turn.lease_until == message.created_at
    assert turn.attempts == 0


@pytest.mark.django_db
def test_a_running_turn_is_not_claimed_twice_until_its_lease_ends(workspace_a: Any) -> None:
    message = _receive(workspace_a)
    first = bot_turn_claim(customer_message_id=message.id, lease_seconds=30)
    assert first is not None
    assert first.attempt == 1
    assert first.text == "Where is my order?"
    assert bot_turn_claim(customer_message_id=message.id, lease_seconds=30) is None
    # The process that held it died: once the lease is over, another takes it.
    BotTurn.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    second = bot_turn_claim(customer_message_id=message.id, lease_seconds=30)
    assert second is not None
    assert second.attempt == 2


@pytest.mark.django_db
def test_a_turn_is_skipped_when_a_person_has_the_conversation(workspace_a: Any) -> None:
    message = _receive(workspace_a)
    Conversation.objects.update(status=Conversation.Status.WITH_AGENT)
    assert bot_turn_claim(customer_message_id=message.id, lease_seconds=30) is None
    assert BotTurn.objects.get().state == BotTurn.State.SKIPPED


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_failed_turn_runs_again_and_answers_once(
    workspace_a: Any, failing_replier: type[FailingReplier]
) -> None:
    message = await database_sync_to_async(_receive)(workspace_a)
    assert await turn_run(customer_message_id=message.id) is None  # the replier failed
    turn = await database_sync_to_async(BotTurn.objects.get)()
    assert turn.state == BotTurn.State.PENDING
    assert turn.last_error == "ConnectionError"
    assert await database_sync_to_async(_replies)(message) == 0

    assert await turns_recover() == [message.id]
    await drain_turns()
    turn = await database_sync_to_async(BotTurn.objects.get)()
    assert (turn.state, turn.attempts) == (BotTurn.State.DONE, 2)
    assert await database_sync_to_async(_replies)(message) == 1
    # Nothing is due any more: a further pass starts nothing, and a late run stores nothing.
    assert await turns_recover() == []
    assert await turn_run(customer_message_id=message.id) is None
    assert await database_sync_to_async(_replies)(message) == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_turn_held_by_a_dead_process_is_recovered(
    workspace_a: Any, failing_replier: type[FailingReplier]
) -> None:
    failing_replier.failures = 0
    message = await database_sync_to_async(_receive)(workspace_a)
    # A process claimed it and was killed: the row says running, nobody runs it.
    await database_sync_to_async(bot_turn_claim)(customer_message_id=message.id, lease_seconds=30)
    assert await turns_recover() == []  # its lease still holds
    await database_sync_to_async(
        lambda: BotTurn.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    )()
    assert await turns_recover() == [message.id]
    await drain_turns()
    assert await database_sync_to_async(_replies)(message) == 1
    assert (await database_sync_to_async(BotTurn.objects.get)()).state == BotTurn.State.DONE


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_after_the_last_attempt_a_person_takes_over(
    workspace_a: Any, failing_replier: type[FailingReplier], settings: Any
) -> None:
    settings.TURN_MAX_ATTEMPTS = 2
    failing_replier.failures = 99
    message = await database_sync_to_async(_receive)(workspace_a)
    await turn_run(customer_message_id=message.id)
    await turn_run(customer_message_id=message.id)
    turn = await database_sync_to_async(BotTurn.objects.get)()
    assert (turn.state, turn.attempts) == (BotTurn.State.HANDED_OFF, 2)
    conversation = await database_sync_to_async(Conversation.objects.get)()
    assert conversation.status == Conversation.Status.WAITING_FOR_AGENT
    assert conversation.handoff_reason == "bot_error"
    assert await turns_recover() == []


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_resend_restarts_a_turn_that_failed(
    workspace_a: Any, connect_customer: Any, failing_replier: type[FailingReplier]
) -> None:
    socket, _ = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="c-1", text="where is my parcel?")
    await socket.receive_until("message.new")
    await drain_turns()
    assert await database_sync_to_async(Message.objects.filter(sender="bot").count)() == 0
    # The widget resends after no reply came: acknowledged again, and this time answered.
    await socket.send("message.send", client_message_id="c-1", text="where is my parcel?")
    events = await socket.receive_until("message.done")
    assert events[-1]["message"]["text"] == "Answered after a retry."
    await drain_turns()
    assert await database_sync_to_async(Message.objects.count)() == 2
    await socket.close()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_reply_whose_live_event_was_lost_comes_with_the_resend(
    workspace_a: Any, connect_customer: Any, monkeypatch: Any
) -> None:
    from apps.chat import events

    publish = events.apublish

    async def lossy(group: str, event: dict[str, Any]) -> None:
        if event["type"] != "message.new":
            raise ConnectionError("Redis went away")
        await publish(group, event)

    monkeypatch.setattr(events, "apublish", lossy)
    socket, _ = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="c-1", text="Where is my parcel?")
    await socket.receive_until("message.new")
    await drain_turns()
    assert await socket.nothing()  # stored, but the customer saw nothing of it
    await socket.send("message.send", client_message_id="c-1", text="Where is my parcel?")
    ack, reply = await socket.receive(), await socket.receive()
    assert ack["message"]["client_message_id"] == "c-1"
    assert reply["message"]["client_message_id"] == f"reply-{ack['message']['id']}"
    assert reply["message"]["sender"] == "bot"
    await socket.close()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_redis_hiccup_while_streaming_loses_no_reply(
    workspace_a: Any, connect_customer: Any, monkeypatch: Any
) -> None:
    from apps.chat import events

    publish = events.apublish

    async def flaky(group: str, event: dict[str, Any]) -> None:
        if event["type"] == "message.delta":
            raise ConnectionError("Redis went away")
        await publish(group, event)

    monkeypatch.setattr(events, "apublish", flaky)
    socket, _ = await connect_customer(workspace_a)
    await socket.send("message.send", client_message_id="c-1", text="Where is my parcel?")
    done = (await socket.receive_until("message.done"))[-1]
    assert done["message"]["sender"] == "bot"
    await drain_turns()
    turn = await database_sync_to_async(BotTurn.objects.get)()
    assert (turn.state, turn.attempts) == (BotTurn.State.DONE, 1)
    await socket.close()


@pytest.mark.django_db
def test_a_resend_after_the_conversation_closed_is_not_stored_again(
    workspace_a: Any,
) -> None:
    session = customer_session_start(workspace=workspace_a, origin="https://acme.example.com")
    first, created = customer_message_receive(
        session=session.session, text="hello", client_message_id="c-1"
    )
    assert created
    agent = MembershipFactory(workspace=workspace_a).user
    conversation_close(workspace=workspace_a, conversation_id=first.conversation_id, agent=agent)
    again, created = customer_message_receive(
        session=session.session, text="hello", client_message_id="c-1"
    )
    assert (again.id, created) == (first.id, False)
    assert Message.objects.filter(sender="customer").count() == 1
    assert Conversation.objects.count() == 1


@pytest.mark.django_db
def test_the_rest_message_endpoint_is_rate_limited(widget: Any, settings: Any) -> None:
    settings.CHAT_RATE_MESSAGES_PER_SESSION = "5/60"
    codes = [
        widget.post(
            widget.url, {"text": f"m{i}", "client_message_id": f"m-{i}"}, format="json"
        ).status_code
        for i in range(7)
    ]
    assert codes == [201] * 5 + [429] * 2
    assert Message.objects.filter(sender="customer").count() == 5


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_message_sent_over_rest_is_answered(widget: Any) -> None:
    response = await database_sync_to_async(widget.post)(
        widget.url, {"text": "Where is my order?", "client_message_id": "m-1"}, format="json"
    )
    assert response.status_code == 201
    message_id = response.json()["id"]
    # No server event loop in this test: the recovery pass is what starts the turn.
    assert await turns_recover() == [message_id]
    await drain_turns()
    history = (await database_sync_to_async(widget.get)(widget.url)).json()
    assert [m["sender"] for m in history["messages"]] == ["customer", "bot"]
