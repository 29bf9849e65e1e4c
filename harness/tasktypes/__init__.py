"""Task types: how examples of one kind become tensors, which head sits on the encoder, the loss, and how
outputs become per-example predictions.

Example layouts by kind (what a task's loader returns; ``id`` is unique within a split):

- classification: ``{"id", "text_a", "text_b" (optional), "label": str | None}``
- multiple_choice: ``{"id", "context", "question", "choices": [str, ...], "label": int | None}``
- tagging: ``{"id", "tokens": [str, ...], "tags": [str, ...] | None}``
- span_qa: ``{"id", "context", "question", "answers": {"text": [...], "answer_start": [...]}}``
- mlm (intermediate stage only): ``{"id", "language", "text"}``
- retrieval / generation: task-specific, see their task types.

A task type is a class with the :class:`TaskType` interface, registered through ``register_task_types``.
Predictions are JSON-serialisable (a label string, a choice index, a tag list, an answer string).
"""

from __future__ import annotations

from harness.core.hookspecs import hookimpl
from harness.core.tasktype import TaskType, pad, pad_inputs

__all__ = ["TaskType", "pad", "pad_inputs", "register_task_types"]


@hookimpl
def register_task_types(register) -> None:
    from harness.tasktypes.classification import ClassificationType
    from harness.tasktypes.generation import GenerationType
    from harness.tasktypes.mlm import MaskedLMType
    from harness.tasktypes.multiple_choice import MultipleChoiceType
    from harness.tasktypes.retrieval import RetrievalType
    from harness.tasktypes.span_qa import SpanQAType
    from harness.tasktypes.tagging import TaggingType

    register(ClassificationType())
    register(GenerationType())
    register(MultipleChoiceType())
    register(MaskedLMType())
    register(TaggingType())
    register(SpanQAType())
    register(RetrievalType())
