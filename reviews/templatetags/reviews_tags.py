"""Figures as people read them: rates as percent, money without cents, and
what a drift check measured when it opened a check-in."""

from __future__ import annotations

from decimal import Decimal

from django import template

from reviews.drift import signal_facts, signal_line
from reviews.models import CheckIn

register = template.Library()


@register.filter
def pct(rate: float | None) -> str:
    return "\u2013" if rate is None else f"{round(rate * 100)}%"


@register.filter
def money(amount: Decimal | None) -> str:
    return "\u2013" if amount is None else f"{amount:,.0f}"


@register.filter
def lift(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.2f}\u00d7"


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
