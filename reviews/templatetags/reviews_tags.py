"""Filters of the reviews pages: what a drift check measured when it opened
a check-in. Numbers go through the built-in filters of icpsite.numbers
(`count`, `money`, `percent`, `ratio`), which need no load."""

from __future__ import annotations

from django import template

from reviews.drift import signal_facts, signal_line
from reviews.models import CheckIn

register = template.Library()


@register.filter
def trigger_facts(checkin: CheckIn) -> list[tuple[str, str]]:
    """The stored figures of the drift check that opened the check-in."""
    return signal_facts(checkin.trigger, checkin.trigger_figures or {})


@register.filter
def trigger_line(checkin: CheckIn) -> str:
    """The same figures in one line; check-ins from before figures were
    stored say their reason instead."""
    if checkin.trigger_figures:
        return signal_line(checkin.trigger, checkin.trigger_figures) or checkin.trigger_reason
    return checkin.trigger_reason
