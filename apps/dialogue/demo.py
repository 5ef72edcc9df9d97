"""The demo bots: a bank and a shop, each with intents and training examples, a knowledge base,
flows, routing settings and a trained NLU model (``python manage.py demo_bots``).

The bank learns BANKING77's 77 intents (shipped, CC BY 4.0) and answers from the articles in
``demo_data/bank.json`` (written for this project); the shop learns Bitext's 27 intents, plus
everyday phrasings written for this project (``demo_data/retail.json``), and answers from
Bitext's responses (shipped with the generator's corpus, CDLA-Sharing-1.0).
"""

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction

from apps.accounts.models import Membership, Role, User, Workspace
from apps.accounts.services import workspace_create
from apps.dialogue.models import DialogueSettings, Flow
from apps.knowledge.models import Article
from apps.knowledge.services.articles import article_create
from apps.nlu.models import TrainingExample, TrainingRun
from apps.nlu.services import training_examples_import, training_run_execute
from apps.safety.models import SafetyPolicy
from ml.dialogue.flows import FlowSpec
from ml.safety.contracts import ENTITIES

DATA = Path(__file__).resolve().parent / "demo_data"
BITEXT_CSV = (
    Path(__file__).resolve().parents[2]
    / "ml/generation/data/bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv"
)


def _bitext_rows() -> list[dict[str, str]]:
    with BITEXT_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _training_rows(source: str) -> list[tuple[str, str]]:
    if source == "banking77":
        from ml.nlu.data.banking77 import SHIPPED, read

        return [(e.text, e.intent or "") for e in read(SHIPPED / "train.csv")]
    if source == "bitext":
        return [(row["instruction"], row["intent"]) for row in _bitext_rows()]
    raise ValueError(f"unknown intent source {source!r}")


def _articles(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(title, body, the intents it answers) for each article."""
    if "articles" in spec:
        return [(a["title"], a["body"], a.get("intents", [])) for a in spec["articles"]]
    # The shop: a few of Bitext's responses for every intent, titled by the question they
    # answer, and marked as answering that intent.
    per_intent = int(spec.get("articles_per_intent", 3))
    taken: dict[str, int] = {}
    articles = []
    for row in _bitext_rows():
        if taken.get(row["intent"], 0) < per_intent:
            taken[row["intent"]] = taken.get(row["intent"], 0) + 1
            articles.append((row["instruction"][:200], row["response"], [row["intent"]]))
    return articles


def _workspace(spec: dict[str, Any], admin: User, origins: list[str]) -> Workspace:
    workspace = Workspace.objects.filter(slug=spec["slug"]).first()
    if workspace is None:
        workspace = workspace_create(
            creator=admin, name=spec["name"], slug=spec["slug"], allowed_origins=origins
        )
    Membership.objects.get_or_create(user=admin, workspace=workspace, defaults={"role": Role.ADMIN})
    agent = User.objects.filter(username="agent").first()
    if agent is not None:
        Membership.objects.get_or_create(
            user=agent, workspace=workspace, defaults={"role": Role.AGENT}
        )
    return workspace


@transaction.atomic
def _configure(workspace: Workspace, spec: dict[str, Any]) -> None:
    DialogueSettings.objects.update_or_create(workspace=workspace, defaults=spec["settings"])
    kept = set(spec.get("safety", {}).get("keep_entities", ()))
    if kept:
        # Identifiers a flow needs and that don't identify a person stay in the text.
        policy, _ = SafetyPolicy.objects.get_or_create(workspace=workspace)
        policy.redact_entities = [e for e in ENTITIES if e not in kept]
        policy.save(update_fields=["redact_entities"])
    for flow in spec["flows"]:
        FlowSpec.from_json({"name": flow["name"], "intent": flow["intent"], **flow["spec"]})
        Flow.objects.update_or_create(
            workspace=workspace,
            name=flow["name"],
            defaults={"intent": flow["intent"], "spec": flow["spec"], "enabled": True},
        )


def demo_bot_build(
    *,
    name: str,
    admin: User,
    origins: list[str],
    epochs: int,
    say: Callable[[str], None],
) -> Workspace:
    """Builds (or completes) one demo bot; each step is skipped when it was done before."""
    spec = json.loads((DATA / f"{name}.json").read_text())
    workspace = _workspace(spec, admin, origins)
    _configure(workspace, spec)
    if not TrainingExample.objects.filter(workspace=workspace).exists():
        rows = _training_rows(spec["intents_from"])
        # Everyday phrasings the operator added on top of the dataset's rows.
        written = spec.get("examples", {}).get("by_intent", {})
        rows += [(text, intent) for intent, texts in written.items() for text in texts]
        say(f"{workspace.slug}: importing {len(rows)} training examples (redacted on the way in)")
        training_examples_import(workspace=workspace, rows=rows)
    if not Article.objects.filter(workspace=workspace).exists():
        articles = _articles(spec)
        say(f"{workspace.slug}: publishing and indexing {len(articles)} articles")
        for title, body, intents in articles:
            article_create(
                workspace=workspace,
                author=admin,
                title=title,
                body=body,
                intents=intents,
                publish=True,
            )
    if not TrainingRun.objects.filter(workspace=workspace, is_active=True).exists():
        say(f"{workspace.slug}: training the NLU model ({epochs} epochs)")
        run = TrainingRun.objects.create(workspace=workspace, requested_by=admin)
        run = training_run_execute(run_id=run.pk, overrides={"epochs": epochs}, progress=True)
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise RuntimeError(f"training the {workspace.slug} model failed: {run.error}")
        accuracy = run.metrics["validation"].get("intent_accuracy", 0.0)
        say(
            f"{workspace.slug}: model trained in {run.metrics['seconds']} s, "
            f"validation accuracy {accuracy:.3f}"
        )
    return workspace
