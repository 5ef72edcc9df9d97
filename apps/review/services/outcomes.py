"""What an agent records about a conversation handed to them (read by the harvest: a review
reason and weak labels, see ``services.harvest``)."""

from django.db import transaction

from apps.accounts.models import User, Workspace
from apps.chat.models import Conversation
from apps.core.exceptions import ApplicationError, Conflict, NotFound
from apps.nlu.models import Intent
from apps.review.models import HandoffOutcome


@transaction.atomic
def handoff_outcome_record(
    *,
    workspace: Workspace,
    conversation_id: int,
    agent: User,
    resolved_intent: str = "",
    bot_answer_wrong: bool = False,
) -> HandoffOutcome:
    """The intent the agent resolved the conversation under ("" for none) and whether the bot's
    answer before the handoff was wrong; recording again replaces the previous outcome."""
    conversation = Conversation.objects.filter(workspace=workspace, id=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation in this workspace.")
    if conversation.handoff_requested_at is None:
        raise Conflict("This conversation was never handed to a person.", code="not_handed_off")
    resolved_intent = resolved_intent.strip()
    if (
        resolved_intent
        and not Intent.objects.filter(workspace=workspace, name=resolved_intent).exists()
    ):
        raise ApplicationError(f"{resolved_intent!r} is not an intent of this workspace.")
    outcome, _ = HandoffOutcome.objects.update_or_create(
        conversation=conversation,
        defaults={
            "workspace": workspace,
            "agent": agent,
            "resolved_intent": resolved_intent,
            "bot_answer_wrong": bot_answer_wrong,
        },
    )
    return outcome
