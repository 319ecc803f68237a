from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from reviews.mywork.selectors import WorkCounts, my_work_counts


def my_work(request: HttpRequest) -> dict[str, Any]:
    """The signed-in person's My work and unread counts, for the navigation.

    Counted when a page shows them (an HTMX fragment does not), in one
    query, fresh on every page: nothing cached can show a count the person
    has already acted on."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_work": WorkCounts()}
    return {"my_work": SimpleLazyObject(lambda: my_work_counts(viewer=user))}
