"""The demo bots: a bank and a shop, each with intents and training examples, a knowledge base,
flows, routing settings and a trained NLU model (``python manage.py demo_bots``).

The bank learns BANKING77's 77 intents (shipped, CC BY 4.0) and answers from the articles in
``demo_data/bank.json`` (written for this project); the shop learns Bitext's 27 intents, plus
everyday phrasings written for this project (``demo_data/retail.json``), and answers from
Bitext's responses (shipped with the generator's corpus, CDLA-Sharing-1.0).
"""

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction

from apps.accounts.models import Membership, Role, User, Workspace
from apps.accounts.services import workspace_create, workspace_update
from apps.dialogue.models import DialogueSettings, Flow
from apps.knowledge.models import Article
from apps.knowledge.services.articles import article_create
from apps.knowledge.services.variables import answer_variables_ensure, variable_key
from apps.nlu.models import Intent, TrainingExample, TrainingRun
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


# A response written for one customer's order: an anonymized slot ("{{Order Number
# Anonymized}}"), an example number ("order 732201349959", "bill #00108") or an amount ("a
# reimbursement of $350", "350 dollars") that no other customer should be told.
_ONE_CUSTOMER = re.compile(
    r"\{\{[^{}]*Anonymized\}\}|\{\{\d+\}\}|#\d|\d{5,}"
    r"|[$€£¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:dollars?|euros?|pounds?|usd|eur|gbp)\b",
    re.IGNORECASE,
)


def _slots_tidied(text: str, variables: dict[str, str]) -> str:
    """Bitext writes a few slots in brackets: "[{{Website Name}}]", "[Customer Support Phone
    Number]"; both become the plain ``{{...}}`` slot that answer variables fill."""
    text = re.sub(r"\[(\{\{[^{}\[\]]+\}\})\]", r"\1", text)
    return re.sub(
        r"\[([^\[\]{}\n]{1,100})\](?!\()",
        lambda m: f"{{{{{m.group(1)}}}}}" if variable_key(m.group(1)) in variables else m.group(0),
        text,
    )


def _articles(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(title, body, the intents it answers) for each article."""
    if "articles" in spec:
        return [(a["title"], a["body"], a.get("intents", [])) for a in spec["articles"]]
    # The shop: a few of Bitext's responses for every intent, titled by the question they
    # answer, and marked as answering that intent; none written for one customer's order (an
    # intent without enough of them takes the answers written for this project).
    per_intent = int(spec.get("articles_per_intent", 3))
    variables = {variable_key(k): v for k, v in spec.get("variables", {}).get("values", {}).items()}
    taken: dict[str, int] = {}
    articles = []
    for row in _bitext_rows():
        title, body = row["instruction"], row["response"]
        if "{{" in title or _ONE_CUSTOMER.search(title + body):
            continue
        if taken.get(row["intent"], 0) < per_intent:
            taken[row["intent"]] = taken.get(row["intent"], 0) + 1
            articles.append((title[:200], _slots_tidied(body, variables), [row["intent"]]))
    for written in spec.get("written_articles", {}).get("articles", []):
        [intent] = written["intents"]
        if taken.get(intent, 0) < per_intent:
            taken[intent] = taken.get(intent, 0) + 1
            articles.append((written["title"], written["body"], [intent]))
    return articles


def demo_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return spec


DEMO_BOTS = ("retail", "bank")


def demo_origins(*, host: str, port: int) -> list[str]:
    """The origins of the demo pages when the demo serves on ``host:port``."""
    hosts = dict.fromkeys(
        h
        for h in ("127.0.0.1", "localhost", host)
        if h and h not in ("0.0.0.0", "::")  # noqa: S104
    )
    return [f"http://{h}:{port}" for h in hosts]


def demo_origins_allow(origins: list[str]) -> list[Workspace]:
    """Adds the origins to the demo bots' workspaces that exist (a re-run on another port)."""
    slugs = [demo_spec(name)["slug"] for name in DEMO_BOTS]
    workspaces = list(Workspace.objects.filter(slug__in=slugs))
    for workspace in workspaces:
        missing = [o for o in origins if o not in workspace.allowed_origins]
        if missing:
            workspace_update(
                workspace=workspace,
                data={"allowed_origins": [*workspace.allowed_origins, *missing]},
            )
    return workspaces


def demo_variables_ensure(workspace: Workspace, spec: dict[str, Any]) -> int:
    """The demo's answer variables (an operator's own value is kept on a re-run)."""
    return answer_variables_ensure(
        workspace=workspace, values=spec.get("variables", {}).get("values", {})
    )


def _workspace(spec: dict[str, Any], admin: User, origins: list[str]) -> Workspace:
    workspace = Workspace.objects.filter(slug=spec["slug"]).first()
    if workspace is None:
        workspace = workspace_create(
            creator=admin, name=spec["name"], slug=spec["slug"], allowed_origins=origins
        )
    else:
        # The demo served on another port: its pages there may open the widget too.
        demo_origins_allow(origins)
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


def _article_links_sync(workspace: Workspace, spec: dict[str, Any], known: set[str]) -> int:
    """An earlier build's articles take the intents the demo data links them to now."""
    changed = 0
    for title, _, intents in _articles(spec):
        linked = [i for i in intents if i in known]
        changed += (
            Article.objects.filter(workspace=workspace, title=title)
            .exclude(intents=linked)
            .update(intents=linked)
        )
    return changed


def demo_bot_build(
    *,
    name: str,
    admin: User,
    origins: list[str],
    epochs: int,
    say: Callable[[str], None],
) -> Workspace:
    """Builds (or completes) one demo bot; each step is skipped when it was done before."""
    spec = demo_spec(name)
    workspace = _workspace(spec, admin, origins)
    _configure(workspace, spec)
    if added := demo_variables_ensure(workspace, spec):
        say(f"{workspace.slug}: {added} answer variables filled")
    if not TrainingExample.objects.filter(workspace=workspace).exists():
        rows = _training_rows(spec["intents_from"])
        # Everyday phrasings the operator added on top of the dataset's rows.
        written = spec.get("examples", {}).get("by_intent", {})
        rows += [(text, intent) for intent, texts in written.items() for text in texts]
        say(f"{workspace.slug}: importing {len(rows)} training examples (redacted on the way in)")
        training_examples_import(workspace=workspace, rows=rows)
    # Articles link only the intents the workspace has.
    known = set(Intent.objects.filter(workspace=workspace).values_list("name", flat=True))
    if not Article.objects.filter(workspace=workspace).exists():
        articles = _articles(spec)
        say(f"{workspace.slug}: publishing and indexing {len(articles)} articles")
        for title, body, intents in articles:
            article_create(
                workspace=workspace,
                author=admin,
                title=title,
                body=body,
                intents=[i for i in intents if i in known],
                publish=True,
            )
    elif links := _article_links_sync(workspace, spec, known):
        say(f"{workspace.slug}: {links} articles linked to the intents they answer")
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
