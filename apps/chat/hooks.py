"""What chat asks of the apps above it.

chat sits low in the app layers (pyproject.toml): safety, feedback and dialogue keep their rows
against its conversations and messages, so chat never imports them. It declares each call here,
and the app that answers connects it in its AppConfig.ready: safety redacts what a customer
types and keeps the originals, feedback records a thumbs-up or -down, dialogue runs the bot's
turn on a customer message and notes its turns for the agent who takes over.
"""

from typing import Any

from apps.accounts.models import CustomerSession
from apps.chat.models import Conversation, Message
from apps.core.hooks import Hook
from ml.safety.contracts import Redaction

# --- safety ------------------------------------------------------------------------------------


@Hook
def inbound_redact(*, conversation: Conversation, text: str) -> Redaction:
    """The customer's message as it may be stored, indexed, trained on and sent to the LLM.
    Updates the conversation's placeholder map (the caller saves it with the message)."""
    raise NotImplementedError


@Hook
def customer_text_redact(*, conversation: Conversation, text: str) -> str:
    """Other text a customer types (a CSAT comment), redacted like their messages; the caller
    holds the conversation's row lock, the placeholder map is saved."""
    raise NotImplementedError


@Hook
def message_original_store(*, message: Message, original: str) -> None:
    """Keeps the original of a redacted customer message, encrypted."""
    raise NotImplementedError


# --- feedback ----------------------------------------------------------------------------------


@Hook
def feedback_record(
    *, session: CustomerSession, message_id: int, rating: str, reason: str = ""
) -> object:
    """The customer's rating of one bot answer in their own conversations."""
    raise NotImplementedError


# --- dialogue ----------------------------------------------------------------------------------


@Hook
def turn_start(*, customer_message_id: int) -> object:
    """Runs the stored message's bot turn in the background of this process's event loop."""
    raise NotImplementedError


@Hook
def turn_dispatch(*, customer_message_id: int) -> None:
    """``turn_start`` from synchronous code (a REST view in a worker thread)."""
    raise NotImplementedError


@Hook
def turn_notes(*, conversation: Conversation) -> list[dict[str, Any]]:
    """The bot's notes on each of its turns, for the agent taking over."""
    raise NotImplementedError
