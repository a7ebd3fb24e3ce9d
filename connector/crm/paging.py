"""One paging loop for every CRM cursor: a hard page cap, loop detection, and re-chunking into pages.

Each API pages its own way (Salesforce ``nextRecordsUrl`` and Bulk result locators, HubSpot ``after``
cursors, ``hs_object_id`` search windows, per-id association cursors), but every loop needs the same
guards: a cursor handed back twice would page forever, and one that never ends must fail loudly rather
than run all night. Those guards live here once; each caller keeps only its vendor's part, a small
``fetch(cursor) -> (page, next cursor or None)``. (singer-sdk's ``BaseAPIPaginator`` does the same.)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import TypeVar

from connector.crm.base import FatalError

T = TypeVar("T")
C = TypeVar("C", bound=Hashable)


class PagingError(FatalError):
    """A cursor repeated, came back empty while promising more, or paged past the cap."""


class CursorGuard:
    """The cursors one read has followed: a repeated one means the API would page forever."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._seen: set[Hashable] = set()

    def advance(self, cursor: Hashable) -> None:
        """Record ``cursor`` as the next to follow; :class:`PagingError` when it is empty or seen before."""
        if not cursor or cursor in self._seen:
            raise PagingError(f"{self.what}: paging loops at cursor {cursor!r}; stopped")
        self._seen.add(cursor)


def pages(
    fetch: Callable[[C | None], tuple[T, C | None]], *, what: str, cap: int, start: C | None = None
) -> Iterator[T]:
    """Each page ``fetch`` returns, from ``fetch(start)`` on, following the next cursor it returns until
    that is None. Lazy: nothing is fetched before the first page is asked for, and the next page only when
    the caller has finished with this one. More than ``cap`` pages, or a cursor that repeats (see
    :class:`CursorGuard`), raises :class:`PagingError` (what names the read in the message)."""
    guard = CursorGuard(what)
    cursor = start
    for _ in range(cap):
        page, following = fetch(cursor)
        yield page
        if following is None:
            return
        guard.advance(following)
        cursor = following
    raise PagingError(f"{what}: more than {cap} pages; stopped")


def rechunk(source: Iterable[Sequence[T]], size: int) -> Iterator[list[T]]:
    """The items of ``source``'s pages again, ``size`` at a time (the last list shorter, none empty): the engine's
    page size need not be the API's, and a filtered API page may hold fewer rows than it asked for."""
    if size < 1:
        raise ValueError("size must be at least 1")
    buffer: list[T] = []
    for page in source:
        buffer.extend(page)
        while len(buffer) >= size:
            yield buffer[:size]
            buffer = buffer[size:]
    if buffer:
        yield buffer
