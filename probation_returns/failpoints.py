"""Named moments where a test may hold a process on purpose, to kill it there (fault injection).

``RETURNS_FAILPOINT=NAME[:SECONDS]`` makes the process wait SECONDS (default 60) when it reaches the
moment NAME; unset, as in every real run, ``reached`` does nothing. The crash suite uses it for writes
that last too short a time for a kill timed from outside to land in them.
"""

from __future__ import annotations

import os
import time

EXTRACT_FINDINGS = "extract-findings"  # the extract's findings staging file exists, nothing written yet
UPLOAD_CLAIMED = "upload-claimed"  # a portal upload claimed by an intake worker, its run not started


def reached(name: str) -> None:
    wanted, _, seconds = os.environ.get("RETURNS_FAILPOINT", "").partition(":")
    if wanted == name:
        time.sleep(float(seconds or 60))
