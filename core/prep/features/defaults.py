"""The default feature spec a schema suggests, by column role."""

from __future__ import annotations

import copy

from core.data.schema import ColumnSchema
from core.prep.transformers import (
    DEFAULT_DATE_PARTS,
)


def default_feature_spec(schema: list[ColumnSchema], *, target: str | None) -> dict:
    """Sensible defaults by role; id, text and target columns are left out (so dropped)."""
    defaults = {
        "numeric": {
            "impute": "median",
            "missing_indicator": False,
            "transform": "none",
            "scale": "standard",
            "bins": None,
        },
        "categorical": {
            "impute": "most_frequent",
            "encode": "onehot",
            "min_frequency": 0.01,
            "max_categories": 20,
        },
        "datetime": {
            "date_parts": list(DEFAULT_DATE_PARTS),
            "impute": "median",
            "scale": "standard",
        },
    }
    by_role = {
        "numeric": "numeric",
        "categorical": "categorical",
        "boolean": "categorical",
        "datetime": "datetime",
    }
    columns = {
        column.name: copy.deepcopy(defaults[by_role[column.role]])
        for column in schema
        if column.name != target and column.role in by_role
    }
    return {
        "columns": columns,
        "interactions": None,
        "selection": {
            "variance_threshold": 0.0,
            "correlation_threshold": None,
            "mutual_info_top_k": None,
        },
    }
