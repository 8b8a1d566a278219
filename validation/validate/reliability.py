"""Bar 7: the reliability of the calibrated schedule confidence."""

from __future__ import annotations

from models.calibration import Reliability

# calibrated confidence: over all calls, mean confidence within 0.05 of the share right, and in
# every bin with at least 30 calls the Wilson 95 % interval of the share right contains the
# bin's mean confidence
CALIBRATION_MAX_GAP = 0.05


RELIABILITY_MIN_BIN_CALLS = 30


def calibration_holds(table: Reliability) -> bool:
    """The reliability bar: calibration in the large within CALIBRATION_MAX_GAP, and every bin
    of ≥ RELIABILITY_MIN_BIN_CALLS calls covers its mean confidence."""
    return abs(table.in_the_large) <= CALIBRATION_MAX_GAP and all(
        b.covers for b in table.bins if b.calls >= RELIABILITY_MIN_BIN_CALLS
    )
