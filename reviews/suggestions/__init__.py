"""The statistics behind revision suggestions: attribute lift (lift.py) over
a window (window.py), in readable numeric buckets (buckets.py), with Wilson
intervals and the minimum-evidence rule (stats.py); the statements in sql.py.
docs/suggestions.md says what the figures mean and what they do not claim.
"""
