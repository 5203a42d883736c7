"""Generate the committed sample datasets: a biased, drifting credit table and house prices."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

TRAINING_SEED = 20_220_101
PRODUCTION_SEED = 20_240_101
HOUSES_SEED = 20_210_101

TRAINING_ROWS = 24_000
DUPLICATE_SHARE = 0.015
PRODUCTION_ROWS = 6_000
HOUSE_ROWS = 8_000

AGE_BAND_EDGES = [17, 25, 35, 45, 55, 65, 200]
AGE_BANDS = ["18-25", "26-35", "36-45", "46-55", "56-65", "66+"]

# Who the recorded label is biased against, and how often a repaid loan is recorded as a default.
BIASED_SEX = "female"
BIASED_AGE_BAND = "18-25"
SEX_FLIP_RATE = 0.09
AGE_FLIP_RATE = 0.10

PURPOSE_RISK = {
    "debt_consolidation": 0.15,
    "home_improvement": -0.15,
    "car": -0.10,
    "education": 0.0,
    "medical": 0.25,
    "business": 0.35,
    "other": 0.05,
    "crypto": 1.40,
}
PURPOSE_BASE_AMOUNT = {
    "debt_consolidation": 12_000,
    "home_improvement": 18_000,
    "car": 15_000,
    "education": 10_000,
    "medical": 6_000,
    "business": 25_000,
    "other": 8_000,
    "crypto": 14_000,
}
EMPLOYMENT_RISK = {
    "salaried": 0.0,
    "self_employed": 0.20,
    "contract": 0.25,
    "unemployed": 0.65,
    "retired": -0.10,
}
EDUCATION_INCOME = {
    "high_school": -0.15,
    "vocational": -0.05,
    "bachelor": 0.10,
    "master": 0.25,
    "doctorate": 0.35,
}


@dataclass(frozen=True)
class CreditPeriod:
    """The applicant mix, the economy and the record keeping of one period of applications."""

    first_day: str
    days: int
    first_applicant_number: int
    purpose_shares: dict[str, float]
    income_factor: float = 1.0
    loan_amount_factor: float = 1.0
    interest_rate_shift: float = 0.0
    credit_score_shift: float = 0.0
    living_cost_pressure: float = 0.0
    missing_shares: dict[str, float] = field(default_factory=dict)


TRAINING = CreditPeriod(
    first_day="2022-01-01",
    days=730,
    first_applicant_number=1,
    purpose_shares={
        "debt_consolidation": 0.34,
        "home_improvement": 0.16,
        "car": 0.18,
        "education": 0.08,
        "medical": 0.07,
        "business": 0.08,
        "other": 0.09,
    },
    missing_shares={
        "annual_income": 0.05,
        "years_employed": 0.08,
        "savings_balance": 0.03,
        "employment_type": 0.03,
    },
)

# The first quarter of 2024: incomes down 15 %, loans 20 % larger for the same income, rates
# 2 points higher (3 with the lower scores), credit scores 25 points lower, a new and the riskiest
# loan purpose ("crypto"), more missing values, and living costs that make a heavy instalment
# far riskier than it was in 2022-23 (concept drift).
PRODUCTION = CreditPeriod(
    first_day="2024-01-01",
    days=91,
    first_applicant_number=TRAINING_ROWS + 1,
    purpose_shares={
        "debt_consolidation": 0.31,
        "home_improvement": 0.13,
        "car": 0.16,
        "education": 0.07,
        "medical": 0.07,
        "business": 0.09,
        "other": 0.09,
        "crypto": 0.08,
    },
    income_factor=0.85,
    loan_amount_factor=1.20,
    interest_rate_shift=2.0,
    credit_score_shift=-25.0,
    living_cost_pressure=1.0,
    missing_shares={
        "annual_income": 0.15,
        "years_employed": 0.12,
        "savings_balance": 0.06,
        "employment_type": 0.06,
    },
)


def pick_per_row(
    rng: np.random.Generator, levels: Sequence[str], weights: np.ndarray
) -> np.ndarray:
    """One level per row, each row with its own (unnormalised) weights, shape (rows, levels)."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    chosen = (rng.random((len(weights), 1)) > cumulative).sum(axis=1)
    return np.asarray(levels, dtype=object)[np.minimum(chosen, len(levels) - 1)]


def pick(rng: np.random.Generator, shares: dict[str, float], rows: int) -> np.ndarray:
    """Draw `rows` levels with the given shares."""
    probabilities = np.array(list(shares.values()))
    return rng.choice(
        np.array(list(shares), dtype=object), rows, p=probabilities / probabilities.sum()
    )


def age_band(age: np.ndarray) -> np.ndarray:
    """Band ages into the groups a fairness review slices by."""
    bands = pd.cut(age, bins=AGE_BAND_EDGES, labels=AGE_BANDS)
    return np.asarray(bands.astype(str), dtype=object)


def draw_people(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Age, sex, family and education of the applicants."""
    age = np.clip(np.round(18 + rng.gamma(2.2, 9.0, rows)), 18, 80).astype(int)
    single = np.clip(1.4 - 0.03 * age, 0.1, 0.9)
    widowed = np.clip((age - 55) * 0.012, 0.0, 0.3)
    marital = pick_per_row(
        rng,
        ["single", "married", "divorced", "widowed"],
        np.column_stack([single, np.full(rows, 0.55), np.full(rows, 0.12), widowed]),
    )
    education = pick(
        rng,
        {"high_school": 30, "vocational": 18, "bachelor": 32, "master": 15, "doctorate": 5},
        rows,
    )
    education[(age < 24) & np.isin(education, ["master", "doctorate"])] = "bachelor"
    return pd.DataFrame(
        {
            "age": age,
            "age_band": age_band(age),
            "sex": pick(rng, {"female": 0.48, "male": 0.52}, rows),
            "marital_status": marital,
            "education": education,
        }
    )


def draw_work(rng: np.random.Generator, people: pd.DataFrame, period: CreditPeriod) -> pd.DataFrame:
    """Employment, years in the current job and yearly income."""
    rows, age = len(people), people["age"].to_numpy()
    employment = pick(
        rng, {"salaried": 0.66, "self_employed": 0.13, "contract": 0.15, "unemployed": 0.06}, rows
    )
    employment[(age >= 62) & (rng.random(rows) < 0.7)] = "retired"
    working = np.isin(employment, ["salaried", "self_employed", "contract"])
    years = np.where(working, np.minimum(rng.gamma(1.8, 3.5, rows), age - 18), 0.0)
    log_income = (
        10.75
        + people["education"].map(EDUCATION_INCOME).to_numpy()
        - 0.00045 * (age - 50) ** 2
        + 0.012 * np.minimum(years, 20)
        + rng.normal(0, 0.33, rows)
    )
    income = np.exp(log_income)
    income = np.where(employment == "unemployed", rng.normal(13_000, 3_000, rows), income)
    income = np.where(employment == "retired", rng.normal(27_000, 7_000, rows), income)
    income = np.maximum(income, 6_000) * period.income_factor
    return pd.DataFrame(
        {
            "employment_type": employment,
            "years_employed": np.round(years, 1),
            "annual_income": np.round(income, -2),
        }
    )


def draw_credit_history(
    rng: np.random.Generator, people: pd.DataFrame, period: CreditPeriod
) -> pd.DataFrame:
    """Credit score, credit lines, late payments, debt ratio and savings, all tied to one
    hidden financial health so that they move together as they do in real bureau files."""
    rows, age = len(people), people["age"].to_numpy()
    health = rng.normal(0, 1, rows)
    score = 665 + 58 * health + 0.9 * (age - 38) + rng.normal(0, 32, rows)
    score = np.clip(np.round(score + period.credit_score_shift), 300, 850)
    late = np.minimum(rng.poisson(np.exp(-0.35 - 0.75 * health)), 15)
    debt_ratio = np.clip(0.28 - 0.07 * health + rng.normal(0, 0.11, rows), 0.0, 0.95)
    savings = np.exp(8.2 + 0.9 * health + 0.02 * (age - 38) + rng.normal(0, 1.0, rows))
    return pd.DataFrame(
        {
            "credit_score": score.astype(int),
            "num_credit_lines": np.minimum(rng.poisson(2.0 + 0.07 * (age - 18)), 25),
            "num_late_payments": late,
            "debt_to_income": np.round(debt_ratio, 3),
            "savings_balance": np.round(savings, 0),
        }
    )


def draw_loan(
    rng: np.random.Generator, applicants: pd.DataFrame, period: CreditPeriod
) -> pd.DataFrame:
    """The loan asked for: purpose, amount, term, the rate offered and any guarantor."""
    rows = len(applicants)
    purpose = pick(rng, period.purpose_shares, rows)
    base = pd.Series(purpose).map(PURPOSE_BASE_AMOUNT).to_numpy()
    income_scale = np.sqrt(applicants["annual_income"].to_numpy() / 50_000)
    amount = base * income_scale * rng.lognormal(0, 0.45, rows) * period.loan_amount_factor
    amount = np.clip(np.round(amount, -2), 1_000, 100_000)
    terms = np.array([12, 24, 36, 48, 60])
    term_index = np.round(np.log(amount / 2_500) * 1.1 + rng.normal(0, 0.8, rows))
    term = terms[np.clip(term_index, 0, 4).astype(int)]
    rate = 4.0 + 0.042 * (800 - applicants["credit_score"].to_numpy()) + 0.25 * (term - 36) / 12
    rate = np.clip(rate + rng.normal(0, 1.0, rows) + period.interest_rate_shift, 2.5, 29.9)
    guarantor_chance = np.where(applicants["age"].to_numpy() <= 25, 0.25, 0.12)
    return pd.DataFrame(
        {
            "loan_purpose": purpose,
            "loan_amount": amount,
            "loan_term_months": term,
            "interest_rate": np.round(rate, 2),
            "has_guarantor": rng.random(rows) < guarantor_chance,
        }
    )


def draw_home(rng: np.random.Generator, applicants: pd.DataFrame) -> pd.DataFrame:
    """Home ownership (older and richer applicants own more) and region."""
    rows = len(applicants)
    age = applicants["age"].to_numpy()
    richer = np.log(applicants["annual_income"].to_numpy() / 40_000)
    weights = np.column_stack(
        [
            np.exp(1.0 - 0.04 * (age - 18) - 0.5 * richer),
            np.exp(0.2 + 0.03 * np.minimum(age - 18, 30) + 0.4 * richer),
            np.exp(-1.5 + 0.05 * (age - 18)),
            np.full(rows, 0.12),
        ]
    )
    region = {"north": 0.22, "south": 0.24, "east": 0.18, "west": 0.20, "central": 0.16}
    return pd.DataFrame(
        {
            "home_ownership": pick_per_row(rng, ["rent", "mortgage", "own", "other"], weights),
            "region": pick(rng, region, rows),
        }
    )


def monthly_payment_share(applicants: pd.DataFrame) -> np.ndarray:
    """The share of monthly income the new loan's instalment takes (annuity formula)."""
    monthly_rate = applicants["interest_rate"].to_numpy() / 1200
    months = applicants["loan_term_months"].to_numpy()
    amount = applicants["loan_amount"].to_numpy()
    payment = amount * monthly_rate / (1 - (1 + monthly_rate) ** -months)
    return payment / (applicants["annual_income"].to_numpy() / 12)


def default_risk(
    rng: np.random.Generator, applicants: pd.DataFrame, period: CreditPeriod
) -> np.ndarray:
    """True chance of default: driven by score, debt, late payments, income and the loan burden.

    The burden bites hardest above 30 % of income, which few training applicants reach, and
    living-cost pressure (production only) makes every instalment weigh more and the credit
    score say less, so a model trained on 2022-23 ranks 2024 applicants worse.
    """
    burden = monthly_payment_share(applicants)
    pressure = period.living_cost_pressure
    logit = (
        -2.75
        - 0.019 * (1 - 0.5 * pressure) * (applicants["credit_score"] - 665)
        + 4.0 * (applicants["debt_to_income"] - 0.28)
        + 0.45 * applicants["num_late_payments"]
        - 0.7 * np.log(applicants["annual_income"] / 45_000)
        + (2.5 + 6.0 * pressure) * (burden - 0.15)
        + 8.0 * (1 + pressure) * np.maximum(burden - 0.30, 0)
        - 0.04 * np.minimum(applicants["years_employed"], 15)
        - 0.55 * applicants["has_guarantor"]
        - 0.12 * np.log1p(applicants["savings_balance"] / 1_000)
        + applicants["loan_purpose"].map(PURPOSE_RISK)
        + applicants["employment_type"].map(EMPLOYMENT_RISK)
        + rng.normal(0, 0.3, len(applicants))
    )
    return 1 / (1 + np.exp(-logit.to_numpy()))


def record_default(
    rng: np.random.Generator, applicants: pd.DataFrame, period: CreditPeriod
) -> np.ndarray:
    """The label as the lender recorded it, with the planted bias.

    A repaid loan is recorded as a default 9 % of the time for women and 10 % of the time for
    applicants aged 18-25 (both: 1 - 0.91 * 0.90), and never for anyone else. Neither sex nor
    age band enters the true risk, so a gap a fairness review finds between applicants with
    otherwise similar features comes from this recording bias.
    """
    defaulted = rng.random(len(applicants)) < default_risk(rng, applicants, period)
    keep_chance = np.where(applicants["sex"] == BIASED_SEX, 1 - SEX_FLIP_RATE, 1.0)
    keep_chance *= np.where(applicants["age_band"] == BIASED_AGE_BAND, 1 - AGE_FLIP_RATE, 1.0)
    recorded_default = defaulted | (rng.random(len(applicants)) > keep_chance)
    return recorded_default.astype(int)


def application_dates(rng: np.random.Generator, rows: int, period: CreditPeriod) -> np.ndarray:
    """Sorted application days spread evenly over the period."""
    offsets = np.sort(rng.integers(0, period.days, rows))
    days = pd.Timestamp(period.first_day) + pd.to_timedelta(offsets, unit="D")
    return np.asarray(days.strftime("%Y-%m-%d"), dtype=object)


def hide_values(rng: np.random.Generator, frame: pd.DataFrame, shares: dict[str, float]) -> None:
    """Blank out the given share of each column, as incomplete application forms do."""
    for column, share in shares.items():
        frame.loc[rng.random(len(frame)) < share, column] = None


def add_duplicates(rng: np.random.Generator, frame: pd.DataFrame, total_rows: int) -> pd.DataFrame:
    """Resubmitted applications: exact copies, each placed right after its original."""
    copies = frame.iloc[np.sort(rng.choice(len(frame), total_rows - len(frame), replace=False))]
    both = pd.concat([frame, copies])
    return both.sort_values("applicant_id", kind="stable").reset_index(drop=True)


CREDIT_COLUMNS = [
    "applicant_id",
    "application_date",
    "age",
    "age_band",
    "sex",
    "marital_status",
    "education",
    "employment_type",
    "years_employed",
    "annual_income",
    "home_ownership",
    "region",
    "loan_purpose",
    "loan_amount",
    "loan_term_months",
    "interest_rate",
    "credit_score",
    "num_credit_lines",
    "debt_to_income",
    "num_late_payments",
    "savings_balance",
    "has_guarantor",
    "default",
]


def credit_applications(seed: int, rows: int, period: CreditPeriod) -> pd.DataFrame:
    """One period of credit applications with recorded labels, before duplicates."""
    rng = np.random.default_rng(seed)
    people = draw_people(rng, rows)
    applicants = pd.concat(
        [people, draw_work(rng, people, period), draw_credit_history(rng, people, period)], axis=1
    )
    applicants = pd.concat(
        [applicants, draw_loan(rng, applicants, period), draw_home(rng, applicants)], axis=1
    )
    applicants["default"] = record_default(rng, applicants, period)
    numbers = np.arange(period.first_applicant_number, period.first_applicant_number + rows)
    applicants["applicant_id"] = [f"A{number:06d}" for number in numbers]
    applicants["application_date"] = application_dates(rng, rows, period)
    applicants["has_guarantor"] = np.where(applicants["has_guarantor"], "true", "false")
    hide_values(rng, applicants, period.missing_shares)
    return applicants[CREDIT_COLUMNS]


def credit_training() -> pd.DataFrame:
    """24,000 applications from 2022-23 with labels, 1.5 % of them exact resubmissions."""
    unique_rows = round(TRAINING_ROWS * (1 - DUPLICATE_SHARE))
    applications = credit_applications(TRAINING_SEED, unique_rows, TRAINING)
    return add_duplicates(np.random.default_rng(TRAINING_SEED + 1), applications, TRAINING_ROWS)


def credit_production() -> pd.DataFrame:
    """6,000 applications from early 2024 with their later-known labels."""
    return credit_applications(PRODUCTION_SEED, PRODUCTION_ROWS, PRODUCTION)


NEIGHBOURHOODS = {
    # name: (share, km from centre, price per sqm, typical year built)
    "Old Town": (0.10, 1.0, 5200, 1905),
    "Harbour": (0.10, 2.5, 4800, 1995),
    "Riverside": (0.14, 3.5, 4300, 1960),
    "Hillcrest": (0.12, 6.0, 4600, 1975),
    "Northgate": (0.15, 7.0, 3100, 1968),
    "Meadowbrook": (0.14, 10.0, 3400, 1992),
    "Eastfield": (0.13, 12.0, 2600, 1980),
    "Westpark": (0.12, 14.0, 2900, 2008),
}
HOUSE_TYPES = {
    # name: (share, typical living area sqm, typical lot area sqm, price factor)
    "detached": (0.30, 160, 700, 1.10),
    "semi-detached": (0.22, 120, 350, 1.00),
    "terraced": (0.25, 100, 150, 0.95),
    "bungalow": (0.10, 110, 600, 1.00),
    "townhouse": (0.13, 130, 120, 1.05),
}
CONDITION_FACTOR = {"poor": 0.80, "fair": 0.92, "good": 1.0, "excellent": 1.12}
HEATING_FACTOR = {"gas": 1.0, "electric": 0.97, "heat_pump": 1.06, "oil": 0.95, "district": 1.02}


def lookup(names: np.ndarray, table: Mapping[str, Sequence[float]], position: int) -> np.ndarray:
    """One field of a table row, per row of names."""
    return np.array([table[name][position] for name in names], dtype=float)


def draw_houses(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Where the house is, what kind it is, how big and how old."""
    area = pick(rng, {name: row[0] for name, row in NEIGHBOURHOODS.items()}, rows)
    kind = pick(rng, {name: row[0] for name, row in HOUSE_TYPES.items()}, rows)
    living = lookup(kind, HOUSE_TYPES, 1) * rng.lognormal(0, 0.25, rows)
    lot = lookup(kind, HOUSE_TYPES, 2) * rng.lognormal(0, 0.35, rows)
    distance = lookup(area, NEIGHBOURHOODS, 1) * rng.lognormal(0, 0.25, rows)
    lot *= 0.7 + 0.06 * distance
    built = lookup(area, NEIGHBOURHOODS, 3) + rng.normal(0, 18, rows)
    bedrooms = np.clip(np.round(living / 40 + rng.normal(0, 0.6, rows)), 1, 7)
    bathrooms = np.clip(np.round((living / 70 + rng.normal(0, 0.4, rows)) * 2) / 2, 1, 5)
    return pd.DataFrame(
        {
            "neighbourhood": area,
            "house_type": kind,
            "living_area_sqm": np.round(living, 1),
            "lot_area_sqm": np.round(lot, 0),
            "bedrooms": bedrooms.astype(int),
            "bathrooms": bathrooms,
            "year_built": np.clip(np.round(built), 1850, 2024).astype(int),
            "distance_to_center_km": np.round(distance, 2),
            "garage_spaces": np.minimum(rng.poisson(0.25 + 0.08 * distance), 3),
        }
    )


def draw_upkeep(rng: np.random.Generator, houses: pd.DataFrame) -> pd.DataFrame:
    """Condition (older houses are more often worn) and heating (newer ones use heat pumps)."""
    age = 2024 - houses["year_built"].to_numpy()
    wear = np.clip(age / 120, 0, 1)
    condition = pick_per_row(
        rng,
        list(CONDITION_FACTOR),
        np.column_stack([0.05 + 0.2 * wear, 0.2 + 0.2 * wear, 0.5 - 0.1 * wear, 0.25 - 0.2 * wear]),
    )
    newer = (houses["year_built"].to_numpy() > 2005).astype(float)
    heating = pick_per_row(
        rng,
        list(HEATING_FACTOR),
        np.column_stack(
            [
                0.5 - 0.2 * newer,
                np.full(len(houses), 0.15),
                0.05 + 0.4 * newer,
                0.12 - 0.1 * newer,
                np.full(len(houses), 0.1),
            ]
        ),
    )
    return pd.DataFrame({"condition": condition, "heating": heating})


def house_price(
    rng: np.random.Generator, houses: pd.DataFrame, years_since_2021: np.ndarray
) -> np.ndarray:
    """Sale price: location, size (with diminishing returns), age, upkeep and the market trend."""
    age_factor = np.interp(
        houses["year_built"], [1850, 1930, 1965, 1995, 2024], [1.12, 1.04, 0.88, 0.97, 1.15]
    )
    price = (
        lookup(houses["neighbourhood"].to_numpy(), NEIGHBOURHOODS, 2)
        * houses["living_area_sqm"] ** 0.92
        * lookup(houses["house_type"].to_numpy(), HOUSE_TYPES, 3)
        * (1 + 0.08 * np.log1p(houses["lot_area_sqm"] / 200))
        * np.exp(-0.02 * houses["distance_to_center_km"])
        * houses["condition"].map(CONDITION_FACTOR)
        * houses["heating"].map(HEATING_FACTOR)
        * age_factor
        * 1.05**years_since_2021
        * rng.lognormal(0, 0.10, len(houses))
        + 9_000 * houses["garage_spaces"]
    )
    return np.round(price.to_numpy(), -3)


HOUSE_MISSING_SHARES = {
    "lot_area_sqm": 0.05,
    "year_built": 0.03,
    "garage_spaces": 0.02,
    "heating": 0.04,
}


def houses() -> pd.DataFrame:
    """8,000 house sales from 2021-24 with their prices."""
    rng = np.random.default_rng(HOUSES_SEED)
    frame = draw_houses(rng, HOUSE_ROWS)
    frame = pd.concat([frame, draw_upkeep(rng, frame)], axis=1)
    offsets = np.sort(rng.integers(0, 1461, HOUSE_ROWS))
    sale_dates = pd.Timestamp("2021-01-01") + pd.to_timedelta(offsets, unit="D")
    frame["price"] = house_price(rng, frame, offsets / 365.25)
    frame.insert(0, "sale_date", np.asarray(sale_dates.strftime("%Y-%m-%d"), dtype=object))
    frame.insert(0, "house_id", [f"H{number:05d}" for number in range(1, HOUSE_ROWS + 1)])
    hide_values(rng, frame, HOUSE_MISSING_SHARES)
    return frame


def whole_numbers_stay_whole(frame: pd.DataFrame) -> pd.DataFrame:
    """Write whole-number columns as 52000, not 52000.0, even where values are missing."""
    frame = frame.copy()
    for column in frame.select_dtypes("number").columns:
        values = frame[column]
        if values.dropna().mod(1).eq(0).all():
            frame[column] = values.astype("Int64")
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Plain UTF-8 CSV with Unix line ends, the same bytes on every platform."""
    whole_numbers_stay_whole(frame).to_csv(path, index=False, lineterminator="\n")


def write_all(out: Path) -> list[Path]:
    """Generate every sample dataset into `out` and return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    production = credit_production()
    files = {
        "credit.csv": credit_training(),
        "credit_production.csv": production.drop(columns="default"),
        "credit_production_labels.csv": production[["applicant_id", "default"]],
        "houses.csv": houses(),
    }
    for name, frame in files.items():
        write_csv(frame, out / name)
    return [out / name for name in files]


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write the sample datasets into --out (default: this folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    for path in write_all(parser.parse_args(argv).out):
        print(path)


if __name__ == "__main__":
    main()
