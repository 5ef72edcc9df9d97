"""Answer variables, and the text a customer finally reads.

A workspace names values that its answers refer to as ``{{Customer Support Phone Number}}``,
``{{Live Chat}}``, ``{{Website URL}}`` (help-centre exports carry such slots). Wherever answer
text is produced (a generated or extractive answer, a flow's or a handler's text), it goes through
an ``AnswerFiller`` before it reaches the customer:

- ``{{Name}}`` becomes the workspace's value for that name; names match ignoring case, spaces
  and underscores (``{{live_chat}}`` is ``{{Live Chat}}``).
- A variable without a value is shown as its name in plain words (``{{Order Details}}`` ->
  "Order Details"): most such slots are the labels of pages and buttons, which read right as
  names, and the knowledge page lists every one of them for the operator to fill.
- A redaction placeholder (``<PERSON_1>``) stays only when it is one of the conversation's own
  (the customer's own data, redacted from their message); any other is removed with the space
  before it, and so is a slot whose name was redacted (``{<PERSON_1>}}``).
- Braces left over (a ``{{`` that never closes) are removed: a customer never sees ``{{``.
- The generator's citations (``[P1]``, ``[P12]``) are removed with the spaces before them (at
  the start of a line, with the spaces after them): they are for the system, which shows the
  cited passages as the answer's sources. Other brackets (``[see below]``) stay.

    filler = AnswerFiller(values={"livechat": "https://..."}, own_placeholders={"CARD_1"})
    filler.fill(text)                          # a whole text
    async for piece in answer_stream_filled(chunks, filler): ...   # a streamed answer
"""

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError
from apps.knowledge.models import AnswerVariable
from apps.knowledge.services.audit import audit_record
from ml.generation.prompts import CITATION

MAX_NAME = 100
_NAME = r"[^{}<>\n]{1," + str(MAX_NAME) + "}?"
# A typed placeholder of the redaction (ml.safety.redact): <PERSON_1>, <CARD_2>, <ID_NUMBER_1>.
_PLACEHOLDER = r"<[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_\d+>"
SLOT = re.compile(r"\{\{\s*(" + _NAME + r")\s*\}\}")
_TOKEN = re.compile(
    # The generator's citations, one or several in a row, and the spaces around them.
    r"(?P<cite>[ \t]*" + CITATION.pattern + r"(?:[ \t]*" + CITATION.pattern + r")*)"
    r"(?P<cite_trail>[ \t]*)"
    r"|(?P<rlead>[ \t]?)\{+\s*" + _PLACEHOLDER + r"\s*\}+"  # a slot whose name was redacted
    r"|\{\{\s*(?P<name>" + _NAME + r")\s*\}\}"
    r"|(?P<plead>[ \t]?)(?P<placeholder>" + _PLACEHOLDER + r")"
    r"|\{\{|\}\}"
)
_PARTIAL_PLACEHOLDER = re.compile(r"<[A-Z0-9_]*")
# A citation not yet complete, or complete but maybe followed by more spaces to remove with it.
_PARTIAL_CITATION = re.compile(r"\[(?:P(?:\d+(?:\][ \t]*)?)?)?")


def variable_key(name: str) -> str:
    """What names are matched by: no case, spaces or underscores."""
    return re.sub(r"[\s_]+", "", name).casefold()


def variable_names(text: str) -> list[str]:
    """The variable names a text uses, as written, in order."""
    return [match.group(1).strip() for match in SLOT.finditer(text)]


def _unfilled(name: str) -> str:
    return " ".join(name.replace("_", " ").split())


@dataclass(frozen=True)
class AnswerFiller:
    """``values``: variable key -> value (only the filled ones); ``own_placeholders``: the
    conversation's placeholder names ("CARD_1")."""

    values: Mapping[str, str] = field(default_factory=dict)
    own_placeholders: frozenset[str] = frozenset()

    def _replace(self, match: re.Match[str], line_start: bool) -> str:
        if match.group("cite") is not None:
            start = match.start()
            begins_line = match.string[start - 1] == "\n" if start else line_start
            return "" if begins_line else match.group("cite_trail")
        if match.group("name") is not None:
            name = match.group("name").strip()
            return self.values.get(variable_key(name)) or _unfilled(name)
        placeholder = match.group("placeholder")
        if placeholder is not None and placeholder[1:-1] in self.own_placeholders:
            return match.group("plead") + placeholder
        return ""

    def fill(self, text: str, *, line_start: bool = True) -> str:
        """``line_start``: whether ``text`` begins a line (a streamed piece may not)."""
        return _TOKEN.sub(lambda match: self._replace(match, line_start), text)


class AnswerStream:
    """Fills a streamed answer: text that may still become a variable, a placeholder or a
    citation (after an unclosed ``{``, a ``<PERS`` or a ``[P1``), and the spaces before it, wait
    for the next chunk."""

    # A slot longer than a name can be is not one: its text goes out (its braces removed).
    HOLD_LIMIT = MAX_NAME + 30

    def __init__(self, filler: AnswerFiller):
        self.filler = filler
        self.pending = ""
        self.line_start = True

    def _safe_end(self) -> int:
        text = self.pending
        end = len(text)
        brace = text.rfind("{")
        if brace != -1 and "}}" not in text[brace:]:
            while brace > 0 and text[brace - 1] == "{":
                brace -= 1
            if len(text) - brace <= self.HOLD_LIMIT:
                end = brace
        angle = text.rfind("<", 0, end)
        if angle != -1 and _PARTIAL_PLACEHOLDER.fullmatch(text, angle, end):
            end = angle
        bracket = text.rfind("[", 0, end)
        if bracket != -1 and _PARTIAL_CITATION.fullmatch(text, bracket, end):
            end = bracket
        # The space before a placeholder goes with it when it is removed.
        while end > 0 and text[end - 1] in " \t":
            end -= 1
        return end

    def feed(self, chunk: str) -> str:
        self.pending += chunk
        end = self._safe_end()
        released, self.pending = self.pending[:end], self.pending[end:]
        return self._filled(released) if released else ""

    def finish(self) -> str:
        released, self.pending = self.pending, ""
        return self._filled(released)

    def _filled(self, released: str) -> str:
        filled = self.filler.fill(released, line_start=self.line_start)
        if filled:
            self.line_start = filled.endswith("\n")
        return filled


async def answer_stream_filled(
    chunks: AsyncIterator[str], filler: AnswerFiller
) -> AsyncIterator[str]:
    stream = AnswerStream(filler)
    async for chunk in chunks:
        if released := stream.feed(chunk):
            yield released
    if released := stream.finish():
        yield released


def sources_filled(
    sources: Iterable[dict[str, Any]], filler: AnswerFiller
) -> tuple[dict[str, Any], ...]:
    """The sources listed under an answer, their titles filled like the answer."""
    return tuple(
        {**source, "title": filler.fill(str(source["title"]))} if source.get("title") else source
        for source in sources
    )


# --- the operator's variables ---


def _name_checked(name: str) -> str:
    if "\n" not in name:
        name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or re.search(r"[{}<>\n]", name):
        raise ApplicationError(
            f"A variable's name is 1 to {MAX_NAME} characters on one line, without braces or "
            "angle brackets: write Live Chat for {{Live Chat}}.",
            code="invalid_name",
        )
    if not variable_key(name):
        raise ApplicationError("A variable's name needs a letter or a digit.", code="invalid_name")
    return name


def _saved(variable: AnswerVariable) -> AnswerVariable:
    try:
        with transaction.atomic():
            variable.save()
    except IntegrityError:
        raise ApplicationError(
            f"A variable named {variable.name!r} (or spelt like it) already exists.",
            code="variable_exists",
        ) from None
    return variable


@transaction.atomic
def answer_variable_create(
    *, workspace: Workspace, actor: User | None, name: str, value: str = ""
) -> AnswerVariable:
    name = _name_checked(name)
    variable = _saved(
        AnswerVariable(
            workspace=workspace,
            name=name,
            key=variable_key(name),
            value=value.strip(),
            updated_by=actor,
        )
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="variable.create",
        object_type="variable",
        object_id=variable.pk,
        summary=name,
    )
    return variable


@transaction.atomic
def answer_variable_update(
    *, variable: AnswerVariable, actor: User | None, data: Mapping[str, str]
) -> AnswerVariable:
    if "name" in data:
        variable.name = _name_checked(data["name"])
        variable.key = variable_key(variable.name)
    if "value" in data:
        variable.value = data["value"].strip()
    variable.updated_by = actor
    _saved(variable)
    audit_record(
        workspace=variable.workspace,
        actor=actor,
        action="variable.update",
        object_type="variable",
        object_id=variable.pk,
        summary=variable.name,
    )
    return variable


@transaction.atomic
def answer_variable_delete(*, variable: AnswerVariable, actor: User | None) -> None:
    audit_record(
        workspace=variable.workspace,
        actor=actor,
        action="variable.delete",
        object_type="variable",
        object_id=variable.pk,
        summary=variable.name,
    )
    variable.delete()


@transaction.atomic
def answer_variables_ensure(
    *, workspace: Workspace, values: Mapping[str, str], actor: User | None = None
) -> int:
    """Adds the named values the workspace doesn't have yet (an operator's own value is kept).
    Returns how many were added."""
    known = set(AnswerVariable.objects.filter(workspace=workspace).values_list("key", flat=True))
    added = 0
    for name, value in values.items():
        if variable_key(name) not in known:
            answer_variable_create(workspace=workspace, actor=actor, name=name, value=value)
            known.add(variable_key(name))
            added += 1
    return added
