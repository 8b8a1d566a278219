"""The decision table and its evaluation: the table is data (`DecisionTable`, its rows `Rule` with
named thresholds, versioned by a digest of its content; `DEFAULT_TABLE` ships with the product),
and `evaluate` / `assess` apply a table to the facts of one mechanic (`MechanicFacts`) and
return its findings.
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
