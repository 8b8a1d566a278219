"""The validation bars: each a function that measures the audit's models on simulated products
with known answers and returns its figures, so the test suite asserts the same code at a smaller
size; `python -m validation.validate` measures and prints them all.
"""

from validation.validate.choice import CHOICE_MIN_SPEARMAN, choice_bar, choice_product
from validation.validate.engagement import (
    ALPHA_MIN_SPEARMAN,
    COVERAGE_RANGE,
    SIGN_MIN_SHARE,
    engagement_bar,
)
from validation.validate.field import field_bar
from validation.validate.markers import DISCOUNT_CASE, MARKER_CASES, MarkerCase
from validation.validate.reliability import (
    CALIBRATION_MAX_GAP,
    RELIABILITY_MIN_BIN_CALLS,
    calibration_holds,
)
from validation.validate.rules import rules_bar
from validation.validate.schedules import SCHEDULE_MIN_ACCURACY, schedule_bar

__all__ = [
    "ALPHA_MIN_SPEARMAN",
    "CALIBRATION_MAX_GAP",
    "CHOICE_MIN_SPEARMAN",
    "COVERAGE_RANGE",
    "DISCOUNT_CASE",
    "MARKER_CASES",
    "RELIABILITY_MIN_BIN_CALLS",
    "SCHEDULE_MIN_ACCURACY",
    "SIGN_MIN_SHARE",
    "MarkerCase",
    "calibration_holds",
    "choice_bar",
    "choice_product",
    "engagement_bar",
    "field_bar",
    "rules_bar",
    "schedule_bar",
]
