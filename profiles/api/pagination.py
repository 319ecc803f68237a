"""Paging of the API's lists."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class NewestFirstCursor(CursorPagination):
    """Newest first, by id: pages stay consistent while rows are added,
    for lists a sync job walks to the end."""

    ordering = "-id"
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class NumberedPages(PageNumberPagination):
    """Numbered pages in the list's own order, for short lists people read."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
