"""Filters of the reviews pages: what a drift check measured when it opened
a check-in, and a suggestion's backtest tier by tier. Numbers go through
the built-in filters of icpsite.numbers (`count`, `money`, `percent`,
`ratio`), which need no load."""

from __future__ import annotations

from django import template

from reviews.drift import signal_facts, signal_line
from reviews.models import CheckIn
from reviews.suggestions.model import Backtest
from reviews.suggestions.text import TierPair
from reviews.suggestions.text import tier_pairs as pairs

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


@register.filter
def tier_pairs(before: Backtest, after: Backtest) -> list[TierPair]:
    """`{% for p in effect.before|tier_pairs:effect.after %}`: each tier's
    closed deals in both backtests."""
    return pairs(before, after)
