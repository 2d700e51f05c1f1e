"""What comes next after a completed module.

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lti_tool.content.loader import Module
from lti_tool.training.models import ModuleProgress


@dataclass(frozen=True)
class NextModule:
    module: Module
    is_recommended: bool  # suggested by the learner's autodiagnostic


def next_module(
    modules: Sequence[Module],
    offered: set[str],
    recommended: Sequence[str],
    progress: Mapping[str, ModuleProgress],
    current: str,
) -> NextModule | None:
    """The module to offer after ``current``: the first the autodiagnostic suggested, then the first after
    it in the programme's order, that the course offers and the learner has not completed."""

    def open_(module_id: str) -> bool:
        done = progress.get(module_id)
        return module_id != current and module_id in offered and not (done and done.completed_at)

    by_id = {m.id: m for m in modules}
    for module_id in recommended:
        if module_id in by_id and open_(module_id):
            return NextModule(by_id[module_id], True)
    ids = [m.id for m in modules]
    after = ids[ids.index(current) + 1 :] + ids[: ids.index(current)] if current in ids else ids
    for module_id in after:
        if open_(module_id):
            return NextModule(by_id[module_id], False)
    return None
