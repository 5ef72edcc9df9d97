"""Agreement between labellers: Cohen's kappa, overall and per label, and per labeller pair.

Cohen's kappa for two labellers who each gave one label to the same ``n`` items is

    kappa = (p_o - p_e) / (1 - p_e)

where ``p_o`` is the share of items both gave the same label (observed agreement) and
``p_e = sum_k f_k * s_k`` the agreement expected by chance, ``f_k`` and ``s_k`` being the shares
of items the first and the second labeller put in label ``k`` (Cohen 1960). Kappa is 1 for
perfect agreement, 0 for agreement no better than chance, negative below chance. It is undefined
when ``p_e == 1`` (both labellers used one and the same label for every item) and when there are
no items; those cases return a ``Kappa`` whose ``value`` is ``None`` and whose ``reason`` says why.

Per-label kappa is one-vs-rest: every label ``k`` turns both labellers' labels into "k" or
"not k", and the binary kappa of those is the agreement on that label.
"""

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

KAPPA_BAR = 0.8  # the seed documents' bar for a labeller's agreement
MIN_SHARED_ITEMS = 10  # fewer shared items than this and a pair's kappa is too noisy to judge


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa with its parts. ``value`` is None when kappa is undefined (``reason`` says
    why, and is "" otherwise)."""

    value: float | None
    observed: float  # p_o, the share of items with the same label (0.0 with no items)
    expected: float  # p_e, the agreement expected by chance (0.0 with no items)
    items: int
    reason: str = ""


def cohen_kappa(*, first: Sequence[str], second: Sequence[str], min_items: int = 1) -> Kappa:
    """Cohen's kappa of two labellers' labels for the same items, in the same order.

    ``min_items``: with fewer items kappa is returned undefined ("too few items").
    """
    if len(first) != len(second):
        raise ValueError(f"{len(first)} labels against {len(second)}: not the same items")
    n = len(first)
    if n == 0 or n < min_items:
        return Kappa(None, 0.0, 0.0, n, f"too few items ({n} < {max(1, min_items)})")
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    first_counts = Counter(first)
    second_counts = Counter(second)
    expected = sum(count * second_counts.get(label, 0) for label, count in first_counts.items()) / (
        n * n
    )
    if expected >= 1.0:
        only = next(iter(first_counts))
        return Kappa(None, observed, expected, n, f"both labellers used one label only ({only})")
    return Kappa((observed - expected) / (1.0 - expected), observed, expected, n)


def label_kappas(
    *, first: Sequence[str], second: Sequence[str], min_items: int = 1
) -> dict[str, Kappa]:
    """One-vs-rest kappa for every label either labeller used, keyed by label (sorted)."""
    labels = sorted(set(first) | set(second))
    return {
        label: cohen_kappa(
            first=[str(a == label) for a in first],
            second=[str(b == label) for b in second],
            min_items=min_items,
        )
        for label in labels
    }


@dataclass(frozen=True)
class LabelRow:
    """One labeller's label for one item (a review-queue item, say)."""

    item: Hashable
    labeller: str
    label: str


@dataclass(frozen=True)
class PairAgreement:
    """Two labellers (``first`` < ``second`` by name) on the items they both labelled."""

    first: str
    second: str
    kappa: Kappa
    per_label: dict[str, Kappa]


@dataclass(frozen=True)
class LabellerAgreement:
    """One labeller against whoever else labelled the same items.

    ``kappa`` pools every item they shared with another labeller (their label against the
    other's). ``best`` is their highest pair kappa (None when no pair's kappa is defined), and
    they are ``flagged`` when even that is below the bar: someone who agrees with at least one
    colleague at the bar is not the outlier."""

    labeller: str
    kappa: Kappa
    best: float | None
    flagged: bool


@dataclass(frozen=True)
class AgreementReport:
    pairs: tuple[PairAgreement, ...]
    labellers: tuple[LabellerAgreement, ...]
    per_label: dict[str, Kappa]  # one-vs-rest kappa over every pair's shared items, pooled
    bar: float

    @property
    def flagged(self) -> tuple[str, ...]:
        """The labellers whose kappa is below the bar, by name."""
        return tuple(entry.labeller for entry in self.labellers if entry.flagged)


def agreement_report(
    *,
    rows: Iterable[LabelRow],
    bar: float = KAPPA_BAR,
    min_shared_items: int = MIN_SHARED_ITEMS,
) -> AgreementReport:
    """Kappa per labeller pair (on the items both labelled), per labeller and per label.

    A labeller is flagged when their kappa with every partner is below the bar, so with three or
    more labellers the one who disagrees with everybody stands out; with only two labellers both
    are flagged when their kappa is low (the data cannot say who is wrong: that is the
    adjudicator's job). When an item has several rows from the same labeller, the last one
    counts. A pair or labeller with fewer than ``min_shared_items`` shared items gets an
    undefined kappa ("too few items") and is never flagged.
    """
    labels: dict[str, dict[Hashable, str]] = defaultdict(dict)
    for row in rows:
        labels[row.labeller][row.item] = row.label
    pairs: list[PairAgreement] = []
    pooled_first: list[str] = []
    pooled_second: list[str] = []
    own: dict[str, tuple[list[str], list[str]]] = {name: ([], []) for name in labels}
    for first, second in combinations(sorted(labels), 2):
        shared = [item for item in labels[first] if item in labels[second]]
        if not shared:
            continue
        a = [labels[first][item] for item in shared]
        b = [labels[second][item] for item in shared]
        pairs.append(
            PairAgreement(
                first=first,
                second=second,
                kappa=cohen_kappa(first=a, second=b, min_items=min_shared_items),
                per_label=label_kappas(first=a, second=b, min_items=min_shared_items),
            )
        )
        pooled_first += a
        pooled_second += b
        own[first][0].extend(a)
        own[first][1].extend(b)
        own[second][0].extend(b)
        own[second][1].extend(a)
    labellers = []
    for name in sorted(labels):
        pair_values = [
            pair.kappa.value
            for pair in pairs
            if name in (pair.first, pair.second) and pair.kappa.value is not None
        ]
        best = max(pair_values, default=None)
        labellers.append(
            LabellerAgreement(
                labeller=name,
                kappa=cohen_kappa(
                    first=own[name][0], second=own[name][1], min_items=min_shared_items
                ),
                best=best,
                flagged=best is not None and best < bar,
            )
        )
    return AgreementReport(
        pairs=tuple(pairs),
        labellers=tuple(labellers),
        per_label=label_kappas(
            first=pooled_first, second=pooled_second, min_items=min_shared_items
        ),
        bar=bar,
    )
