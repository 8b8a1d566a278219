"""Per-user engagement model: does reward prediction error drive continuing a session? After
each response the user continues the session or stops, P(cₜ = 1) = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ),
with Vₜ₊₁ and δₜ from Rescorla-Wagner at the user's learning rate α; the package fits it unit
by unit (`fit_engagement`) and, per mechanic, as a population (`fit_population`).
"""

from models.engagement.grids import EngagementGrids, PopulationConfig
from models.engagement.population import EngagementPopulation, fit_population
from models.engagement.unit_fit import (
    FITTED,
    INSUFFICIENT_DATA,
    NO_REWARDS,
    NO_VARIATION,
    STATUS_NAMES,
    EngagementConfig,
    EngagementFit,
    fit_engagement,
)

__all__ = [
    "FITTED",
    "INSUFFICIENT_DATA",
    "NO_REWARDS",
    "NO_VARIATION",
    "STATUS_NAMES",
    "EngagementConfig",
    "EngagementFit",
    "EngagementGrids",
    "EngagementPopulation",
    "PopulationConfig",
    "fit_engagement",
    "fit_population",
]
