"""Safety wired into the product: inbound redaction, injection policy, output guard, originals."""

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role, User, Workspace
from apps.chat.models import Conversation, Message
from apps.core import metrics
from apps.core.exceptions import Forbidden, NotFound
from apps.core.process import process_wide
from apps.safety import crypto
from apps.safety.models import KnowledgePiiReport, MessageOriginal, PiiRevealLog, SafetyPolicy
from ml.safety.contracts import InjectionVerdict, PiiSpan, Redaction

if TYPE_CHECKING:
    from ml.safety.guard import OutputGuard
    from ml.safety.injection import InjectionDetector
    from ml.safety.pii import PiiDetector

# spaCy, Presidio and scikit-learn load on first use, not when Django imports this module (every
# management command and worker would pay seconds for it).

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """A workspace's safety settings as plain values (what the ml layer needs)."""

    redact_entities: tuple[str, ...]
    redaction_mode: str
    order_id_patterns: tuple[str, ...]
    invoice_id_patterns: tuple[str, ...]
    injection_action: str
    blocked_terms: tuple[str, ...]


def policy_get(*, workspace: Workspace) -> Policy:
    row = SafetyPolicy.objects.filter(workspace=workspace).first() or SafetyPolicy(
        workspace=workspace
    )
    return Policy(
        redact_entities=tuple(row.redact_entities),
        redaction_mode=row.redaction_mode,
        order_id_patterns=tuple(row.order_id_patterns),
        invoice_id_patterns=tuple(row.invoice_id_patterns),
        injection_action=row.injection_action,
        blocked_terms=tuple(row.blocked_terms),
    )


@functools.lru_cache(maxsize=128)
def _detector(
    order_patterns: tuple[str, ...], invoice_patterns: tuple[str, ...], use_ner: bool = True
) -> "PiiDetector":
    from ml.safety.pii import PiiDetector

    # Detectors with other patterns share one spaCy pipeline (ml.safety.pii.shared_nlp_engine).
    return PiiDetector(
        order_patterns=order_patterns, invoice_patterns=invoice_patterns, use_ner=use_ner
    )


def detector_for(policy: Policy) -> "PiiDetector":
    return _detector(policy.order_id_patterns, policy.invoice_id_patterns)


@process_wide
def injection_detector() -> "InjectionDetector":
    from ml.safety.injection import InjectionDetector

    return InjectionDetector.load()


def text_redact(*, policy: Policy, text: str, placeholders: dict[str, str]) -> Redaction:
    spans = detector_for(policy).detect(text, entities=policy.redact_entities)
    return _spans_redact(policy=policy, text=text, spans=spans, placeholders=placeholders)


def knowledge_text_redact(*, policy: Policy, text: str, placeholders: dict[str, str]) -> Redaction:
    """An operator's knowledge text with only private data replaced (``ml.safety.pii.
    knowledge_spans``: cards, ID numbers, IBANs, private e-mails and phones), so brands, places,
    products and ``{{template variables}}`` reach customers as written."""
    from ml.safety.pii import knowledge_spans

    spans = knowledge_spans(text, entities=policy.redact_entities)
    redaction = _spans_redact(policy=policy, text=text, spans=spans, placeholders=placeholders)
    metrics.redactions_observe("knowledge", redaction.counts)
    return redaction


def _spans_redact(
    *, policy: Policy, text: str, spans: list[PiiSpan], placeholders: dict[str, str]
) -> Redaction:
    """The found spans replaced as the workspace's policy says (placeholders or masks)."""
    from ml.safety.redact import redact

    return redact(
        text,
        spans,
        secret=crypto.placeholder_secret(),
        mode=policy.redaction_mode,
        placeholders=placeholders,
    )


def knowledge_pii_record(*, workspace: Workspace, doc_key: str, counts: dict[str, int]) -> None:
    """What redaction found in one knowledge source, for the operator (the latest indexing)."""
    KnowledgePiiReport.objects.update_or_create(
        workspace=workspace, doc_key=doc_key, defaults={"counts": counts}
    )


def knowledge_pii_forget(*, workspace_id: int, doc_key: str) -> None:
    KnowledgePiiReport.objects.filter(workspace_id=workspace_id, doc_key=doc_key).delete()


def knowledge_pii_list(*, workspace: Workspace) -> list[KnowledgePiiReport]:
    """The knowledge sources in which personal data was found and redacted."""
    return list(KnowledgePiiReport.objects.filter(workspace=workspace).exclude(counts={}))


def inbound_redact(*, conversation: Conversation, text: str) -> Redaction:
    """The customer's message as it may be stored, indexed, trained on and sent to the LLM.

    Updates the conversation's placeholder map (the caller saves it with the message).
    """
    policy = policy_get(workspace=conversation.workspace)
    redaction = text_redact(policy=policy, text=text, placeholders=conversation.pii_placeholders)
    conversation.pii_placeholders = redaction.placeholders
    metrics.redactions_observe("customer", redaction.counts)
    return redaction


def customer_text_redact(*, conversation: Conversation, text: str) -> str:
    """Other text a customer types (a feedback reason, a CSAT comment), redacted like their
    messages with the conversation's placeholders. The caller holds the conversation's row lock;
    the placeholder map is saved here."""
    redaction = inbound_redact(conversation=conversation, text=text)
    if redaction.spans:
        conversation.save(update_fields=["pii_placeholders"])
    return redaction.text


def message_original_store(*, message: Message, original: str) -> None:
    MessageOriginal.objects.create(
        message=message,
        workspace_id=message.conversation.workspace_id,
        ciphertext=crypto.encrypt(original),
    )


def can_view_pii(*, user: User, workspace: Workspace) -> bool:
    membership = Membership.objects.filter(user=user, workspace=workspace).first()
    if membership is None:
        return False
    return membership.role == Role.ADMIN or (
        membership.role == Role.AGENT and membership.can_view_pii
    )


@transaction.atomic
def message_original_reveal(*, user: User, workspace: Workspace, message_id: int) -> str:
    """The unredacted text, for a member allowed to see it; every reveal is logged."""
    if not can_view_pii(user=user, workspace=workspace):
        raise Forbidden(
            "You don't have the permission to see customers' personal data.", code="pii_forbidden"
        )
    original = (
        MessageOriginal.objects.select_related("message")
        .filter(message_id=message_id, workspace=workspace)
        .first()
    )
    if original is None:
        raise NotFound("This message has no stored original (nothing was redacted, or it expired).")
    PiiRevealLog.objects.create(workspace=workspace, message_id=message_id, user=user)
    logger.info("pii revealed message=%s user=%s", message_id, user.id)
    return crypto.decrypt(bytes(original.ciphertext))


def originals_purge_expired() -> int:
    """Deletes encrypted originals older than their workspace's retention period."""
    deleted = 0
    now = timezone.now()
    for workspace in Workspace.objects.all():
        expired = MessageOriginal.objects.filter(
            workspace=workspace, created_at__lt=now - timedelta(days=workspace.retention_days)
        )
        count, _ = expired.delete()
        deleted += count
    return deleted


def injection_check(*, text: str, source: str = "customer") -> InjectionVerdict:
    verdict = injection_detector().check(text, source=source)
    if verdict.is_injection:
        metrics.INJECTIONS_FLAGGED.labels(source=source).inc()
    return verdict


_CONTACT_ENTITIES = ("PHONE", "EMAIL")


def contacts_find(*, texts: Iterable[str]) -> set[str]:
    """The phone numbers and e-mail addresses written in ``texts``."""
    detector = _detector((), (), use_ner=False)
    # Order and invoice numbers and cards are looked for too, so that none is taken for a phone.
    entities = [*_CONTACT_ENTITIES, "ORDER_ID", "INVOICE_ID", "PAYMENT_CARD"]
    found: set[str] = set()
    for text in texts:
        found |= {
            text[span.start : span.end]
            for span in detector.detect(text, entities=entities)
            if span.entity in _CONTACT_ENTITIES
        }
    return found


def output_guard_for(
    *,
    workspace: Workspace,
    published_values: tuple[str, ...],
    system_prompt: str = "",
    policy: Policy | None = None,
) -> "OutputGuard":
    """The output guard of a workspace's bot: it lets through the customer's own data and the
    contact details the workspace publishes itself (``published_values``: knowledge's
    ``published_contacts_get``), nothing else."""
    policy = policy or policy_get(workspace=workspace)
    return _output_guard(
        tuple(policy.order_id_patterns),
        tuple(policy.invoice_id_patterns),
        tuple(policy.blocked_terms),
        system_prompt,
        crypto.placeholder_secret(),
        tuple(published_values),
    )


@functools.lru_cache(maxsize=256)
def _output_guard(
    order_patterns: tuple[str, ...],
    invoice_patterns: tuple[str, ...],
    blocked_terms: tuple[str, ...],
    system_prompt: str,
    secret: bytes,
    published_values: tuple[str, ...],
) -> "OutputGuard":
    """One guard per set of inputs (it holds no state of its own after it is built, and
    building one reads every published value): a turn reuses its workspace's guard until the
    policy or the published values change."""
    from ml.safety.guard import OutputGuard

    return OutputGuard(
        # The guard checks shaped data only (cards, IBANs, phones, IDs, e-mails, addresses):
        # no named-entity model, so checking a streamed reply piece by piece stays cheap.
        detector=_detector(order_patterns, invoice_patterns, use_ner=False),
        system_prompt=system_prompt,
        blocked_terms=blocked_terms,
        secret=secret,
        published_values=published_values,
    )


def models_warm_up() -> None:
    """Loads the detectors (spaCy, the injection model) so the first customer doesn't wait."""
    _detector((), ()).detect("warm up 4111 1111 1111 1111")
    _detector((), (), use_ner=False).detect("warm up")
    injection_detector().check("warm up")
