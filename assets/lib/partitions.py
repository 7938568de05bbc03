"""Partitions, declared once.

Dagster has no quarterly partition, so a quarter is a time window starting on its first day:
partition key ``2017-07-01`` is quarter ``2017Q3``. A provider return is keyed by quarter and
provider code (a multi-partition; Dagster writes its key ``C14|2017-07-01``). A quarter's asset that reads
every provider's return maps all of the quarter's return partitions to it (``ALL_PROVIDERS_OF_QUARTER``).
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from probation_returns.calendar import Quarter
from probation_returns.parameters import FIRST_QUARTER, last_quarter
from probation_returns.reference import providers

LAST_QUARTER = last_quarter()  # the last quarter with contract terms (2021Q1: the contracts ended)

quarter_partitions = dg.TimeWindowPartitionsDefinition(
    start=FIRST_QUARTER.first_day.isoformat(),
    end=(LAST_QUARTER + 1).first_day.isoformat(),  # without an end Dagster counts quarters up to today as missing
    cron_schedule="0 0 1 1,4,7,10 *",
    fmt="%Y-%m-%d",
    timezone="Europe/London",
)
provider_partitions = dg.StaticPartitionsDefinition(list(providers()))
return_partitions = dg.MultiPartitionsDefinition({"quarter": quarter_partitions, "provider": provider_partitions})

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # the mapping is beta but is the documented way
    ALL_PROVIDERS_OF_QUARTER = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="quarter")


def quarter_key(quarter: Quarter | str) -> str:
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    return q.first_day.isoformat()


def quarter_of(key: str) -> Quarter:
    return Quarter.containing(dt.date.fromisoformat(key))


def return_key(quarter: Quarter | str, provider: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"quarter": quarter_key(quarter), "provider": provider})


def split_return_key(context: dg.AssetExecutionContext) -> tuple[Quarter, str]:
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    return quarter_of(keys["quarter"]), keys["provider"]


def partitioned_check(
    name: str, asset: str, partitions_def: dg.PartitionsDefinition, description: str
) -> dg.AssetCheckSpec:
    """A check evaluated per partition, so the UI shows each return's (or quarter's) own result.

    Partitioned checks are a preview feature of Dagster 1.13 (uv.lock pins the version); its warning
    is silenced here, once, rather than printed by every process that loads the definitions.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=partitions_def, description=description)
