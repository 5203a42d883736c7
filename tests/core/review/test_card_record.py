"""The model card as a review record, on a real trained, reviewed and served version, parsed back
from its Markdown: software versions, human oversight, retraining policy, monitoring plan,
security measures and the regulatory map, each section with what it must hold."""

from importlib import metadata

import pytest
from markdown_it import MarkdownIt

from core.monitor.alerts import RuleSpec, add_rule
from core.retrain.policies import Triggers, add_policy
from core.review.card import build_card
from core.review.card_record import AT_TRAINING, NO_MONITORING, NO_POLICY, NOW, REGULATION
from core.review.signoff import CHECKLIST, record_decision
from core.review.threshold import set_threshold
from core.train.registry import find_model_version

REASON = "Reviewed in the meeting of 7 December; the weak gate is understood."


def _text(token) -> str:
    """An inline token's text as a reader sees it (escapes resolved)."""
    return "".join(child.content for child in token.children or [] if child.type == "text")


def sections(markdown: str) -> dict[str, list[list[str]]]:
    """Each ``##`` section's table rows (cells as text) and paragraphs (one-cell rows)."""
    found: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    row: list[str] | None = None
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            current = found.setdefault(_text(tokens[index + 1]), [])
        elif token.type == "tr_open":
            row = []
            current.append(row)
        elif token.type == "inline" and row is not None:
            row.append(_text(token))
        elif token.type == "tr_close":
            row = None
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            current.append([_text(token)])
    return found


@pytest.fixture
def reviewed(studio_home, loans_studio, add_deployment):
    home = loans_studio(studio_home, rows=300, seed=5)
    version = set_threshold(home, find_model_version(home, "loans@1"), 0.4,
                            basis="cost of a missed default", actor="Tina")  # fmt: skip
    record_decision(
        home, version, reviewer="Rosa Reviewer", decision="approve", comment="fine for pilots",
        checklist=dict.fromkeys(CHECKLIST, True), reason=REASON,
    )  # fmt: skip
    return home, version


def test_without_a_service_the_record_says_what_is_not_there(reviewed) -> None:
    home, version = reviewed
    found = sections(build_card(home, version).to_markdown())
    assert found["Retraining policy"] == [[NO_POLICY]]
    assert found["Monitoring plan"][-1] == [NO_MONITORING]
    oversight = found["Human oversight"]
    steps = {row[2]: row for row in oversight if len(row) == 4}
    assert steps["Signed off: Approve"][1] == "Rosa Reviewer"
    assert "Separation of duties is on" in oversight[0][0]
    assert steps["Chose the decision threshold"][1:] == [
        "Tina",
        "Chose the decision threshold",
        "0.4 (cost of a missed default)",
    ]


def test_software_versions_say_whether_recorded_at_training_or_installed_now(reviewed) -> None:
    home, version = reviewed
    rows = {row[0]: row for row in sections(build_card(home, version).to_markdown())[
        "Software and package versions"] if len(row) == 3}  # fmt: skip
    assert rows["scikit-learn"][1:] == [metadata.version("scikit-learn"), AT_TRAINING]
    assert rows["numpy"][2] == AT_TRAINING and rows["Python"][2] == AT_TRAINING
    # a run does not record onnxruntime: the card gives today's version and says so
    assert rows["onnxruntime"][1:] == [metadata.version("onnxruntime"), NOW]


def test_a_served_version_lists_its_policy_alert_rules_and_key(reviewed, add_deployment) -> None:
    home, version = reviewed
    service = add_deployment(home, version.id, status="stopped", desired="stopped",
                             api_key_hash="x" * 64, key_hint="ab12")  # fmt: skip
    add_rule(home, service, RuleSpec("error_rate", "above", 0.01, 10, "critical"))
    add_policy(home, service, name="weekly refresh", triggers=Triggers(every_hours=168))
    card = build_card(home, version)
    found = sections(card.to_markdown())
    policy = found["Retraining policy"][1]
    assert policy[0] == "weekly refresh" and "every hours: 168" in policy[1]
    rules = [row[1:] for row in found["Monitoring plan"] if len(row) == 5]
    assert ["error_rate above 0.01", "10 min", "critical", "on"] in rules
    security = {row[0]: row[1] for row in found["Security measures"] if len(row) == 2}
    assert version.artifact_sha256 in security["Artefact hash"]
    assert any("ends in …ab12" in value for value in security.values())
    assert "<h2>Security measures</h2>" in card.to_html()


def test_the_regulatory_map_names_a_section_of_the_card_for_each_item(reviewed) -> None:
    home, version = reviewed
    found = sections(build_card(home, version).to_markdown())
    mapped = found["Regulatory map"][1:]
    assert len(mapped) == len(REGULATION.rows)
    titles = set(found)
    for card_sections, annex, sr117 in mapped:
        assert annex and sr117
        for title in card_sections.split(", "):
            assert title in titles or f"{title} (mean |SHAP|)" in titles, title
    annex_items = " ".join(row[1] for row in mapped)
    for item in ("1(c)", "2(e)", "2(f)", "2(h)", "9 post-market"):
        assert item in annex_items
