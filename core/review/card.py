"""The model card: what the store knows about a version, as Markdown and self-contained HTML."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import words
from core.data.datasets import get_version
from core.review.card_people import people_rows
from core.review.card_record import CardSection, record_sections
from core.review.fairness import disparity_key
from core.review.record import latest_record, load_record, verdict_of
from core.review.review import VersionReview, cached_explanation
from core.review.signoff import CHECKLIST
from core.store import connect, models, recipes
from core.store.models import ModelVersion, Review
from core.train.registry import find_model_version
from core.train.tracking import get_run

NO_INTENDED_USE = "Not written yet: say who should use this model, for what, and for what not."
TOP_FEATURES = 10
SECURITY_NOT_RUN = "Not computed yet: run the security review in Review's Security tab."
TOP_FEATURES_TITLE = "Top features (mean |SHAP|)"
DETAIL = ("detail", "value")  # the header of the two-column tables: never an empty first row
# what could format, link, open an HTML tag or entity, end a table cell or start a formula, anywhere
# in a line; backslash-escaped, which CommonMark and Streamlit both show literally
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~$&])")
# what starts a heading, list or quote at the start of a line (the intended use is a paragraph)
_MARKDOWN_BLOCK = re.compile(r"^([#+\-=])|^(\d+)([.)])")


PEOPLE = ("when", "who (role)", "what")


@dataclass(frozen=True)
class ModelCard:
    """The sections of a model card, each a list of (label, value) rows or lines of text."""

    title: str
    summary: list[tuple[str, str]]
    intended_use: str
    data: list[tuple[str, str]]
    recipe: list[str]
    metrics: list[tuple[str, str, str]]
    gates: list[tuple[str, str, str]]
    fairness: list[tuple[str, str]]
    top_features: list[tuple[str, str]]
    limitations: list[str]
    reviews: list[tuple[str, str, str, str]]
    notes: list[str] = field(default_factory=list)
    verdict: str = ""
    # who trained, registered, reviewed, approved and deployed it, with their roles
    people: list[tuple[str, str, str]] = field(default_factory=list)
    security: list[tuple[str, str, str]] = field(default_factory=list)  # check, verdict, detail
    # the review record: software, human oversight, retraining, monitoring, security, regulation
    record: list[CardSection] = field(default_factory=list)

    def to_markdown(self) -> str:
        return "\n".join(_markdown(self)) + "\n"

    def to_html(self) -> str:
        return _html(self)


def build_card(home: Path, ref: str | ModelVersion) -> ModelCard:
    """Gather the card from the store: version, run, data lineage, review, explanations."""
    version = ref if isinstance(ref, ModelVersion) else find_model_version(home, ref)
    run = get_run(home, version.run_id)
    record = latest_record(home, version)
    review = load_record(home, record) if record else None
    verdict = verdict_of(record)
    with connect(home) as db:
        decisions = models.reviews_of(db, version.id)
    metric_label = words.metric(run.metric)
    return ModelCard(
        title=f"Model card: {version.label}",
        summary=[
            ("Model", f"{version.model_name}, version {version.version}"),
            ("Aliases", ", ".join(version.aliases) or "none"),
            ("Review state", words.review_state(version.review_state)),
            ("Gates", verdict.summary),
            ("Algorithm", words.model(run.model)),
            ("Task", f"{words.task(run.task)}, predicting ‘{run.target}’"),
            (
                "Primary metric",
                f"{metric_label}: CV {_num(run.score)} ± {_num(run.score_std)}, "
                f"holdout {_num(run.holdout_score)}",
            ),
            *_threshold_row(version, run.task),
            ("Registered", f"{words.when(version.created_at)} by {version.created_by}"),
            ("Source run", f"#{run.id}, seed {run.seed}"),
        ],
        intended_use=version.intended_use or NO_INTENDED_USE,
        data=_data_rows(home, run.dataset_version_id, run.plan),
        recipe=_recipe_lines(home, run.recipe_id),
        metrics=_metric_rows(run.metrics),
        gates=_gate_rows(review),
        fairness=_fairness_rows(review),
        top_features=_top_features(home, version),
        limitations=_limitations(review, run.metrics),
        reviews=[_review_row(decision) for decision in decisions],
        notes=list(review.notes) if review else [],
        verdict=verdict.sentence,
        people=people_rows(home, version),
        security=_security_rows(home, version),
        record=record_sections(home, version, run, decisions),
    )


def _threshold_row(version: ModelVersion, task: str) -> list[tuple[str, str]]:
    """A binary classifier's decision threshold: what its answers are decided by."""
    from core.review.threshold import describe

    return [("Decision threshold", describe(version))] if task == "binary" else []


def _finite(value: float) -> float | None:
    """None for NaN, as the JSON of the review says it."""
    return value if math.isfinite(value) else None


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _data_rows(home: Path, version_id: int | None, plan: dict[str, Any]) -> list[tuple[str, str]]:
    if version_id is None:
        return [("Dataset", "unknown")]
    version = get_version(home, version_id)
    rows = [
        ("Dataset", version.label),
        ("Rows × columns", f"{version.row_count:,} × {version.column_count}"),
        ("Content SHA-256", version.content_hash),
        ("Source file", version.source_file_name or "-"),
        ("Validation", str(plan.get("description", "-"))),
    ]
    if version.parent_version_id:
        rows.append(("Derived from", get_version(home, version.parent_version_id).label))
    return rows


def _recipe_lines(home: Path, recipe_id: int | None) -> list[str]:
    if recipe_id is None:
        return ["No recipe: the default feature spec built from the column roles."]
    with connect(home) as db:
        recipe = recipes.get(db, recipe_id)
    if recipe is None:
        return ["A recipe that is no longer in the store."]
    from core.prep.steps import CLEANING_STEPS

    body = json.loads(recipe.recipe_json)
    lines = [recipe.label]
    for step in body.get("cleaning", []):
        kind = CLEANING_STEPS.get(str(step.get("step")))
        lines.append(f"Cleaning step: {kind.label if kind else step.get('step')}")
    columns = (body.get("features") or {}).get("columns") or {}
    if columns:
        lines.append(f"Feature spec over {len(columns)} column(s)")
    return lines


def _metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    cv = metrics.get("cv", {})
    holdout = metrics.get("holdout", {})
    rows = []
    for name in holdout:
        spread = cv.get(name, {})
        cv_text = f"{_num(spread.get('mean'))} ± {_num(spread.get('std'))}" if spread else "-"
        rows.append((words.metric(name), cv_text, _num(holdout.get(name))))
    return rows


def _gate_rows(review: VersionReview | None) -> list[tuple[str, str, str]]:
    if review is None:
        return []
    verdict = {True: "pass", False: "FAIL", None: "not checked"}
    return [(gate.title, verdict[gate.passed], gate.message) for gate in review.gates]


def _fairness_rows(review: VersionReview | None) -> list[tuple[str, str]]:
    if review is None or not review.fairness:
        return []
    disparities = review.fairness.disparities
    cautions = {
        disparity_key(name, feature): f" (caution: {why})"
        for feature, found in review.fairness.cautions().items()
        for name, why in found.items()
    }
    return [
        (words.metric(name), _num(_finite(value)) + cautions.get(name, ""))
        for name, value in disparities.items()
    ]


def _top_features(home: Path, version: ModelVersion) -> list[tuple[str, str]]:
    cached = cached_explanation(home, version)
    if cached is None:
        return []
    return [(name, _num(value)) for name, value in cached[0].mean_abs()[:TOP_FEATURES]]


def _security_rows(home: Path, version: ModelVersion) -> list[tuple[str, str, str]]:
    """The security review's findings (the newest run), exposure as deployments are now."""
    from core.review.security.report import cached_security

    found = cached_security(home, version)
    if found is None:
        return []
    verdict = {True: "pass", False: "FAIL", None: "not checked"}
    membership = found.membership
    rows = [("Membership inference", verdict[not membership.leaks], membership.sentence())]
    if found.robustness is not None:
        shaken = found.robustness
        rows.append(("Robustness", "advice" if shaken.fragile else "pass", shaken.sentence()))
    exposure = found.exposure
    rows.append(
        (
            "Extraction exposure",
            exposure.level,
            " ".join([exposure.sentence(), *exposure.advice]),
        )
    )
    rows += [(check.title, verdict[check.passed], check.detail) for check in found.integrity.checks]
    return rows


def _limitations(review: VersionReview | None, metrics: dict[str, Any]) -> list[str]:
    lines = []
    if review is not None:
        lines += [
            f"Gate not passed: {g.title} — {g.message}" for g in review.gates if g.passed is False
        ]
        weakest = [s for s in review.segments if s.gap is not None][:3]
        lines += [
            f"Weaker on {s.column} = {s.segment} ({s.count:,} rows): "
            f"{_num(s.value)}, {_num(s.gap)} vs overall"
            for s in weakest
            if s.gap is not None and s.gap < 0
        ]
        if review.fairness:
            lines += list(review.fairness.warnings)
    lines.append(
        "Trained on historical data: performance holds only while new data looks like it; "
        "monitor drift after deployment."
    )
    return lines


def _review_row(review: Review) -> tuple[str, str, str, str]:
    from core.review.signoff import DECISION_LABELS

    decision = DECISION_LABELS.get(review.decision, review.decision)
    return (words.when(review.created_at), review.reviewer, decision, review.comment)


# -- rendering -----------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """User text as literal Markdown: backslash escapes, never HTML entities (a renderer shows
    an escaped entity as ``&#x27;``), and no line breaks (they would end a table row)."""
    flat = _MARKDOWN_INLINE.sub(r"\\\1", " ".join(str(text).split()))
    return _MARKDOWN_BLOCK.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", flat)


def _markdown(card: ModelCard) -> list[str]:
    lines = [f"# {_md(card.title)}", ""]
    lines += _md_table(DETAIL, card.summary)
    lines += ["## Intended use", "", _md(card.intended_use), ""]
    lines += ["## Data and lineage", ""] + _md_table(DETAIL, card.data)
    lines += ["## Recipe", ""] + [f"- {_md(line)}" for line in card.recipe] + [""]
    lines += ["## Metrics", ""] + _md_table(("metric", "cross-validated", "holdout"), card.metrics)
    lines += ["## Validation gates", ""] + ([_md(card.verdict), ""] if card.verdict else [])
    lines += (
        _md_table(("gate", "verdict", "detail"), card.gates) if card.gates else ["Not run.", ""]
    )
    lines += [f"- {_md(note)}" for note in card.notes] + ([""] if card.notes else [])
    lines += ["## Fairness", ""]
    lines += (
        _md_table(("disparity", "value"), card.fairness) if card.fairness else ["Not measured.", ""]
    )
    lines += ["## Security", ""]
    lines += (
        _md_table(("check", "verdict", "detail"), card.security)
        if card.security
        else [SECURITY_NOT_RUN, ""]
    )
    lines += [f"## {_md(TOP_FEATURES_TITLE)}", ""]
    lines += (
        _md_table(("feature", "mean |SHAP|"), card.top_features)
        if card.top_features
        else ["Not computed yet.", ""]
    )
    lines += ["## Limitations", ""] + [f"- {_md(line)}" for line in card.limitations] + [""]
    lines += ["## Reviews", ""]
    lines += (
        _md_table(("when", "reviewer", "decision", "comment"), card.reviews)
        if card.reviews
        else ["No decision recorded yet.", ""]
    )
    lines += ["## Who did what", ""]
    lines += _md_table(PEOPLE, card.people) if card.people else ["Nothing recorded yet.", ""]
    for section in card.record:
        lines += _md_section(section)
    lines += ["## Sign-off checklist", ""] + [f"- {_md(item)}" for item in CHECKLIST.values()]
    return lines


def _md_section(section: CardSection) -> list[str]:
    lines = [f"## {_md(section.title)}", ""] + ([_md(section.note), ""] if section.note else [])
    return lines + (
        _md_table(section.header, section.rows) if section.rows else [_md(section.empty), ""]
    )


def _md_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """A GFM table; header and cells escaped alike, so a ``|`` in either stays in its cell."""
    lines = [_md_row(header), "|" + "---|" * len(header)]
    lines += [_md_row(row) for row in rows]
    return [*lines, ""]


def _md_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(_md(cell) or " " for cell in cells) + " |"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;margin:2rem auto;
color:#1f2933;line-height:1.5;padding:0 1rem}h1{font-size:1.8rem}h2{margin-top:2rem;
border-bottom:1px solid #d9e2ec;padding-bottom:.2rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #d9e2ec;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f8}.FAIL{color:#b42318;font-weight:600}.pass{color:#027a48;font-weight:600}
"""


def _html(card: ModelCard) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">",
        f"<title>{html.escape(card.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(card.title)}</h1>",
        _html_table(DETAIL, card.summary),
        "<h2>Intended use</h2>",
        f"<p>{html.escape(card.intended_use)}</p>",
        "<h2>Data and lineage</h2>",
        _html_table(DETAIL, card.data),
        "<h2>Recipe</h2>",
        _html_list(card.recipe),
        "<h2>Metrics</h2>",
        _html_table(("metric", "cross-validated", "holdout"), card.metrics),
        "<h2>Validation gates</h2>",
        f"<p>{html.escape(card.verdict)}</p>" if card.verdict else "",
        _html_table(("gate", "verdict", "detail"), card.gates, verdict_column=1)
        if card.gates
        else "<p>Not run.</p>",
        _html_list(card.notes) if card.notes else "",
        "<h2>Fairness</h2>",
        _html_table(("disparity", "value"), card.fairness)
        if card.fairness
        else "<p>Not measured.</p>",
        "<h2>Security</h2>",
        _html_table(("check", "verdict", "detail"), card.security, verdict_column=1)
        if card.security
        else f"<p>{html.escape(SECURITY_NOT_RUN)}</p>",
        f"<h2>{html.escape(TOP_FEATURES_TITLE)}</h2>",
        _html_table(("feature", "mean |SHAP|"), card.top_features)
        if card.top_features
        else "<p>Not computed yet.</p>",
        "<h2>Limitations</h2>",
        _html_list(card.limitations),
        "<h2>Reviews</h2>",
        _html_table(("when", "reviewer", "decision", "comment"), card.reviews)
        if card.reviews
        else "<p>No decision recorded yet.</p>",
        "<h2>Who did what</h2>",
        _html_table(PEOPLE, card.people) if card.people else "<p>Nothing recorded yet.</p>",
        *[_html_section(section) for section in card.record],
        "<h2>Sign-off checklist</h2>",
        _html_list(list(CHECKLIST.values())),
        "</body></html>",
    ]
    return "\n".join(parts)


def _html_section(section: CardSection) -> str:
    note = f"<p>{html.escape(section.note)}</p>" if section.note else ""
    table = (
        _html_table(section.header, section.rows)
        if section.rows
        else f"<p>{html.escape(section.empty)}</p>"
    )
    return f"<h2>{html.escape(section.title)}</h2>{note}{table}"


def _html_table(
    header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, verdict_column: int | None = None
) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            css = f" class='{cell}'" if index == verdict_column and cell in ("pass", "FAIL") else ""
            cells.append(f"<td{css}>{html.escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html_list(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def write_card(home: Path, ref: str, out: Path) -> Path:
    """Write the card as HTML (or Markdown when ``out`` ends in .md)."""
    card = build_card(home, ref)
    text = card.to_markdown() if out.suffix.lower() == ".md" else card.to_html()
    out.write_text(text, "utf-8")
    return out
