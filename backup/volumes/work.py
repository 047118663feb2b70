"""Which function the task worker runs for each kind of operation on a
volume, and which undoes one a dead worker left half-done."""

from backup.operations import registry
from backup.operations.models import Operation

from . import deletion, destruction, steps

UNDO: dict[str, registry.Work] = {Operation.Kind.CREATE: steps.undo_create}

WORK: dict[str, registry.Work] = {
    Operation.Kind.CREATE: steps.create,
    Operation.Kind.ADD_SPACE: steps.add_space,
    Operation.Kind.DELETE: deletion.delete,
    Operation.Kind.DELETE_TIME_MACHINE: steps.delete_time_machine,
    Operation.Kind.MOUNT: steps.mount,
    Operation.Kind.DEFRAGMENT: steps.defragment,
    Operation.Kind.SCRUB: steps.scrub,
    Operation.Kind.UNDO_DELETE: deletion.undo_delete,
    Operation.Kind.DESTROY: destruction.destroy,
}


def register_work() -> None:
    """Called when Django starts (VolumesConfig.ready)."""
    for kind, work in WORK.items():
        registry.register(kind, work, undo=UNDO.get(kind))
