from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from icpsite.numbers import counted
from profiles.attributes import Attribute
from profiles.models import Criterion
from profiles.selectors import criterion_text

register = template.Library()


@register.simple_tag
def criterion_words(criterion: Criterion, registry: dict[str, Attribute]) -> str:
    """A criterion in words, using the registry the view already loaded."""
    return criterion_text(criterion, registry)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now" within the minute, else "5 minutes ago": a page never says "0 minutes ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


@register.filter
def age(moment: datetime | None) -> str:
    """How long since `moment` in whole days ("9 days"), or hours or minutes
    within the first day: the queue says an override is "waiting 9 days",
    never "1 week" for nine of them."""
    if moment is None:
        return ""
    elapsed = timezone.now() - moment
    if elapsed >= timedelta(days=1):
        return counted(elapsed.days, "day")
    if elapsed >= timedelta(hours=1):
        return counted(elapsed.seconds // 3600, "hour")
    return counted(max(elapsed.seconds // 60, 1), "minute")
