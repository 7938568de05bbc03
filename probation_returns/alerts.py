"""Alerts for data engineers: recorded once, written as a JSON line, and sent by e-mail or webhook.

A failed Dagster asset check does not fail its run, so nobody would hear of it; the alert sensor
(``assets/lib/alerting.py``) turns failed checks and failed runs into alerts here. Each alert is
stored once (its key is the Dagster event it came from, so a re-evaluated sensor tick adds
nothing), appended to ``<alerts dir>/alerts.jsonl``, and sent to whichever notifiers the
environment configures:

- ``RETURNS_ALERT_WEBHOOK_URL``: a JSON POST of the alert (Teams, Slack and most chat tools accept one);
- ``RETURNS_ALERT_SMTP_HOST`` (and ``_PORT``, default 25; ``_USER``/``_PASSWORD`` with STARTTLS
  when set), ``RETURNS_ALERT_EMAIL_FROM``, ``RETURNS_ALERT_EMAIL_TO`` (comma-separated).
A notifier that fails is recorded with the alert (``notify_error``); it never loses the alert.
Alerts carry asset, partition, check and run only: no identifiers of people.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from probation_returns import clock
from probation_returns.warehouse.db import session_scope
from probation_returns.warehouse.models import Alert as AlertRow

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str  # check_failed, run_failed
    title: str
    asset_key: str | None = None
    partition_key: str | None = None
    check_name: str | None = None
    run_id: str | None = None
    detail: dict = field(default_factory=dict)
    raised_at: str = field(default_factory=lambda: clock.now().isoformat(timespec="seconds"))

    def text(self) -> str:
        lines = [self.title, ""]
        for label, value in (
            ("Asset", self.asset_key),
            ("Partition", self.partition_key),
            ("Check", self.check_name),
            ("Run", self.run_id),
        ):
            if value:
                lines.append(f"{label}: {value}")
        lines += [f"{k}: {v}" for k, v in self.detail.items()]
        lines += ["", "What to do: open the run in the Dagster UI; docs/operations.md says what each check means."]
        return "\n".join(lines)


class Notifier:
    name = "notifier"

    def send(self, alert: Alert) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class WebhookNotifier(Notifier):
    name = "webhook"

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, alert: Alert) -> None:
        body = json.dumps({"text": alert.title, "alert": asdict(alert)}).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - URL from settings
            if response.status >= 300:
                raise OSError(f"webhook answered {response.status}")


class EmailNotifier(Notifier):
    name = "email"

    def __init__(self, host: str, port: int, sender: str, to: list[str], user: str = "", password: str = "") -> None:
        self.host, self.port, self.sender, self.to, self.user, self.password = host, port, sender, to, user, password

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[probation returns] {alert.title}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message.set_content(alert.text())
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
            if self.user:
                smtp.starttls()
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def notifiers(env: Mapping[str, str] | None = None) -> list[Notifier]:
    env = os.environ if env is None else env
    found: list[Notifier] = []
    if env.get("RETURNS_ALERT_WEBHOOK_URL"):
        found.append(WebhookNotifier(env["RETURNS_ALERT_WEBHOOK_URL"]))
    if env.get("RETURNS_ALERT_SMTP_HOST"):
        to = [a.strip() for a in env.get("RETURNS_ALERT_EMAIL_TO", "").split(",") if a.strip()]
        port = env.get("RETURNS_ALERT_SMTP_PORT", "25")
        if not port.isdigit():
            raise ValueError(f"RETURNS_ALERT_SMTP_PORT must be a port number, not {port!r}")
        if to:
            found.append(
                EmailNotifier(
                    env["RETURNS_ALERT_SMTP_HOST"],
                    int(port),
                    env.get("RETURNS_ALERT_EMAIL_FROM", "probation-returns@localhost"),
                    to,
                    env.get("RETURNS_ALERT_SMTP_USER", ""),
                    env.get("RETURNS_ALERT_SMTP_PASSWORD", ""),
                )
            )
    return found


def raise_alert(engine: Engine, alerts_dir: Path, alert: Alert, send: list[Notifier] | None = None) -> bool:
    """Record and send the alert; False when it was already recorded (nothing is sent twice)."""
    try:
        with session_scope(engine) as session:
            if session.scalar(select(AlertRow.id).where(AlertRow.alert_key == alert.key)) is not None:
                return False
            row = AlertRow(
                alert_key=alert.key,
                kind=alert.kind,
                title=alert.title[:300],
                asset_key=alert.asset_key,
                partition_key=alert.partition_key,
                check_name=alert.check_name,
                run_id=alert.run_id,
                detail=alert.detail,
                raised_at=dt.datetime.fromisoformat(alert.raised_at),
            )
            session.add(row)
    except IntegrityError:  # another process recorded the same alert between our look and our insert
        return False
    alerts_dir.mkdir(parents=True, exist_ok=True)
    with (alerts_dir / "alerts.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(asdict(alert), sort_keys=True) + "\n")
    sent, errors = [], []
    try:
        chosen = notifiers() if send is None else send
    except ValueError as exc:  # a mistyped setting: the alert is kept and says why it was not sent
        chosen, errors = [], [str(exc)]
    for notifier in chosen:
        try:
            notifier.send(alert)
            sent.append(notifier.name)
        except Exception as exc:  # noqa: BLE001 - a notifier's failure is recorded, never fatal
            errors.append(f"{notifier.name}: {type(exc).__name__}: {str(exc)[:200]}")
    with session_scope(engine) as session:
        row = session.scalar(select(AlertRow).where(AlertRow.alert_key == alert.key))
        row.notified_via = ",".join(sent) or None
        row.notify_error = "; ".join(errors) or None
    return True
