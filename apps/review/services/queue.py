"""Handing items to labellers, their labels and skips, and the admin's adjudication.

An item needs ``labels_required`` labels from different people (2 for the workspace's
``double_label_share`` of items, drawn per turn at harvest; 1 otherwise). Handing out an item
leases it to the labeller for ``LEASE``; while the labels given plus the live leases of others
fill its places, nobody else gets it. With one label needed, the label is final ("single");
with two, equal labels (same intent, or both out of scope) are final ("agreed", the slots of the
later label), different ones send the item to adjudication, where a workspace admin's label is
final ("adjudicated").
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError, Conflict, NotFound
from apps.nlu.models import Intent
from apps.nlu.services import _validate_slots as slots_validate
from apps.review.models import ReviewAssignment, ReviewItem, ReviewLabel, ReviewSettings
from apps.review.services.priority import item_priority

LEASE = timedelta(minutes=15)
# Open items looked at when choosing a batch (the newest turns first).
CANDIDATES = 5000
MAX_BATCH = 50


@dataclass(frozen=True)
class QueueEntry:
    item: ReviewItem
    priority: float
    labelled_in_cluster: int


def _cluster_coverage(workspace: Workspace) -> dict[int, int]:
    rows = (
        ReviewItem.objects.filter(
            workspace=workspace, status=ReviewItem.Status.DONE, cluster__isnull=False
        )
        .values("cluster")
        .annotate(n=Count("id"))
    )
    return {row["cluster"]: row["n"] for row in rows}


def _candidates(workspace: Workspace, user: User, now: datetime) -> list[ReviewItem]:
    """Open items this user may label now: not labelled or skipped by them, and with a place
    free (or leased to them already)."""
    others_leases = Q(
        assignments__leased_until__gt=now,
        assignments__skipped_at__isnull=True,
    ) & ~Q(assignments__user=user)
    items = (
        ReviewItem.objects.filter(workspace=workspace, status=ReviewItem.Status.OPEN)
        .exclude(id__in=ReviewLabel.objects.filter(labeller=user).values("item_id"))
        .exclude(
            id__in=ReviewAssignment.objects.filter(user=user, skipped_at__isnull=False).values(
                "item_id"
            )
        )
        .annotate(
            given=Count("labels", filter=Q(labels__kind=ReviewLabel.Kind.REVIEW), distinct=True),
            leased=Count("assignments", filter=others_leases, distinct=True),
            mine=Count(
                "assignments",
                filter=Q(assignments__user=user, assignments__leased_until__gt=now),
                distinct=True,
            ),
        )
        .order_by("-turn_at", "-id")[:CANDIDATES]
    )
    return [item for item in items if item.mine or item.given + item.leased < item.labels_required]


def review_items_next(
    *, workspace: Workspace, user: User, limit: int = 10, now: datetime | None = None
) -> list[QueueEntry]:
    """The next ``limit`` items for this labeller, most useful first (``services.priority``),
    leased to them for ``LEASE``."""
    now = now or timezone.now()
    limit = max(1, min(limit, MAX_BATCH))
    coverage = _cluster_coverage(workspace)
    pool = _candidates(workspace, user, now)
    chosen: list[QueueEntry] = []

    def labelled(item: ReviewItem) -> int:
        return coverage.get(item.cluster, 0) if item.cluster is not None else 0

    def rank(item: ReviewItem) -> tuple[float, datetime, int]:
        priority = item_priority(uncertainty=item.uncertainty, labelled_in_cluster=labelled(item))
        return (priority, item.turn_at, item.id)

    while pool and len(chosen) < limit:
        best = max(pool, key=rank)
        pool.remove(best)
        chosen.append(QueueEntry(best, round(rank(best)[0], 6), labelled(best)))
        if best.cluster is not None:
            # Counted as labelled for the rest of the batch: the batch spreads over clusters.
            coverage[best.cluster] = labelled(best) + 1
    with transaction.atomic():
        for entry in chosen:
            ReviewAssignment.objects.update_or_create(
                item=entry.item, user=user, defaults={"leased_until": now + LEASE}
            )
    return chosen


def review_item_skip(*, workspace: Workspace, item_id: int, user: User) -> None:
    """The labeller passes on the item: it goes to others, never back to them."""
    with transaction.atomic():
        item = ReviewItem.objects.filter(workspace=workspace, id=item_id).first()
        if item is None:
            raise NotFound("No such review item in this workspace.")
        now = timezone.now()
        ReviewAssignment.objects.update_or_create(
            item=item, user=user, defaults={"leased_until": now, "skipped_at": now}
        )


def _label_clean(
    *, workspace: Workspace, item: ReviewItem, intent: str, out_of_scope: bool, slots: Any
) -> tuple[str, list[dict[str, Any]]]:
    intent = (intent or "").strip()
    if out_of_scope == bool(intent):
        raise ApplicationError("Give an intent, or mark the text out of scope (not both).")
    if intent and not Intent.objects.filter(workspace=workspace, name=intent).exists():
        raise ApplicationError(f"{intent!r} is not an intent of this workspace.", code="intent")
    clean = slots_validate(item.text, list(slots or []))
    if out_of_scope and clean:
        raise ApplicationError("An out-of-scope text has no slots.")
    return intent, clean


def _locked_item(workspace: Workspace, item_id: int) -> ReviewItem:
    item = ReviewItem.objects.select_for_update().filter(workspace=workspace, id=item_id).first()
    if item is None:
        raise NotFound("No such review item in this workspace.")
    return item


def _finalize(item: ReviewItem, label: ReviewLabel, source: str, slots: list[Any]) -> None:
    item.status = ReviewItem.Status.DONE
    item.final_intent = label.intent
    item.final_out_of_scope = label.out_of_scope
    item.final_slots = slots
    item.final_source = source
    item.finalized_at = timezone.now()


@transaction.atomic
def review_label_submit(
    *,
    workspace: Workspace,
    item_id: int,
    user: User,
    intent: str = "",
    out_of_scope: bool = False,
    slots: list[dict[str, Any]] | None = None,
) -> ReviewItem:
    """The labeller's label for one item (see the module docstring for when it is final)."""
    item = _locked_item(workspace, item_id)
    if item.status != ReviewItem.Status.OPEN:
        raise Conflict("This item has all its labels.", code="not_open")
    given = list(item.labels.filter(kind=ReviewLabel.Kind.REVIEW).order_by("created_at", "id"))
    if any(label.labeller_id == user.pk for label in given):
        raise Conflict("You have labelled this item already.", code="already_labelled")
    if len(given) >= item.labels_required:
        raise Conflict("This item has all its labels.", code="not_open")
    intent, clean = _label_clean(
        workspace=workspace, item=item, intent=intent, out_of_scope=out_of_scope, slots=slots
    )
    label = ReviewLabel.objects.create(
        item=item, labeller=user, intent=intent, out_of_scope=out_of_scope, slots=clean
    )
    ReviewAssignment.objects.filter(item=item, user=user).update(leased_until=timezone.now())
    given.append(label)
    if len(given) >= item.labels_required:
        first, last = given[0], given[-1]
        if len(given) == 1:
            _finalize(item, label, ReviewItem.Source.SINGLE, clean)
        elif (first.intent, first.out_of_scope) == (last.intent, last.out_of_scope):
            _finalize(item, label, ReviewItem.Source.AGREED, clean)
        else:
            item.status = ReviewItem.Status.ADJUDICATION
        item.save()
    return item


@transaction.atomic
def review_adjudicate(
    *,
    workspace: Workspace,
    item_id: int,
    user: User,
    intent: str = "",
    out_of_scope: bool = False,
    slots: list[dict[str, Any]] | None = None,
) -> ReviewItem:
    """An admin's final label for an item whose two labellers disagreed (the view checks the
    role)."""
    item = _locked_item(workspace, item_id)
    if item.status != ReviewItem.Status.ADJUDICATION:
        raise Conflict("This item is not waiting for adjudication.", code="not_disputed")
    intent, clean = _label_clean(
        workspace=workspace, item=item, intent=intent, out_of_scope=out_of_scope, slots=slots
    )
    label = ReviewLabel.objects.create(
        item=item,
        labeller=user,
        kind=ReviewLabel.Kind.ADJUDICATION,
        intent=intent,
        out_of_scope=out_of_scope,
        slots=clean,
    )
    _finalize(item, label, ReviewItem.Source.ADJUDICATED, clean)
    item.save()
    return item


@transaction.atomic
def review_settings_update(*, workspace: Workspace, **fields: Any) -> ReviewSettings:
    """Changes the workspace's review settings (``double_label_share``, ``low_confidence``,
    ``lookback_days``); new items follow them."""
    row, _ = ReviewSettings.objects.select_for_update().get_or_create(workspace=workspace)
    for name, value in fields.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row
