"""The decision table: data, versioned by a digest of its content.

Each row is a `Rule` — the seed's situation and insight, a recommendation, a base severity,
references, and its thresholds as named data with a rationale and a reference. `evaluate`
takes the table as an argument (tests and deployments inject tables, never patch code) and
the facts of one mechanic, and returns the findings. The condition of each rule is a small
function keyed by the rule id; everything numeric it compares against comes from the table,
so `with_overrides({"loss-chasing.min_share": 0.2})` yields a new table with a new version.
"""

from models.rules.default_table import DEFAULT_TABLE
from models.rules.evaluation import assess, evaluate
from models.rules.facts import Finding, MechanicFacts, NotAssessable
from models.rules.table import SEVERITIES, DecisionTable

__all__ = [
    "DEFAULT_TABLE",
    "SEVERITIES",
    "DecisionTable",
    "Finding",
    "MechanicFacts",
    "NotAssessable",
    "assess",
    "evaluate",
]
