"""What the areas' sensors and schedule share: how often sensors look, and whether automation starts on.

Sensors and the schedule that start work are stopped by default (switch them on in the UI, or set
``RETURNS_AUTOMATION=on``); the run failure alert sensor is always on.
"""

from __future__ import annotations

import os

import dagster as dg

# how often sensors look (seconds); tests set it low to see many ticks
SENSOR_INTERVAL = int(os.environ.get("RETURNS_SENSOR_INTERVAL", "60"))


def automation_status() -> dg.DefaultSensorStatus:
    on = os.environ.get("RETURNS_AUTOMATION", "").lower() in ("on", "1", "true")
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED
