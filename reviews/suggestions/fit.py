"""Points from the data: a regularised logistic model of winning on which
fit criteria an account matches, fitted by scikit-learn over the pattern
rows (one row per matched pattern, weighted by its won and lost deals, so
it costs the same at a thousand deals as at a million).

The model's coefficients say how much each criterion adds to the odds of
winning, the others held equal. Points follow them: a criterion's share of
the positive coefficients, as whole points summing to 100 (a criterion
whose coefficient is not positive gets none). Disqualified accounts stay
out: their score is fixed whatever the points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from reviews.suggestions.edits import whole_points
from reviews.suggestions.patterns import Row

# The inverse strength of the L2 penalty, per deal: the data decide unless
# they are few.
REGULARISATION = 1.0


def fitted_shares(
    rows: Iterable[Row], matches: Callable[[Row], Sequence[bool] | None], *, late: bool = False
) -> list[float] | None:
    """The coefficient of each feature `matches` gives a row (None: the row
    is disqualified and left out); None when the rows hold no won deal or
    no lost one."""
    features, labels, weights = [], [], []
    for row in rows:
        won, lost = (row.won_late, row.lost_late) if late else (row.won, row.lost)
        pattern = matches(row) if (won or lost) else None
        if pattern is None:
            continue
        for label, weight in ((1, won), (0, lost)):
            if weight:
                features.append([1.0 if hit else 0.0 for hit in pattern])
                labels.append(label)
                weights.append(weight)
    if len(set(labels)) < 2 or not features or not features[0]:
        return None
    model = LogisticRegression(C=REGULARISATION, max_iter=1000)
    model.fit(np.array(features), np.array(labels), sample_weight=np.array(weights, dtype=float))
    return [float(c) for c in model.coef_[0]]


def points_from(shares: Sequence[float]) -> list[int]:
    """Whole points summing to 100 in proportion to the positive shares."""
    return whole_points([max(0.0, s) for s in shares])
