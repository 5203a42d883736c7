"""One fold fit of a search, as a compute worker runs it: data in, score out, never the store."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

# what a fit with poor settings may raise: the trial fails, the search goes on
FIT_ERRORS = (ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class FoldTask:
    """One fold fit to run elsewhere: the unfitted pipeline and the fold's row positions."""

    pipeline: Any
    fit: np.ndarray
    check: np.ndarray


@dataclass(frozen=True)
class FoldFit:
    """A fold fitted elsewhere: its score (metric's units) or the error, and the seconds."""

    score: float | None
    seconds: float
    error: str | None = None

    def score_or_raise(self) -> float:
        if self.error is not None or self.score is None:
            raise ValueError(self.error or "the fit gave no score")
        return self.score


def fold_score(
    pipeline: Any,
    X: pd.DataFrame,
    y: pd.Series,
    fit: np.ndarray,
    check: np.ndarray,
    scorer: Any,
    higher_is_better: bool,
) -> float:
    """Fit a fresh copy of ``pipeline`` on the ``fit`` rows and score it on ``check``."""
    model = clone(pipeline)
    with warnings.catch_warnings():
        # a search explores weak settings on purpose; their convergence noise is expected
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X.iloc[fit], y.iloc[fit])
        value = float(scorer(model, X.iloc[check], y.iloc[check]))
    # sklearn scorers negate losses; store every score in the metric's own units
    return value if higher_is_better else -value


def fit_fold(
    task: FoldTask, *, X: pd.DataFrame, y: pd.Series, scorer: Any, higher_is_better: bool
) -> FoldFit:
    """One fold fit on a compute worker: data in, score out (it never opens the store)."""
    from threadpoolctl import threadpool_limits

    started = time.monotonic()
    # one BLAS/OpenMP thread per task: the worker runs one task per thread it has
    with threadpool_limits(limits=1):
        try:
            score = fold_score(task.pipeline, X, y, task.fit, task.check, scorer, higher_is_better)
        except FIT_ERRORS as problem:
            message = str(problem) or type(problem).__name__
            return FoldFit(None, time.monotonic() - started, message)
    return FoldFit(score, time.monotonic() - started)
