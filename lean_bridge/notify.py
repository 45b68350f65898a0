"""The AlertSink in LEAN: every alert goes to the algorithm's log (CRITICAL and WARNING also to `error` /
`debug`, so they show in the console and the cloud's runtime panel); in live mode, alerts at or above
`alert_notify_level` also go out through `self.notify` to the addresses set by parameters. QuantConnect
ignores `notify` in backtests, and the addresses are never logged (core/settings marks them secret)."""

from __future__ import annotations

import json

from AlgorithmImports import QCAlgorithm
from core.ports import AlertLevel
from core.settings import Settings

RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}
SMS_LIMIT = 160


class LeanAlerts:
    def __init__(self, algorithm: QCAlgorithm, settings: Settings) -> None:
        self.algorithm = algorithm
        self.settings = settings
        self.failures = 0  # notify calls the platform refused (logged, never raised)

    def send(self, level: AlertLevel, title: str, body: str) -> None:
        line = f"[{level.value}] {title}: {body}"
        if level is AlertLevel.CRITICAL:
            self.algorithm.error(line)
        elif level is AlertLevel.WARNING:
            self.algorithm.debug(line)
        self.algorithm.log(line)
        if self.algorithm.live_mode and self._goes_out(level):
            self._notify(level, title, body)

    def _goes_out(self, level: AlertLevel) -> bool:
        wanted = self.settings.alert_notify_level
        return wanted != "OFF" and RANK[level] >= RANK[AlertLevel(wanted)]

    def _notify(self, level: AlertLevel, title: str, body: str) -> None:
        s, notify = self.settings, self.algorithm.notify
        subject = f"[{level.value}] options-income: {title}"
        sent: list[bool] = []
        if s.alert_email:
            sent.append(notify.email(s.alert_email, subject, body))
        if s.alert_sms:
            sent.append(notify.sms(s.alert_sms, f"{subject}: {body}"[:SMS_LIMIT]))
        if s.alert_telegram_id:
            sent.append(notify.telegram(s.alert_telegram_id, f"{subject}\n{body}"))
        if s.alert_webhook_url:
            payload = json.dumps({"level": level.value, "title": title, "body": body})
            sent.append(notify.web(s.alert_webhook_url, payload))
        refused = sent.count(False)
        if refused:
            self.failures += refused
            self.algorithm.error(f"notify: {refused} of {len(sent)} alert channels refused '{title}'")
