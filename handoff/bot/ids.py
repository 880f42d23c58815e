"""Every callback and action id, namespaced, in one place."""

from enum import StrEnum


class Ids(StrEnum):
    """Callback ids of views and action ids of interactive elements."""

    START_VIEW = "handoff_start"  # public: CONTRACT.md
    START_SHORTCUT = "start.shortcut"
    START_OPEN = "start.open"
    PLAN_OPEN = "plan.open"
    TASK_DONE = "task.done"
    TASK_DONE_VIEW = "task.done_view"
    TASK_SNOOZE = "task.snooze"
    COACH_VIEW = "coach.view"
    COACH_TRANSITION = "coach.transition"
    COACH_EMOTION = "coach.emotion"


def check_unique() -> None:
    """Fail at start-up if two ids collide."""
    values = [i.value for i in Ids]
    if len(values) != len(set(values)):
        raise RuntimeError("duplicate Slack ids")
