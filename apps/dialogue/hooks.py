"""What dialogue's services queue: DialogueConfig.ready connects each hook to its task (tasks
import services, so services reach them only through here)."""

from apps.core.hooks import Hook


@Hook
def trace_explain_queue(trace_id: int) -> None:
    """Queues the explanation of a turn's intent (``tasks.trace_explain_task``)."""
    raise NotImplementedError
