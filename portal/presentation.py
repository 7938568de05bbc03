"""How the portal shows things: GOV.UK tag colours for a return's status, and what each download is called."""

from __future__ import annotations

from probation_returns.overview import BUILD_FILES
from reports.feedback import FILES

STATUS_TAGS = {  # status -> GOV.UK tag colour
    "Not sent": "grey",
    "Received": "blue",
    "Validating": "blue",
    "Accepted": "green",
    "Accepted with warnings": "green",
    "Accepted with record rejections": "yellow",
    "Rejected": "red",
    "Processing failed": "red",
}

FEEDBACK_DOWNLOADS = {  # feedback file -> what a clerk is told it is
    "feedback.xlsx": "Feedback workbook (Excel)",
    "findings.csv": "Every finding (CSV)",
    "feedback.html": "Feedback page to keep (HTML)",
    "summary.json": "Summary (JSON)",
    "validation_result.json": "Validation result (Great Expectations JSON)",
}
assert set(FEEDBACK_DOWNLOADS) == set(FILES)

BUILD_DOWNLOADS = {  # what a build holds that a contract manager may download (name -> what it is)
    "workbook": "The ministry return (Excel workbook)",
    "service_levels.csv": "Service levels (CSV)",
    "reoffending.csv": "Reoffending (CSV)",
    "payments.csv": "Payments (CSV)",
    "data_quality.csv": "Data quality (CSV)",
    "integrity.csv": "Integrity signals (CSV; internal copy only)",
    "credibility.csv": "Credibility report (CSV; internal copy only)",
    "submissions.csv": "Submissions (CSV)",
    "data_dictionary.csv": "Data dictionary (CSV)",
    "manifest.json": "Manifest: inputs, versions and checksums (JSON)",
}
assert tuple(BUILD_DOWNLOADS) == BUILD_FILES
