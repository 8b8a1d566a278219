"""The analysis of an audit: events → schedules, per-user fits, markers, risk tiers and
findings.

`analyse(columns, config=…, table=…)` is what the service and the offline CLI call. It splits
the users into partitions of bounded size (`split_by_user`), runs `analyse_partition` on each —
per-user work is independent and mechanic statistics are sums — and `merge`s them, so a large
audit never holds more than one partition's intermediate arrays, and partitioned runs give
the same report as a single one (quantile summaries are taken at merge time over the small
per-user table). The names below are the package's entry points.
"""

from models.analysis.audit import PartitionMap, analyse
from models.analysis.config import AnalysisConfig
from models.analysis.merge import Progress, merge
from models.analysis.partition import analyse_partition
from models.analysis.partitions import PartialAnalysis, iter_user_partitions, split_by_user
from models.analysis.record import USER_RECORD, user_row
from models.analysis.report import Analysis, MechanicReport
from models.analysis.table import UserTable

__all__ = [
    "USER_RECORD",
    "Analysis",
    "AnalysisConfig",
    "MechanicReport",
    "PartialAnalysis",
    "PartitionMap",
    "Progress",
    "UserTable",
    "analyse",
    "analyse_partition",
    "iter_user_partitions",
    "merge",
    "split_by_user",
    "user_row",
]
