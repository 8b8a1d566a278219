"""Per-user choice model: Rescorla-Wagner values with a softmax choice rule (as hBayesDM
`bandit2arm_delta`, generalised to K options), fitted unit by unit (`fit_choice`) and, per
mechanic, as a population (`fit_population`).
"""

from models.choice.config import (
    FITTED,
    INSUFFICIENT_DATA,
    NO_VARIATION,
    STATUS_NAMES,
    ChoiceConfig,
    ChoiceFit,
)
from models.choice.population import ChoiceGrids, PopulationFit, fit_population
from models.choice.unit_fit import fit_choice, grid_axes

__all__ = [
    "FITTED",
    "INSUFFICIENT_DATA",
    "NO_VARIATION",
    "STATUS_NAMES",
    "ChoiceConfig",
    "ChoiceFit",
    "ChoiceGrids",
    "PopulationFit",
    "fit_choice",
    "fit_population",
    "grid_axes",
]
