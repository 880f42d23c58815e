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
    DOC_OPEN = "doc.open"
    DOC_OVERVIEW_VIEW = "doc.overview_view"
    DOC_SECTION = "doc.section"
    DOC_SECTION_VIEW = "doc.section_view"
    DOC_REVIEW = "doc.review"
    DOC_STAKEHOLDER_ADD = "doc.stakeholder.add"
    DOC_STAKEHOLDER_MENU = "doc.stakeholder.menu"
    DOC_STAKEHOLDER_VIEW = "doc.stakeholder_view"
    DOC_STAKEHOLDER_REMOVE_VIEW = "doc.stakeholder_remove_view"
    HOME_PAGE = "home.page"
    HOME_PAGE_NEXT = "home.page_next"
    HOME_SECTION = "home.section"
    HOME_LANG = "home.lang"
    DIGEST_FULL = "digest.full"
    SURVEY_OPEN = "survey.open"
    SURVEY_VIEW = "survey.view"
    BULK_VIEW = "handoff_bulk"
    BULK_PREVIEW = "bulk.preview"
    BULK_VALID_ROWS = "bulk.valid_rows"
    COACH_VIEW = "coach.view"
    COACH_TRANSITION = "coach.transition"
    COACH_EMOTION = "coach.emotion"


def check_unique() -> None:
    """Fail at start-up if two ids collide."""
    values = [i.value for i in Ids]
    if len(values) != len(set(values)):
        raise RuntimeError("duplicate Slack ids")
