"""What means true or false, and matching a label users send back to the model's classes."""

import numpy as np
import pandas as pd
import pytest

from core.data.booleans import class_of, most_common_spelling, truth
from core.data.explore.target import target_analysis
from core.data.schema import ColumnSchema


@pytest.mark.parametrize(
    ("value", "meaning"),
    [
        (True, True),
        ("Yes", True),
        (" y ", True),
        ("TRUE", True),
        ("t", True),
        (1, True),
        ("1", True),
        (1.0, True),
        (False, False),
        ("no", False),
        ("N", False),
        (0, False),
        ("0", False),
        ("maybe", None),
        (2, None),
        (None, None),
        ("", None),
        ([], None),
    ],
)
def test_truth_reads_the_words_a_file_uses(value, meaning):
    assert truth(value) is meaning


@pytest.mark.parametrize(
    ("label", "classes", "expected"),
    [
        ("yes", ["No", "Yes"], (True, "Yes")),
        (True, ["No", "Yes"], (True, "Yes")),
        ("N", ["No", "Yes"], (True, "No")),
        ("Yes", [False, True], (True, True)),
        (True, [0, 1], (True, 1)),
        ("1", [0, 1, 2], (True, 1)),
        (np.int64(2), [0, 1, 2], (True, 2)),
        ("north", ["north", "south"], (True, "north")),
        ("yes", ["north", "south"], (False, None)),
        ("yes", [0, 1, 2], (False, None)),  # three classes are no yes/no target
        ("maybe", ["No", "Yes"], (False, None)),
    ],
)
def test_a_label_matches_its_class_by_value_text_or_meaning(label, classes, expected):
    assert class_of(label, classes) == expected


def test_the_most_used_spelling_wins_and_the_first_seen_on_a_tie():
    assert most_common_spelling([("yes", 2), ("Yes", 5), ("no", 1)], "yes") == "Yes"
    assert most_common_spelling([("N", 1), ("n", 1)], "n") == "N"
    assert most_common_spelling([("Y", 3)], "n") == "n"


def test_explore_shows_a_yes_no_target_in_its_files_words():
    frame = pd.DataFrame({"approved": [True, False, True, False] * 5, "income": range(20)})
    schema = [
        ColumnSchema("approved", "bool", "boolean", labels=("Yes", "No")),
        ColumnSchema("income", "int64", "numeric"),
    ]
    result = target_analysis(frame, target="approved", feature="income", schema=schema)
    assert sorted(result.classes) == ["No", "Yes"] and result.positive_class == "Yes"
