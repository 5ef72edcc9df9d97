"""``GroundedReplier``: retrieve from the workspace's knowledge, then stream a generated answer
that cites its passages (vLLM, else in process, else the best passage). Select it with
``DIALOGUE_REPLIER=apps.dialogue.grounded.GroundedReplier``.

The prompt is built from what the database holds (redacted text), never from the raw event.
"""

from collections.abc import AsyncIterator

from django.conf import settings

from apps.accounts.models import Workspace
from apps.core.db import db_async
from apps.dialogue.replies import ReplyMeta, TurnInput
from apps.generation.services import (
    answer_filler_get,
    answer_stream,
    conversation_adapter_pick,
    conversation_turns,
    passages_from_retrieval,
)
from apps.knowledge.services.search import knowledge_retrieve
from apps.knowledge.services.variables import AnswerFiller, answer_stream_filled
from ml.generation.contracts import Passage, Turn
from ml.generation.prompts import SYSTEM_PROMPT
from ml.serving.fallback import GenerationTrace, passages_cited


def _turns_and_passages(
    turn: TurnInput, k: int
) -> tuple[Workspace, list[Turn], list[Passage], AnswerFiller]:
    workspace = Workspace.objects.get(id=turn.workspace_id)
    turns = conversation_turns(turn.conversation_id)
    question = next((t.text for t in reversed(turns) if t.speaker == "customer"), "")
    retrieved = knowledge_retrieve(workspace=workspace, query=question, k=k) if question else []
    filler = answer_filler_get(workspace_id=workspace.pk, conversation_id=turn.conversation_id)
    return workspace, turns, passages_from_retrieval(retrieved), filler


class GroundedReplier:
    def __init__(self) -> None:
        self.meta = ReplyMeta(route="answer", reason="grounded answer", system_prompt=SYSTEM_PROMPT)
        self.trace = GenerationTrace()

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        workspace, turns, passages, filler = await db_async(_turns_and_passages)(
            turn, settings.GENERATION_PASSAGES
        )
        adapter = await db_async(conversation_adapter_pick)(
            workspace=workspace, conversation_id=turn.conversation_id
        )
        # The customer reads the workspace's values, never a {{slot}} or another's placeholder.
        answer = answer_stream(
            workspace=workspace, turns=turns, passages=passages, trace=self.trace, adapter=adapter
        )
        async for delta in answer_stream_filled(answer, filler):
            yield delta
        self.meta = ReplyMeta(
            route="answer",
            reason=(
                f"grounded answer from {len(passages)} passage(s) by {self.trace.engine}"
                + (
                    f" after fallback ({'; '.join(self.trace.fallbacks)})"
                    if self.trace.fallbacks
                    else ""
                )
            ),
            # The passages the answer cites are its sources (all of them when it cites none),
            # each titled by its first words.
            sources=tuple(
                {"title": " ".join(filler.fill(p.text).split())[:80], "chunk_id": p.source_id}
                for p in passages_cited(passages, self.trace.cited) or passages
            ),
            system_prompt=SYSTEM_PROMPT,
            generator={**self.trace.to_json(), "adapter_version": adapter.to_trace()},
        )
