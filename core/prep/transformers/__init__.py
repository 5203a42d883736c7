"""The studio's own scikit-learn transformers, one module per family, all importable from here."""

# Model files saved before this package was split record every studio type by this package's
# path (core.prep.transformers.<Name>); skops imports the package and reads the name from it. So
# each type in catalog.STUDIO_TYPES must stay importable from here (tests/core/prep checks).
from core.prep.transformers.catalog import SKOPS_TRUSTED_TYPES, STUDIO_TRANSFORMERS, STUDIO_TYPES
from core.prep.transformers.columns import FeatureColumns, onehot_column_name, unique_names
from core.prep.transformers.dates import (
    DATE_PARTS,
    DEFAULT_DATE_PARTS,
    UNKNOWN_DATE_PART,
    DateParts,
)
from core.prep.transformers.inputs import TOO_FEW_ROWS, epoch_days, level_text
from core.prep.transformers.levels import (
    RARE_LEVEL,
    UNKNOWN_FILL_STRATEGY,
    FillCategory,
    RareLevels,
    ToLevels,
)
from core.prep.transformers.missing import KNNImpute, MissingFlags
from core.prep.transformers.numeric import (
    BAD_N_BINS,
    BIN_STRATEGIES,
    UNKNOWN_BIN_STRATEGY,
    Bins,
    PolynomialTerms,
    SignedLog,
    ToFloat,
)
from core.prep.transformers.selection import CorrelationFilter, MutualInfoSelector, VarianceFilter
from core.prep.transformers.target import COMPLEX_TARGET, TargetEncoding, target_kind

__all__ = [
    "BAD_N_BINS",
    "BIN_STRATEGIES",
    "COMPLEX_TARGET",
    "DATE_PARTS",
    "DEFAULT_DATE_PARTS",
    "RARE_LEVEL",
    "SKOPS_TRUSTED_TYPES",
    "STUDIO_TRANSFORMERS",
    "STUDIO_TYPES",
    "TOO_FEW_ROWS",
    "UNKNOWN_BIN_STRATEGY",
    "UNKNOWN_DATE_PART",
    "UNKNOWN_FILL_STRATEGY",
    "Bins",
    "CorrelationFilter",
    "DateParts",
    "FeatureColumns",
    "FillCategory",
    "KNNImpute",
    "MissingFlags",
    "MutualInfoSelector",
    "PolynomialTerms",
    "RareLevels",
    "SignedLog",
    "TargetEncoding",
    "ToFloat",
    "ToLevels",
    "VarianceFilter",
    "epoch_days",
    "level_text",
    "onehot_column_name",
    "target_kind",
    "unique_names",
]
