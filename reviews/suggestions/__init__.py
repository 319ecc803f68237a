"""Revision suggestions: concrete edits of a version's criteria, drafted
from the evidence, each with its figures and its backtest.

- lift.py: attribute lift over a window (window.py), in readable numeric
  buckets (buckets.py), with Wilson intervals and the minimum-evidence rule
  (stats.py);
- candidates.py: the edits the rules allow; suggest.py judges, backtests
  (patterns.py) and ranks them, and re-fits the points (fit.py);
- edits.py: what a list of criteria becomes under edits (one place for the
  backtest and the adoption); model.py: the dataclasses;
- sql.py: every hand-written statement of the above.
docs/suggestions.md says what the figures mean and what they do not claim.
"""
