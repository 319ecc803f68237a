"""Paging of the API's lists."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class NewestFirstCursor(CursorPagination):
    """Newest first, by id: pages stay consistent while rows are added,
    for lists a sync job walks to the end."""

    ordering = "-id"
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request: Request) -> Cursor | None:
        # A cursor is read from `next`, never typed, so a wrong one is the
        # client's mistake in a parameter (400), not a missing page (404).
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["Not a cursor; follow `next` from a page."]}
            ) from None


class NumberedPages(PageNumberPagination):
    """Numbered pages in the list's own order, for short lists people read."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
