"""Queue the archive's Celery tasks by name, so services never import archive.tasks (an entry point above them).

archive.tasks registers each task here as it is defined (`task_register`); ArchiveConfig.ready imports archive.tasks
so the registry is full in every process. `task_send` calls the task's own `.delay`, exactly as a direct call
would (same options, same routing). Task names ("archive.tasks.<name>") never change: the beat schedule and
leases store them."""

_tasks: dict[str, object] = {}


def task_register(task):
    """Decorator for a Celery task: makes it reachable by its name through `task_send`."""
    _tasks[task.name] = task
    return task


def task_send(name: str, *args):
    """Queue the task called `name` with `args` (a KeyError names a task that was never registered)."""
    return _tasks[name].delay(*args)

