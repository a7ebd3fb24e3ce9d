"""What a close does to an open task's text and due date, shared by both adapters."""

from __future__ import annotations

import datetime as dt

from connector.crm.base import TaskClose
from connector.crm.task_close import earlier_due, gone, with_comment


def test_a_comment_is_appended_after_a_blank_line_once() -> None:
    once = with_comment("Call the client.", "  Closed: paid on time.  ", 100)
    assert once == "Call the client.\n\nClosed: paid on time."
    assert with_comment(once, "Closed: paid on time.", 100) == once


def test_an_empty_text_gets_the_comment_alone_and_an_empty_comment_changes_nothing() -> None:
    assert with_comment(None, "Closed.", 100) == "Closed."
    assert with_comment("Body", "   ", 100) == "Body"


def test_the_original_text_is_cut_so_that_the_comment_fits_the_limit() -> None:
    text = with_comment("x" * 50, "done", 20)
    assert text == "x" * 14 + "\n\ndone" and len(text) == 20
    assert with_comment("body", "a long comment", 5) == "a lon"


def test_a_joining_action_moves_the_due_date_earlier_never_later() -> None:
    assert earlier_due(dt.date(2026, 3, 1), "2026-03-05")
    assert not earlier_due(dt.date(2026, 3, 9), "2026-03-05")
    assert not earlier_due(dt.date(2026, 3, 5), "2026-03-05")
    assert earlier_due(dt.date(2026, 3, 9), "")


def test_a_close_of_a_deleted_task_fails_with_the_crms_code_and_names_the_task() -> None:
    outcome = gone(TaskClose(key="k1", crm_id="00T1", comment="done"), "ENTITY_IS_DELETED", "Salesforce")
    assert (outcome.ref, outcome.ok, outcome.crm_id, outcome.error_code) == (
        "k1",
        False,
        "00T1",
        "ENTITY_IS_DELETED",
    )
    assert outcome.message == "task 00T1 no longer exists (deleted in Salesforce)" and not outcome.retriable
