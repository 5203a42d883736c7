"""Hyperparameter search over fixed CV folds: grid, random, successive halving, Optuna TPE."""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer

from core.jobs.compute import ComputeBackend, LocalBackend
from core.train.catalog import Choice, FloatRange, IntRange, Space, grid_of, sample_params
from core.train.evaluate import HIGHER_IS_BETTER, cv_scorer
from core.train.fold_fits import FIT_ERRORS, FoldFit, FoldTask, fit_fold, fold_score

STRATEGIES = ("none", "grid", "random", "halving", "bayes")
SMART_STRATEGY = "halving"
HALVING_FACTOR = 3
MIN_HALVING_ROWS = 200
PRUNE_AFTER_TRIALS = 5

UNKNOWN_STRATEGY = "The tuning strategy must be one of {choices}, not {strategy!r}."
ALL_TRIALS_FAILED = "Every trial of {model} failed; the first error was: {error}"
BAD_BUDGET = (
    "The tuning budget needs at least 1 trial or 1 second; got {trials} trials, {seconds} s."
)

Folds = list[tuple[np.ndarray, np.ndarray]]
PipelineMaker = Callable[[dict[str, Any]], Any]


class TuningError(ValueError):
    """A search that cannot run or produced no usable trial."""


@dataclass(frozen=True)
class Budget:
    """How much searching to do: at most ``trials`` trials and/or ``seconds`` of wall time."""

    trials: int | None = 20
    seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.trials is not None and self.trials < 1) or (
            self.seconds is not None and self.seconds <= 0
        ):
            raise TuningError(BAD_BUDGET.format(trials=self.trials, seconds=self.seconds))


@dataclass(frozen=True)
class Trial:
    """One candidate's cross-validated score (in the metric's own units) and how it ended."""

    number: int
    params: dict[str, Any]
    score: float | None
    std: float | None
    fold_scores: tuple[float, ...]
    status: str  # done, pruned or failed
    seconds: float
    rows: int
    round: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fold_scores"] = list(self.fold_scores)
        return data


@dataclass(frozen=True)
class SearchResult:
    """The best parameters found, their CV score ± std, and every trial in order."""

    strategy: str
    metric: str
    best_params: dict[str, Any]
    best_score: float
    best_std: float
    trials: tuple[Trial, ...]
    seconds: float
    best_fold_scores: tuple[float, ...] = field(default=())


@dataclass
class _Search:
    make_pipeline: PipelineMaker
    X: pd.DataFrame
    y: pd.Series
    folds: Folds
    metric: str
    task: str
    on_trial: Callable[[Trial, Trial | None], None]
    deadline: float | None
    backend: ComputeBackend = field(default_factory=LocalBackend)
    trials: list[Trial] = field(default_factory=list)
    # (candidate, rows, fold) -> a fold already fitted on the cluster, read by run_trial
    fitted: dict[tuple[str, int, int], FoldFit] = field(default_factory=dict)

    @functools.cached_property
    def scorer(self) -> Any:
        # the positive class is the second of the sorted labels, as the fitted model's classes_
        classes = None if self.task == "regression" else sorted(self.y.unique().tolist())
        return get_scorer(cv_scorer(self.metric, self.task, classes=classes))

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]

    def oriented(self, score: float) -> float:
        return score if self.higher_is_better else -score

    def best(self, trials: list[Trial] | None = None) -> Trial | None:
        done = [t for t in (self.trials if trials is None else trials) if t.status == "done"]
        return max(done, key=lambda t: self.oriented(t.score or 0.0), default=None)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def may_start(
        self, budget: Budget, *, rows: int | None = None, folds: int | None = None
    ) -> bool:
        """Whether another trial fits the budget: fewer trials than allowed, and (once one has
        run) expected to end, with the final refit on all rows, before the deadline, at the
        seconds per fitted row seen so far. The first trial always runs, so every search has
        a result."""
        if not self.trials:
            return True
        if budget.trials is not None and len(self.trials) >= budget.trials:
            return False
        if self.deadline is None:
            return True
        rate = self.seconds_per_row()
        expected = rate * (rows or len(self.X)) * (folds or len(self.folds))
        final_fit = rate * len(self.X)  # the best candidate is then refit on every row
        return time.monotonic() + expected + final_fit <= self.deadline

    def seconds_per_row(self) -> float:
        """Seconds per row per fold, the highest any finished trial took (a fixed cost makes
        small samples look dear, which errs toward stopping in time)."""
        rates = [
            t.seconds / (t.rows * max(len(t.fold_scores), 1)) for t in self.trials if t.rows > 0
        ]
        return max(rates, default=0.0)

    def record(self, trial: Trial) -> Trial:
        self.trials.append(trial)
        self.on_trial(trial, self.best())
        return trial

    def run_trial(
        self,
        params: dict[str, Any],
        *,
        rows: np.ndarray | None = None,
        round_number: int = 0,
        fold_count: int | None = None,
        prune: bool = True,
        report: Callable[[int, float], bool] | None = None,
    ) -> Trial:
        """Cross-validate one candidate fold by fold, stopping early when it looks hopeless."""
        started = time.monotonic()
        scores: list[float] = []
        folds = self.folds_for(rows, fold_count)
        status, error = "done", None
        remote_seconds = 0.0
        try:
            pipeline = self.make_pipeline(params)
            for step, (fit, check) in enumerate(folds):
                fitted = self.fitted.pop((_candidate_key(params), _rows_key(rows), step), None)
                if fitted is None:
                    scores.append(self.fold_score(pipeline, fit, check))
                else:
                    remote_seconds += fitted.seconds
                    scores.append(fitted.score_or_raise())
                running = float(np.mean(scores))
                hopeless = report(step, running) if report else self.hopeless(step, running)
                if prune and step < len(folds) - 1 and hopeless:
                    status = "pruned"
                    break
        except FIT_ERRORS as problem:
            status, error = "failed", str(problem) or type(problem).__name__
        done = status == "done" and len(scores) == len(folds)
        trial = Trial(
            number=len(self.trials),
            params=params,
            score=float(np.mean(scores)) if scores and status != "failed" else None,
            std=float(np.std(scores)) if done else None,
            fold_scores=tuple(scores),
            status=status,
            seconds=time.monotonic() - started + remote_seconds,
            rows=len(self.X) if rows is None else len(rows),
            round=round_number,
            error=error,
        )
        return self.record(trial)

    def fold_score(self, pipeline: Any, fit: np.ndarray, check: np.ndarray) -> float:
        return fold_score(pipeline, self.X, self.y, fit, check, self.scorer, self.higher_is_better)

    def folds_for(self, rows: np.ndarray | None, fold_count: int | None) -> Folds:
        folds = self.folds if rows is None else _restrict(self.folds, rows)
        return folds[:fold_count] if fold_count else folds

    def batch_size(self, budget: Budget) -> int:
        """Candidates per batch: one here (today's order of work); on a cluster, every one the
        trial budget allows at once, or, under a deadline, as many as it has worker threads."""
        if isinstance(self.backend, LocalBackend):
            return 1
        if self.deadline is not None:
            return self.backend.slots
        return max(1, budget.trials - len(self.trials)) if budget.trials else 1_000_000

    def prefetch(
        self,
        candidates: list[dict[str, Any]],
        *,
        rows: np.ndarray | None = None,
        fold_count: int | None = None,
        prune: bool = False,
    ) -> None:
        """On a cluster, fit the candidates' folds at once; the trials then read the scores in
        their usual order, so pruning and the result are what one process would give.

        With the median rule on, the last fold is fitted only for the candidates that the rule
        lets through (it never prunes at the last fold, so the earlier folds decide), which is
        the fits one process makes."""
        if isinstance(self.backend, LocalBackend) or not candidates:
            return
        folds = self.folds_for(rows, fold_count)
        if not prune or len(folds) < 3:
            self._fit_folds(candidates, rows, folds, range(len(folds)))
            return
        self._fit_folds(candidates, rows, folds, range(len(folds) - 1))
        survivors = self._not_pruned(candidates, rows, len(folds))
        self._fit_folds(survivors, rows, folds, [len(folds) - 1])

    def _fit_folds(
        self,
        candidates: list[dict[str, Any]],
        rows: np.ndarray | None,
        folds: Folds,
        steps: Iterable[int],
    ) -> None:
        keys, tasks = [], []
        steps = list(steps)
        for params in candidates:
            try:
                pipeline = self.make_pipeline(params)
            except FIT_ERRORS:
                continue  # run_trial meets the same error and records the trial failed
            for step in steps:
                keys.append((_candidate_key(params), _rows_key(rows), step))
                tasks.append(FoldTask(pipeline, *folds[step]))
        shared = {
            "X": self.X,
            "y": self.y,
            "scorer": self.scorer,
            "higher_is_better": self.higher_is_better,
        }
        self.fitted.update(zip(keys, self.backend.map(fit_fold, tasks, shared=shared), strict=True))

    def _not_pruned(
        self, candidates: list[dict[str, Any]], rows: np.ndarray | None, fold_count: int
    ) -> list[dict[str, Any]]:
        """The candidates the median rule would let reach their last fold, judged in order
        as run_trial judges them, from the folds fitted so far."""
        finished = [t.fold_scores for t in self.trials if t.status == "done" and t.round == 0]
        survivors = []
        for params in candidates:
            found = [
                self.fitted.get((_candidate_key(params), _rows_key(rows), step))
                for step in range(fold_count - 1)
            ]
            if any(f is None or f.error is not None or f.score is None for f in found):
                continue  # a failed trial: neither finished nor fitted further
            scores = tuple(float(f.score) for f in found if f is not None and f.score is not None)
            if not any(
                self.hopeless(step, float(np.mean(scores[: step + 1])), finished=finished)
                for step in range(fold_count - 1)
            ):
                survivors.append(params)
                finished.append(scores)
        return survivors

    def run_in_order(
        self,
        candidates: Iterable[dict[str, Any]],
        budget: Budget,
        *,
        rows: np.ndarray | None = None,
        round_number: int = 0,
        fold_count: int | None = None,
        prune: bool = True,
    ) -> tuple[list[Trial], bool]:
        """Each candidate as a trial while the budget allows (fitted a batch at a time on a
        cluster); the trials and whether every candidate ran."""
        source: Iterator[dict[str, Any]] = iter(candidates)
        scored: list[Trial] = []
        size = len(self.X) if rows is None else len(rows)
        while batch := list(itertools.islice(source, self.batch_size(budget))):
            if not self.may_start(budget, rows=size, folds=fold_count):
                return scored, False
            self.prefetch(batch, rows=rows, fold_count=fold_count, prune=prune)
            for params in batch:
                if not self.may_start(budget, rows=size, folds=fold_count):
                    return scored, False
                scored.append(
                    self.run_trial(
                        params,
                        rows=rows,
                        round_number=round_number,
                        fold_count=fold_count,
                        prune=prune,
                    )
                )
        return scored, True

    def hopeless(
        self, step: int, running: float, *, finished: list[tuple[float, ...]] | None = None
    ) -> bool:
        """The median rule: worse than the median of finished trials at the same fold
        (``finished``: their fold scores; by default the finished first-round trials')."""
        if finished is None:
            finished = [t.fold_scores for t in self.trials if t.status == "done" and t.round == 0]
        if step < 1 or len(finished) < PRUNE_AFTER_TRIALS:
            return False
        peers = [float(np.mean(scores[: step + 1])) for scores in finished]
        return self.oriented(running) < self.oriented(float(np.median(peers)))


def _candidate_key(params: dict[str, Any]) -> str:
    return repr(sorted(params.items()))


def _rows_key(rows: np.ndarray | None) -> int:
    return -1 if rows is None else len(rows)


def _restrict(folds: Folds, rows: np.ndarray) -> Folds:
    keep = np.zeros(max(max(f.max(), c.max()) for f, c in folds) + 1, dtype=bool)
    keep[rows] = True
    return [(fit[keep[fit]], check[keep[check]]) for fit, check in folds]


def tune(
    make_pipeline: PipelineMaker,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    folds: Folds,
    space: Space,
    strategy: str,
    metric: str,
    task: str,
    budget: Budget | None = None,
    seed: int = 42,
    defaults: dict[str, Any] | None = None,
    on_trial: Callable[[Trial, Trial | None], None] | None = None,
    model_title: str = "the model",
    backend: ComputeBackend | None = None,
) -> SearchResult:
    """Search ``space`` with ``strategy`` over fixed ``folds``; every trial reaches ``on_trial``.

    ``backend`` (default: this process) runs the fold fits; on a cluster they run in batches
    and the result is the one this process would give (Optuna's asks go in batches of the
    cluster's worker threads, so a TPE search sees its results a batch later)."""
    if strategy not in STRATEGIES:
        choices = ", ".join(STRATEGIES)
        raise TuningError(UNKNOWN_STRATEGY.format(choices=choices, strategy=strategy))
    budget = budget or Budget()
    started = time.monotonic()
    deadline = started + budget.seconds if budget.seconds else None
    search = _Search(
        make_pipeline,
        X,
        y,
        folds,
        metric,
        task,
        on_trial or (lambda t, b: None),
        deadline,
        backend or LocalBackend(),
    )
    if strategy == "none" or not space:
        search.run_trial(dict(defaults or {}), prune=False)
    else:
        _STRATEGY_RUNNERS[strategy](search, space, budget, seed)
    return _result(search, strategy, started, model_title)


def _result(search: _Search, strategy: str, started: float, model_title: str) -> SearchResult:
    final_round = max((t.round for t in search.trials), default=0)
    best = search.best([t for t in search.trials if t.round == final_round]) or search.best()
    if best is None:
        error = next((t.error for t in search.trials if t.error), "no trial finished")
        raise TuningError(ALL_TRIALS_FAILED.format(model=model_title, error=error))
    return SearchResult(
        strategy=strategy,
        metric=search.metric,
        best_params=best.params,
        best_score=float(best.score or 0.0),
        best_std=float(best.std or 0.0),
        trials=tuple(search.trials),
        seconds=time.monotonic() - started,
        best_fold_scores=best.fold_scores,
    )


def _grid(search: _Search, space: Space, budget: Budget, seed: int) -> None:
    search.run_in_order(grid_of(space), budget)


def _random(search: _Search, space: Space, budget: Budget, seed: int) -> None:
    search.run_in_order(_random_candidates(space, budget, seed), budget)


def _random_candidates(space: Space, budget: Budget, seed: int) -> Iterator[dict[str, Any]]:
    """Distinct random candidates, in the order the seed gives them."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    limit = budget.trials or 10_000
    for _ in range(limit * 20):
        params = sample_params(space, rng)
        if repr(sorted(params.items())) in seen:
            continue
        seen.add(repr(sorted(params.items())))
        yield params


def halving_schedule(n_candidates: int, n_rows: int) -> list[tuple[int, int]]:
    """(candidates, rows) per round: a third of the candidates go on, with three times the rows.

    Rounds before the last two screen on one fold: on a few hundred rows a model's fixed cost
    dominates, so three folds there cost nearly three times as much for little extra signal.
    """
    rounds = 1 + max(0, math.ceil(math.log(max(n_candidates, 1), HALVING_FACTOR)) - 1)
    schedule = []
    candidates = n_candidates
    for number in range(rounds):
        rows = int(n_rows / HALVING_FACTOR ** (rounds - 1 - number))
        schedule.append((candidates, max(min(MIN_HALVING_ROWS, n_rows), rows)))
        candidates = max(1, math.ceil(candidates / HALVING_FACTOR))
    return schedule


def halving_candidates(grid_size: int, trials: int | None, n_rows: int) -> int:
    """How many candidates the first round can take so that every round's trials together
    stay within ``trials`` (a third go on each round)."""
    if trials is None:
        return grid_size
    count = min(grid_size, trials)
    while count > 1 and sum(n for n, _ in halving_schedule(count, n_rows)) > trials:
        count -= 1
    return count


def _halving(search: _Search, space: Space, budget: Budget, seed: int) -> None:
    candidates = grid_of(space)
    count = halving_candidates(len(candidates), budget.trials, len(search.X))
    if count < len(candidates):
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(candidates), size=count, replace=False)
        candidates = [candidates[i] for i in sorted(picks)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(search.X))
    schedule = halving_schedule(len(candidates), len(search.X))
    for number, (_, rows) in enumerate(schedule):
        subset = None if rows >= len(search.X) else np.sort(order[:rows])
        # early rounds on small samples only screen (one fold); the last two decide on all folds
        screening = 1 if number < len(schedule) - 2 else None
        scored, whole = search.run_in_order(
            candidates,
            budget,
            rows=subset,
            round_number=number,
            fold_count=screening,
            prune=False,
        )
        keep = max(1, math.ceil(len(candidates) / HALVING_FACTOR))
        ranked = sorted(
            (t for t in scored if t.status == "done"),
            key=lambda t: search.oriented(t.score or 0.0),
            reverse=True,
        )
        candidates = [t.params for t in ranked[:keep]]
        if not candidates or not whole:  # the budget ran out within the round
            return


def _bayes(search: _Search, space: Space, budget: Budget, seed: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if search.higher_is_better else "minimize"
    )
    study = optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS, n_warmup_steps=1),
    )
    distributions = {name: _optuna_distribution(dim) for name, dim in space.items()}
    while search.may_start(budget):
        # one ask at a time here; on a cluster, as many as it runs at once
        count = 1 if isinstance(search.backend, LocalBackend) else search.backend.slots
        if budget.trials:
            count = max(1, min(count, budget.trials - len(search.trials)))
        asks = [study.ask(distributions) for _ in range(count)]
        batch = [{name: _from_optuna(space[name], a.params[name]) for name in space} for a in asks]
        search.prefetch(batch)
        for asked, params in zip(asks, batch, strict=True):
            if asked is not asks[0] and not search.may_start(budget):
                study.tell(asked, state=_failed_state())
                continue

            def report(step: int, running: float, asked: Any = asked) -> bool:
                asked.report(running, step)
                return bool(asked.should_prune())

            trial = search.run_trial(params, report=report)
            _tell(study, asked, trial)


def _failed_state() -> Any:
    from optuna.trial import TrialState

    return TrialState.FAIL


def _tell(study: Any, asked: Any, trial: Trial) -> None:
    from optuna.trial import TrialState

    if trial.status == "done":
        study.tell(asked, trial.score)
    elif trial.status == "pruned":
        study.tell(asked, state=TrialState.PRUNED)
    else:
        study.tell(asked, state=TrialState.FAIL)


def _optuna_distribution(dimension: IntRange | FloatRange | Choice) -> Any:
    import optuna

    if isinstance(dimension, IntRange):
        return optuna.distributions.IntDistribution(
            dimension.low, dimension.high, log=dimension.log
        )
    if isinstance(dimension, FloatRange):
        return optuna.distributions.FloatDistribution(
            dimension.low, dimension.high, log=dimension.log
        )
    # optuna stores choices as JSON-friendly values; None and mixed types go by position
    return optuna.distributions.CategoricalDistribution(list(range(len(dimension.values))))


def _from_optuna(dimension: IntRange | FloatRange | Choice, value: Any) -> Any:
    if isinstance(dimension, Choice):
        return dimension.values[int(value)]
    return value


_STRATEGY_RUNNERS: dict[str, Callable[[_Search, Space, Budget, int], None]] = {
    "grid": _grid,
    "random": _random,
    "halving": _halving,
    "bayes": _bayes,
}


def best_so_far(trials: list[Trial] | tuple[Trial, ...], metric: str) -> list[float | None]:
    """The best finished score after each trial, for the live 'best vs trials' chart."""
    higher = HIGHER_IS_BETTER[metric]
    best: float | None = None
    curve: list[float | None] = []
    for trial in trials:
        if trial.status == "done" and trial.score is not None:
            better = best is None or (trial.score > best if higher else trial.score < best)
            best = trial.score if better else best
        curve.append(best)
    return curve
