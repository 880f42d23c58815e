"""The transition state machine: one declarative table, nothing it does not list."""

from __future__ import annotations

ORDER = (
    "planning",
    "onboarding",
    "customer_informed",
    "joint_meeting",
    "handed_off",
    "new_owner_responsible",
    "retrospective",
)
OPEN = frozenset(ORDER)
TERMINAL = frozenset({"closed", "cancelled"})


def _before(state: str) -> frozenset[str]:
    return frozenset(ORDER[: ORDER.index(state)])


# (trigger, allowed source states, destination)
TABLE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("complete:planning", _before("onboarding"), "onboarding"),
    ("complete:assign", _before("onboarding"), "onboarding"),
    ("complete:knowledge_transfer", _before("onboarding"), "onboarding"),
    ("complete:customer_comm", _before("customer_informed"), "customer_informed"),
    ("complete:joint_meeting", _before("joint_meeting"), "joint_meeting"),
    ("complete:handoff", _before("handed_off"), "handed_off"),
    ("complete:fully_responsible", _before("new_owner_responsible"), "new_owner_responsible"),
    ("complete:retrospective", _before("retrospective"), "retrospective"),
    ("close", OPEN, "closed"),
    ("cancel", OPEN, "cancelled"),
)


class InvalidTransition(ValueError):
    """The table has no row for this trigger from this state."""


def fire(state: str, trigger: str) -> str:
    """The state after `trigger`; InvalidTransition when the table does not allow it."""
    for name, sources, dest in TABLE:
        if name == trigger and state in sources:
            return dest
    raise InvalidTransition(f"{trigger} is not allowed in state {state}")


def can_fire(state: str, trigger: str) -> bool:
    """Whether the table allows `trigger` in `state`."""
    return any(name == trigger and state in sources for name, sources, _ in TABLE)


def after_completion(state: str, milestone: str, *, plan_done: bool) -> str:
    """The state once a milestone is complete: later milestones move it, the last one closes it.

    Completing a milestone that lies behind the current state (done late) changes nothing.
    """
    if state in TERMINAL:
        return state
    trigger = f"complete:{milestone}"
    if can_fire(state, trigger):
        state = fire(state, trigger)
    if plan_done:
        state = fire(state, "close")
    return state
