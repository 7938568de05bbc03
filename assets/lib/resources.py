"""Resources: the warehouse and the folders the service reads and writes."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

from probation_returns.staging import tidy
from probation_returns.warehouse.db import database_url, engine_for


class Warehouse(dg.ConfigurableResource):
    """The warehouse database; an empty ``url`` means ``RETURNS_DATABASE_URL`` or ``var/returns.db``."""

    url: str = ""

    @cached_property
    def engine(self) -> Engine:
        return engine_for(self.url or database_url())


class Folders(dg.ConfigurableResource):
    """Where returns land, where their bytes are archived, and where outputs are written."""

    landing: str = ""
    archive: str = ""
    output: str = ""
    extract: str = ""  # a reoffending extract to use; empty: the latest reoffending_*.csv in the landing folder
    quarter_subfolders: bool = True  # outputs under output/<quarter>/ (False: straight into output/)
    alerts: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Every run starts by removing what killed writers left under a temporary name, wherever it is."""
        removed = tidy(self.output_path, self.archive_path, self.landing_path)
        if removed and context.log:
            context.log.info(f"Removed {len(removed)} temporary file(s) left by a killed run")

    def _path(self, value: str, env: str, default: str) -> Path:
        return Path(value or os.environ.get(env) or default)

    @property
    def landing_path(self) -> Path:
        return self._path(self.landing, "RETURNS_LANDING", "var/landing")

    @property
    def archive_path(self) -> Path:
        return self._path(self.archive, "RETURNS_ARCHIVE", "var/archive")

    @property
    def output_path(self) -> Path:
        return self._path(self.output, "RETURNS_OUTPUT", "var/output")

    @property
    def alerts_path(self) -> Path:
        return self._path(self.alerts, "RETURNS_ALERTS", "var/alerts")

    def quarter_output(self, quarter) -> Path:
        return self.output_path / str(quarter) if self.quarter_subfolders else self.output_path

    @property
    def extract_path(self) -> Path | None:
        if self.extract:
            return Path(self.extract)
        from probation_returns.measures.reoffending_extract import latest

        return latest(self.landing_path)
