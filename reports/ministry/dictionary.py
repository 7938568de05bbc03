"""``data_dictionary.csv``: every column of every CSV in the return, what it means, its unit and markers.

Written into every build (both copies), from this one declaration; a test holds it to the files.
"""

from __future__ import annotations

import polars as pl

from reports.ministry.tidy import MARKED, marker

PROPORTION = "proportion from 0 to 1"
GBP = "pounds sterling, 2 decimal places"
PERSONS = "count of people"

_COMMON = [
    ("quarter", "The quarter this return reports, YYYYQn (calendar quarters).", "text"),
    (
        "provider_code",
        "Provider code (C01-C21 CRCs, N01-N07 NPS divisions); on total rows CRC (all CRCs), NPS "
        "(all NPS divisions) or ALL (England and Wales).",
        "text",
    ),
    (
        "provider_name",
        "Provider name, or the name of the total with how many providers its figures cover "
        "(All CRCs (18 of 21 with figures)).",
        "text",
    ),
]
_COLUMNS = {
    "service_levels": _COMMON
    + [
        ("measure", "Service level or reported measure code (definitions in the workbook's Notes sheet).", "text"),
        ("numerator", "Cases (or case-months, breaches, contacts) in the population that met the measure.", "count"),
        ("denominator", "Cases (or case-months, breaches, contacts) in the measure's population.", "count"),
        (
            "performance",
            "Numerator / denominator, rounded half up to 3 decimal places (0.1 percentage point); "
            "below target, rounded down, so a missed measure never shows its target.",
            PROPORTION,
        ),
        ("target", "The contractual target (empty for reported-only measures).", PROPORTION),
        (
            "status",
            "met, missed, insufficient volume (below the minimum volume: no credit), no valid return (nothing "
            "measured; credits charged as if 0%), reported (no target), not applicable (a measure for CRCs "
            "only, on an NPS division's row), total (a total row).",
            "text",
        ),
        ("credit_gbp", "Service credit for the measure (CRCs only), before the decision.", GBP),
        (
            "credit_decision",
            "How the credit line is treated: applied (deducted from the fee), waived or reinvested (not deducted).",
            "text",
        ),
        ("parameter_version", "Version of the contract parameters (targets, fees, caps) used.", "text"),
    ],
    "reoffending": _COMMON
    + [
        ("cohort_quarter", "Quarter whose offenders form the cohort.", "text"),
        ("cohort_size", "People in the cohort.", PERSONS),
        ("reoffenders", "People in the cohort with at least one proven reoffence within the follow-up.", PERSONS),
        ("reoffences", "Proven reoffences committed by the cohort within the follow-up.", "count of offences"),
        ("binary_rate", "Reoffenders / cohort size, 4 decimal places.", PROPORTION),
        ("frequency_rate", "Reoffences / reoffenders, 3 decimal places.", "reoffences per reoffender"),
        ("mean_p1", "Mean expected one-year reoffending probability (OGRS3) of the cohort.", PROPORTION),
        ("adjusted_binary_rate", "Binary rate adjusted for case mix to the baseline cohort.", PROPORTION),
        ("baseline_binary_rate", "The provider's contractual baseline binary rate.", PROPORTION),
        ("baseline_frequency_rate", "The provider's contractual baseline frequency.", "reoffences per reoffender"),
        (
            "z",
            "(adjusted binary - baseline) / standard error; at most -1.96 or at least 1.96 is significant.",
            "standard deviations",
        ),
        ("significance", "significant reduction, significant increase or not significant.", "text"),
        (
            "result",
            "final (follow-up complete; paid), interim (never paid), no valid return (no cohort: the "
            "provider's return does not count) or no result yet (no reoffending extract covers it).",
            "text",
        ),
        ("outcome_payment_gbp", "Outcome payment for the cohort (negative: a deduction); final results only.", GBP),
        ("extract_as_of", "Date of the reoffending extract the figures come from.", "date, YYYY-MM-DD"),
        ("parameter_version", "Version of the contract parameters used.", "text"),
    ],
    "payments": _COMMON
    + [
        ("quarterly_fee_gbp", "The provider's contractual fee for the quarter.", GBP),
        ("service_credits_gbp", "Sum of the provider's credit lines in service_levels.csv.", GBP),
        ("credits_waived_gbp", "Credit lines waived by the contract manager (not deducted).", GBP),
        ("credits_reinvested_gbp", "Credit lines reinvested in services (not deducted).", GBP),
        ("credits_applied_gbp", "Credit lines applied (deducted from the fee).", GBP),
        ("outcome_payments_gbp", "Outcome payment for the quarter's final reoffending result.", GBP),
        ("net_gbp", "Quarterly fee - applied credits + outcome payments.", GBP),
        ("parameter_version", "Version of the contract parameters used.", "text"),
    ],
    "data_quality": _COMMON
    + [
        (
            "submission_id",
            "The submission whose validation is shown (the one that counts, else the latest).",
            "identifier",
        ),
        (
            "table",
            "cases, contacts or breaches; 'whole return' for findings about the return's files rather "
            "than a table (file names, files sent beside the return).",
            "text",
        ),
        (
            "file",
            "What happened to the table's file, by the name it was sent under: 'read' (its rows are in "
            "rows), 'read; its records were not checked' (the return could not be used), 'could not be read' "
            "and why, 'not sent', 'no return' or 'not validated'.",
            "text",
        ),
        (
            "rows",
            "Records in the table as sent (empty when the file was not sent or could not be read).",
            "count of records",
        ),
        (
            "rejected_records",
            "Records not used because they break an error rule (or their case was rejected); "
            "empty when the records were not checked.",
            "count of records",
        ),
        ("errors", "Error and fatal findings in the table (or about the whole return).", "count of findings"),
        ("warnings", "Warning findings in the table (or about the whole return).", "count of findings"),
        ("top_rules", "The most frequent rules in the table, with their finding counts ('none': no finding).", "text"),
        (
            "rejected_because",
            "For a rejected return, why: each fatal rule and what it checks (fatal at any "
            "count), or each table with more records rejected than the contract allows; empty "
            "when the return was not rejected.",
            "text",
        ),
    ],
    "submissions": _COMMON
    + [
        ("submission_id", "The latest submission of the quarter (empty: none).", "identifier"),
        ("version", "Its version (1 for the first delivery).", "count"),
        (
            "delivered_at",
            "When it arrived in the landing area or portal; decides lateness.",
            "date-time, UTC, ISO 8601",
        ),
        (
            "received_at",
            "When the service took it in (later than delivered_at for a backlog or a rerun).",
            "date-time, UTC, ISO 8601",
        ),
        ("files", "File names as sent, separated by ';'.", "text"),
        (
            "file_sha256",
            "Each file's own SHA-256 checksum and name as `sha256sum` prints them for the file the "
            "provider holds, separated by '; '.",
            "hexadecimal and text",
        ),
        (
            "return_identity",
            "The return's identity: SHA-256 over its parts (each part's name and checksum), "
            "which is the same when the same files are sent under other names; not a checksum "
            "of any one file.",
            "hexadecimal",
        ),
        ("status", "received, validated or superseded (no return: none was sent).", "text"),
        (
            "outcome",
            "Validation outcome: Accepted, Accepted with warnings, Accepted with record rejections or Rejected.",
            "text",
        ),
        ("counted", "Whether a submission counts for the quarter, and why not.", "text"),
        ("counted_submission_id", "The submission whose data the figures use (empty: none counts).", "identifier"),
        (
            "provider_signed_off",
            "yes when the provider's accountable officer declared the version that counts an accurate account of "
            "the provider's work before this build; no otherwise (an unsigned return, or none counts).",
            "text",
        ),
        ("provider_signed_off_on", "The date of that sign-off (empty: not signed off).", "date, UTC, ISO 8601"),
        (
            "open_queries",
            "The provider's queries on its findings for the quarter that the contract manager had not yet "
            "accepted or rejected when this build was made.",
            "count",
        ),
    ],
    "integrity": [
        _COMMON[0],
        ("provider_code", "Provider code (C01-C21 CRCs, N01-N07 NPS divisions).", "text"),
        ("provider_name", "Provider name.", "text"),
        (
            "signal",
            "Integrity signal: deadline_heaping, exclusion_drift, contact_intensity, case_mix_drift, late_flip or "
            "binary_vs_frequency "
            "(docs/integrity.md). Information for a contract manager: never a rejection, never a change to the money.",
            "text",
        ),
        (
            "measure",
            "What the signal looks at: a service level code (deadline_heaping), successful_completion "
            "(exclusion_drift), a risk of serious harm band rosh_low, rosh_medium or rosh_high (contact_intensity), "
            "ogrs3_mean or rosh_mix (case_mix_drift), deadline_dates or missed_to_met (late_flip), binary_rate or "
            "frequency (binary_vs_frequency).",
            "text",
        ),
        (
            "count",
            "What the statistic is computed over: events made in time, community order terminations, contacts, "
            "new cases, changed fields (deadline_dates), service levels missed before (missed_to_met), people in the "
            "cohort (binary_rate) or reoffenders (frequency) (empty: no accepted return, one version only, or no "
            "reoffending result).",
            "count",
        ),
        (
            "statistic",
            "The provider's figure: a proportion from 0 to 1 (share on the due day, share excluded, share in "
            "person, share of changed fields that are deadline dates, binary reoffending rate), a mean OGRS3 score "
            "(ogrs3_mean), a population stability index (rosh_mix), a number of service levels (missed_to_met) or "
            "reoffences per reoffender (frequency).",
            "proportion, score or index (see measure), 4 decimal places",
        ),
        (
            "expected",
            "The same figure for what it is compared with (compared_with); for rosh_mix 0, no shift.",
            "as statistic",
        ),
        (
            "threshold",
            "Where the signal flags: at or above it (deadline_heaping, exclusion_drift, case_mix_drift, whose "
            "ogrs3_mean also flags as far below expected, late_flip, binary_vs_frequency's frequency), at or below "
            "it (contact_intensity, binary_vs_frequency's binary_rate).",
            "as statistic",
        ),
        ("z", "The test statistic, in standard deviations (empty: too few to test, or not a test).", "number"),
        (
            "compared_with",
            "What expected comes from: other providers this quarter, the provider's previous quarters, or why "
            "nothing was compared.",
            "text",
        ),
        ("flagged", "yes: the statistic is past its threshold; no: it is not, or there were too few to judge.", "text"),
        ("explanation", "The signal in plain words, with its counts and threshold.", "text"),
    ],
    "credibility": [
        _COMMON[0],
        ("provider_code", "Provider code (C01-C21 CRCs, N01-N07 NPS divisions).", "text"),
        ("provider_name", "Provider name.", "text"),
        (
            "family",
            "The kind of figure: totals, sentence_type, rosh_level, ogrs3_band, age_band, offence_group, contact_type, "
            "contact_outcome, termination_reason, service_level or vanished_cases (docs/credibility.md). Information "
            "for a contract manager: never a rejection, never a change to the money.",
            "text",
        ),
        ("figure", "The figure: a category of the family, mix (the whole distribution), or a measure code.", "text"),
        ("count", "The count this quarter (a share's or a service level's numerator).", "count"),
        ("base", "What count is a share of (a service level's denominator); empty for a plain count.", "count"),
        (
            "value",
            "This quarter's figure: a count; a share or rate from 0 to 1 (count / base); for mix, the population "
            "stability index of the distribution against last quarter's.",
            "count, proportion or index (see family), 4 decimal places",
        ),
        ("q_minus_1", "The same figure last quarter (empty: no accepted return that quarter).", "as value"),
        ("q_minus_2", "The same figure two quarters before.", "as value"),
        ("q_minus_3", "The same figure three quarters before.", "as value"),
        ("q_minus_4", "The same figure four quarters before (mix and vanished_cases: not computed).", "as value"),
        (
            "national",
            "The same figure over every provider's accepted return this quarter, pooled; for mix, the index of the "
            "provider's distribution against the national one.",
            "as value",
        ),
        (
            "change",
            "value against q_minus_1: a relative change for totals (0.25 = 25% up), a difference in proportion "
            "points for shares and rates, a difference in cases for vanished_cases; empty for mix.",
            "number",
        ),
        ("change_vs_mean", "The same against the mean of the previous quarters there are (up to four).", "number"),
        (
            "threshold",
            "Where the figure flags: the size of change (totals, shares, rates), the index (mix) or the number of "
            "cases (vanished_cases); parameters/credibility.toml.",
            "as change",
        ),
        ("test", "The statistical test: Poisson z, two-proportion z, PSI, or count and share.", "text"),
        ("statistic", "The test's statistic (empty: not compared, or too few to test).", "number"),
        (
            "flagged",
            "yes: the change passes both its threshold and its test; no: it does not, or too little to judge.",
            "text",
        ),
        ("explanation", "The figure in plain words, with its counts and threshold.", "text"),
    ],
}
MARKERS = {
    "[c]": "confidential (publication copy only)",
    "[x]": "not available (no valid return, no result yet, a table's file not sent or not read, or its "
    "records not checked)",
    "[z]": "not applicable",
}


def entries(columns: dict[str, list[str]]) -> list[tuple[str, str, str, str, str]]:
    """(file, column, meaning, unit, markers) for the columns the files have, in file order."""
    declared = {(f, c): (m, u) for f, cols in _COLUMNS.items() for c, m, u in cols}
    out = []
    for name, cols in columns.items():
        for column in cols:
            if column.endswith("_marker"):
                of = column.removesuffix("_marker")
                out.append(
                    (
                        f"{name}.csv",
                        column,
                        f"Why {of} is empty: one of the markers listed (empty when it has a value).",
                        "marker",
                        "[c] [x] [z]",
                    )
                )
                continue
            meaning, unit = declared[(name, column)]
            marks = "see " + marker(column) if column in MARKED.get(name, ()) else ""
            out.append((f"{name}.csv", column, meaning, unit, marks))
    return out


def frame(columns: dict[str, list[str]]) -> pl.DataFrame:
    rows = entries(columns) + [
        ("(all files)", symbol, meaning, "marker", symbol) for symbol, meaning in MARKERS.items()
    ]
    return pl.DataFrame(
        rows,
        schema={"file": pl.String, "column": pl.String, "meaning": pl.String, "unit": pl.String, "markers": pl.String},
        orient="row",
    )
