"""DateParts in ONNX: calendar arithmetic on epoch days, matching pandas exactly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.train.onnx import compat
from core.train.onnx.graph import _column, _constant, _node, _require_double, _side_by_side

# epoch days at hour boundaries are computed as epoch_days computes them, from nanoseconds
_NANOSECONDS_PER_DAY = 86_400e9
_NANOSECONDS_PER_HOUR = 3_600e9


def _date_parts_shape(operator: Any) -> None:
    model, source = operator.raw_operator, operator.inputs[0]
    width = model.n_features_in_ * len(model.parts)
    operator.outputs[0].type = compat.double_tensor([source.get_first_dimension(), width])


class _Doubles:
    """Arithmetic on double tensors where a plain number stands for a one-value constant, so
    the calendar formulas below read as formulas."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope = scope
        self.container = container
        self._constants: dict[float, str] = {}

    def __call__(self, op_type: str, *inputs: str | float, **attributes: Any) -> str:
        names = [self._named(value) for value in inputs]
        return _node(self.scope, self.container, op_type, names, **attributes)

    def floor_div(self, numerator: str, denominator: float) -> str:
        """Integer division; exact on whole-number doubles far below 2**53, as all are here."""
        return self("Floor", self("Div", numerator, denominator))

    def _named(self, value: str | float) -> str:
        if isinstance(value, str):
            return value
        if value not in self._constants:
            array = np.asarray([value], dtype=np.float64)
            self._constants[value] = _constant(self.scope, self.container, array, seed="number")
        return self._constants[value]


def _convert_date_parts(scope: Any, operator: Any, container: Any) -> None:
    """DateParts on epoch days (as onnx_input_values writes a date column): each column's
    parts side by side, in DateParts's order; a missing date gives NaN in every part."""
    source, model = operator.inputs[0], operator.raw_operator
    _require_double(source, "DateParts")
    ops = _Doubles(scope, container)
    blocks = []
    for index, reference in enumerate(model.reference_days_):
        days = _column(scope, container, source.full_name, index)
        days = ops("Where", ops("IsInf", days), math.nan, days)  # DateParts reads +/-inf as NaT
        blocks.extend(_date_parts(ops, days, tuple(model.parts), reference=float(reference)))
    _side_by_side(scope, container, blocks, output=operator.outputs[0].full_name)


def _date_parts(ops: _Doubles, days: str, parts: tuple[str, ...], *, reference: float) -> list[str]:
    """Each part as pandas gives it: weekday counts from Monday = 0, 1970-01-01 a Thursday."""
    whole = ops("Floor", days)
    civil = _civil_date(ops, whole) if {"year", "month", "day"} & set(parts) else {}
    found = []
    for part in parts:
        if part in civil:
            found.append(civil[part])
        elif part == "weekday":
            shifted = ops("Add", whole, 3.0)
            found.append(ops("Sub", shifted, ops("Mul", ops.floor_div(shifted, 7.0), 7.0)))
        elif part == "hour":
            found.append(_hour(ops, days, whole))
        else:  # days_since
            found.append(ops("Sub", days, reference))
    return found


def _civil_date(ops: _Doubles, whole: str) -> dict[str, str]:
    """Year, month and day of whole epoch days by Howard Hinnant's civil_from_days, which
    counts 400-year eras of 146097 days from 0000-03-01; NaN stays NaN."""
    z = ops("Add", whole, 719_468.0)
    era = ops.floor_div(z, 146_097.0)
    day_of_era = ops("Sub", z, ops("Mul", era, 146_097.0))  # [0, 146096]
    without_leap_days = ops(
        "Add",
        ops("Sub", day_of_era, ops.floor_div(day_of_era, 1_460.0)),
        ops("Sub", ops.floor_div(day_of_era, 36_524.0), ops.floor_div(day_of_era, 146_096.0)),
    )
    year_of_era = ops.floor_div(without_leap_days, 365.0)  # [0, 399]
    year_days = ops(
        "Add",
        ops("Mul", year_of_era, 365.0),
        ops("Sub", ops.floor_div(year_of_era, 4.0), ops.floor_div(year_of_era, 100.0)),
    )
    day_of_year = ops("Sub", day_of_era, year_days)  # [0, 365], from March 1
    month_from_march = ops.floor_div(ops("Add", ops("Mul", day_of_year, 5.0), 2.0), 153.0)
    month_start = ops.floor_div(ops("Add", ops("Mul", month_from_march, 153.0), 2.0), 5.0)
    day = ops("Add", ops("Sub", day_of_year, month_start), 1.0)
    march_to_december = ops("Less", month_from_march, 10.0)
    month = ops(
        "Where",
        march_to_december,
        ops("Add", month_from_march, 3.0),
        ops("Sub", month_from_march, 9.0),
    )
    march_year = ops("Add", year_of_era, ops("Mul", era, 400.0))
    # January and February belong to the next calendar year; NaN compares false and stays NaN
    year = ops("Where", march_to_december, march_year, ops("Add", march_year, 1.0))
    return {"year": year, "month": month, "day": day}


def _hour(ops: _Doubles, days: str, whole: str) -> str:
    """How many of the day's hour starts (1:00 to 23:00) the date has reached. Each start is
    written as epoch_days writes a time on the hour, one rounded division of whole
    nanoseconds, so such a time meets its own hour however the day's fraction rounds. Only a
    time under about a microsecond before the hour (or midnight) reads as that hour: its epoch
    days are the same double."""
    from onnx import TensorProto

    starts = np.arange(1, 24, dtype=np.float64).reshape(1, -1) * _NANOSECONDS_PER_HOUR
    offsets = _constant(ops.scope, ops.container, starts, seed="hours")
    midnight = ops("Mul", whole, _NANOSECONDS_PER_DAY)  # whole nanoseconds, exact
    bounds = ops("Div", ops("Add", midnight, offsets), _NANOSECONDS_PER_DAY)
    reached = ops("Cast", ops("GreaterOrEqual", days, bounds), to=TensorProto.DOUBLE)
    axes = _constant(ops.scope, ops.container, np.asarray([1], dtype=np.int64), seed="axes")
    hour = ops("ReduceSum", reached, axes, keepdims=1)
    return ops("Where", ops("IsNaN", days), days, hour)
