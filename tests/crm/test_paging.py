"""The one paging loop every adapter read goes through: cap, loop detection, re-chunking."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector.crm.base import FatalError
from connector.crm.paging import CursorGuard, PagingError, pages, rechunk

Fetch = Callable[[str | None], tuple[list[int], str | None]]


def chain(answers: dict[str | None, tuple[list[int], str | None]], asked: list[str | None]) -> Fetch:
    """A fetch answering from ``answers`` by cursor, noting each cursor asked for in ``asked``."""

    def fetch(cursor: str | None) -> tuple[list[int], str | None]:
        asked.append(cursor)
        return answers[cursor]

    return fetch


def test_pages_follow_each_cursor_until_none() -> None:
    asked: list[str | None] = []
    fetch = chain({None: ([1, 2], "b"), "b": ([3], "c"), "c": ([], None)}, asked)
    assert list(pages(fetch, what="list", cap=10)) == [[1, 2], [3], []]
    assert asked == [None, "b", "c"]


def test_pages_start_at_the_given_cursor_and_fetch_only_when_asked() -> None:
    asked: list[str | None] = []
    found = pages(chain({"x": ([7], "y"), "y": ([8], None)}, asked), what="list", cap=10, start="x")
    assert asked == []
    assert next(found) == [7] and asked == ["x"]
    assert list(found) == [[8]] and asked == ["x", "y"]


def test_a_repeated_cursor_stops_the_read_after_the_page_it_came_with() -> None:
    asked: list[str | None] = []
    found = pages(
        chain({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}, asked), what="HubSpot list", cap=10
    )
    got = [next(found), next(found), next(found)]
    with pytest.raises(PagingError, match="HubSpot list: paging loops at cursor 'a'"):
        next(found)
    assert got == [[1], [2], [3]] and asked == [None, "a", "b"]


def test_an_empty_cursor_that_promises_more_is_a_loop() -> None:
    with pytest.raises(PagingError, match="loops at cursor ''"):
        list(pages(chain({None: ([1], "")}, []), what="query", cap=10))


def test_more_pages_than_the_cap_fail_loudly_as_a_fatal_error() -> None:
    asked: list[int | None] = []

    def endless(cursor: int | None) -> tuple[int, int]:
        asked.append(cursor)
        following = (cursor or 0) + 1
        return following, following

    with pytest.raises(FatalError, match="query: more than 3 pages"):
        list(pages(endless, what="query", cap=3))
    assert asked == [None, 1, 2]


def test_a_guard_refuses_a_cursor_it_has_followed() -> None:
    guard = CursorGuard("associations")
    guard.advance(("1", "x"))
    guard.advance(("2", "x"))
    with pytest.raises(PagingError, match="associations: paging loops"):
        guard.advance(("1", "x"))


def test_rechunk_cuts_uneven_pages_into_full_ones_and_a_short_last() -> None:
    assert list(rechunk([[1, 2, 3], [], [4], [5, 6, 7, 8]], 3)) == [[1, 2, 3], [4, 5, 6], [7, 8]]
    assert list(rechunk([[1, 2], [3, 4]], 2)) == [[1, 2], [3, 4]]
    assert list(rechunk([[], []], 5)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(rechunk([[1]], 0))
