"""The output guard lets the workspace's own published contact details through (its answer
variables' values and the phones and e-mails its knowledge text keeps), and still blocks any
other personal data in a reply."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from apps.accounts.widget import customer_session_start
from apps.chat.models import Message
from apps.chat.services import customer_message_receive
from apps.dialogue.replies import BLOCKED_REPLY
from apps.dialogue.services import turn_run
from apps.knowledge.models import AnswerVariable
from apps.knowledge.selectors import published_contacts_get
from apps.knowledge.services.articles import article_create
from apps.safety.services import output_guard_for
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+1 800 555 0199"
EMAIL = "help@northwind.example"
ANSWER = (
    "You can call us on {{Customer Support Phone Number}} or write to {{Support Email}} and we "
    "will get back to you within a day."
)
FILLED = f"You can call us on {PHONE} or write to {EMAIL} and we will get back to you within a day."


def _variable(workspace: Any, name: str, value: str) -> None:
    AnswerVariable.objects.create(
        workspace=workspace, name=name, key=name.replace(" ", "").lower(), value=value
    )


def _bot_reply(workspace: Any, text: str) -> str:
    session = customer_session_start(workspace=workspace, origin="https://acme.example.com").session
    message, _ = customer_message_receive(session=session, text=text, client_message_id="c-1")
    async_to_sync(turn_run)(customer_message_id=message.id)
    return Message.objects.get(client_message_id=f"reply-{message.id}").text


def test_a_reply_with_the_workspaces_support_phone_and_email_reaches_the_customer(
    workspace_a: Any, extractive_only: None, django_capture_on_commit_callbacks: Any
) -> None:
    _variable(workspace_a, "Customer Support Phone Number", PHONE)
    _variable(workspace_a, "Support Email", EMAIL)
    with django_capture_on_commit_callbacks(execute=True):  # indexing runs after the commit
        article_create(
            workspace=workspace_a,
            author=UserFactory(),
            title="How can I reach customer service?",
            body=ANSWER,
            publish=True,
        )
    assert _bot_reply(workspace_a, "how can I reach customer service?") == FILLED


def test_another_phone_number_in_a_reply_is_still_blocked(workspace_a: Any, settings: Any) -> None:
    settings.DIALOGUE_REPLIER = "tests.doubles.LeakingReplier"  # streams +44 20 7946 0958
    _variable(workspace_a, "Customer Support Phone Number", PHONE)
    _variable(workspace_a, "Support Email", EMAIL)
    assert _bot_reply(workspace_a, "how can I reach you?") == BLOCKED_REPLY["en"]


def test_phones_and_emails_the_knowledge_text_keeps_are_allowed_other_ones_not(
    workspace_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        article_create(
            workspace=workspace_a,
            author=UserFactory(),
            title="Contact",
            body="Call our hotline on 020 7946 0000 or e-mail support@northwind.example.",
            publish=True,
        )
    guard = output_guard_for(
        workspace=workspace_a, published_values=published_contacts_get(workspace=workspace_a)
    )
    # The same number written another way is the same number.
    for reply in (
        "Our hotline is +44 20 7946 0000.",
        "Call 020-7946-0000.",
        "Write to support@northwind.example.",
    ):
        assert guard.check(reply).blocked is False, reply
    assert guard.check("Call 020 7946 0958.").reasons == ("pii:PHONE",)
    assert guard.check("Write to jane.roe@example.com.").reasons == ("pii:EMAIL",)
