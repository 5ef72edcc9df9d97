"""Reads of the review queue: items, agreement between labellers, and the labels the learning
loop harvests (reviewed and weak, apart)."""

from collections import Counter
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from apps.accounts.models import Role, Workspace
from apps.chat.models import Conversation
from apps.core.exceptions import NotFound
from apps.nlu.models import Intent
from apps.review.contracts import OUT_OF_SCOPE_LABEL, ReviewedLabel, WeakLabelRecord
from apps.review.models import HandoffOutcome, ReviewItem, ReviewLabel, ReviewSettings, WeakLabel
from ml.mlops.agreement import AgreementReport, LabelRow, agreement_report

# Who labels (and skips) items; who adjudicates; who records a handoff's outcome.
LABELLER_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})
ADJUDICATOR_ROLES = frozenset({Role.ADMIN})
OUTCOME_ROLES = frozenset({Role.ADMIN, Role.AGENT})


def review_settings_get(*, workspace: Workspace) -> ReviewSettings:
    """The workspace's settings, or the defaults (unsaved) when it has none."""
    return ReviewSettings.objects.filter(workspace=workspace).first() or ReviewSettings(
        workspace=workspace
    )


def label_value(*, intent: str, out_of_scope: bool) -> str:
    """One label as a category: the intent name, or ``OUT_OF_SCOPE_LABEL``."""
    return OUT_OF_SCOPE_LABEL if out_of_scope else intent


def _with_labels(items: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
    return items.prefetch_related(
        Prefetch("labels", queryset=ReviewLabel.objects.select_related("labeller"))
    )


def review_item_get(*, workspace: Workspace, item_id: int) -> ReviewItem:
    item = _with_labels(ReviewItem.objects.filter(workspace=workspace, id=item_id)).first()
    if item is None:
        raise NotFound("No such review item in this workspace.")
    return item


def review_item_list(*, workspace: Workspace, status: str | None = None) -> QuerySet[ReviewItem]:
    """The workspace's items, newest turn first."""
    items = ReviewItem.objects.filter(workspace=workspace)
    if status:
        items = items.filter(status=status)
    return _with_labels(items.order_by("-turn_at", "-id"))


def review_counts(*, workspace: Workspace) -> dict[str, int]:
    """Items per status (every status present, zeros included)."""
    counts = Counter(
        ReviewItem.objects.filter(workspace=workspace).values_list("status", flat=True)
    )
    return {status: counts.get(status, 0) for status in ReviewItem.Status.values}


def review_agreement(*, workspace: Workspace) -> AgreementReport:
    """Cohen's kappa per labeller pair, per labeller and per intent (``ml.mlops.agreement``), over
    the double-labelled items' two labels (adjudications are not labels of a pair)."""
    labels = ReviewLabel.objects.filter(
        item__workspace=workspace, item__labels_required=2, kind=ReviewLabel.Kind.REVIEW
    ).select_related("labeller")
    rows = [
        LabelRow(
            item=label.item_id,
            labeller=label.labeller.username,
            label=label_value(intent=label.intent, out_of_scope=label.out_of_scope),
        )
        for label in labels
    ]
    return agreement_report(rows=rows)


def _final(item: ReviewItem) -> ReviewedLabel:
    labels = list(item.labels.all())
    if item.final_source == ReviewItem.Source.ADJUDICATED:
        deciders = [label for label in labels if label.kind == ReviewLabel.Kind.ADJUDICATION]
    else:
        deciders = [label for label in labels if label.kind == ReviewLabel.Kind.REVIEW]
    assert item.finalized_at is not None
    return ReviewedLabel(
        text=item.text,
        label=label_value(intent=item.final_intent, out_of_scope=item.final_out_of_scope),
        source=item.final_source,
        labeller="+".join(label.labeller.username for label in deciders),
        item_id=item.id,
        labelled_at=item.finalized_at,
        slots=tuple(dict(span) for span in item.final_slots),
    )


def reviewed_labels(*, workspace: Workspace, since: datetime | None = None) -> list[ReviewedLabel]:
    """The workspace's final reviewed labels (one labeller, two who agreed, or an admin's
    adjudication), oldest first; ``since``: finalized after it."""
    items = ReviewItem.objects.filter(workspace=workspace, status=ReviewItem.Status.DONE)
    if since is not None:
        items = items.filter(finalized_at__gt=since)
    return [_final(item) for item in _with_labels(items.order_by("finalized_at", "id"))]


def weak_labels(*, workspace: Workspace, since: datetime | None = None) -> list[WeakLabelRecord]:
    """The workspace's weak labels (rules in ``apps.review.services.harvest``), oldest first."""
    rows = WeakLabel.objects.filter(workspace=workspace)
    if since is not None:
        rows = rows.filter(created_at__gt=since)
    return [
        WeakLabelRecord(
            text=row.text,
            label=row.intent,
            rule=row.rule,
            negative=row.negative,
            weak_label_id=row.id,
            trace_id=row.trace_id,
            created_at=row.created_at,
        )
        for row in rows.order_by("created_at", "id")
    ]


def handoff_outcome_form(*, workspace: Workspace, conversation_id: int) -> dict[str, object]:
    """What the agent console's outcome form needs: the workspace's intents to choose from,
    whether the conversation was handed to a person, and the outcome recorded so far (or None)."""
    conversation = Conversation.objects.filter(workspace=workspace, id=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation in this workspace.")
    outcome = HandoffOutcome.objects.filter(conversation=conversation).first()
    return {
        "handed_off": conversation.handoff_requested_at is not None,
        "intents": list(
            Intent.objects.filter(workspace=workspace)
            .order_by("name")
            .values_list("name", flat=True)
        ),
        "outcome": None
        if outcome is None
        else {
            "resolved_intent": outcome.resolved_intent,
            "bot_answer_wrong": outcome.bot_answer_wrong,
            "updated_at": outcome.updated_at,
        },
    }
