"""Resources: the warehouse and the folders the service reads and writes."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

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
