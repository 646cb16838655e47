"""One sender per destination type. Each takes plain values (URLs, secrets, an SMTP factory);
``tasks/alert_blocks.py`` builds them from Prefect blocks and secret sources.

A failed send raises ``DeliveryError`` whose message is the kind of failure only (HTTP status,
exception class): webhook URLs and tokens are secrets and never reach a log or the lake.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from vigil.alerts import messages, signing
from vigil.alerts.messages import AlertMessage

DEFAULT_TIMEOUT_S = 10.0
USER_AGENT = "vigil-alerts/1"


class DeliveryError(RuntimeError):
    """A message was not delivered; the text never holds a URL, token or secret."""


class Sender(Protocol):
    """Delivers one grouped message or raises ``DeliveryError``."""

    def send(self, message: AlertMessage) -> None: ...


def _post(url: str, *, content: bytes, headers: dict[str, str], timeout: float) -> httpx.Response:
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = client.post(url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"request failed ({type(exc).__name__})") from None
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}")
    return response


def _json(payload) -> bytes:
    import json  # noqa: PLC0415

    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


@dataclass
class SlackSender:
    """Slack incoming webhook (the URL comes from a Prefect ``SlackWebhook`` block)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT_S

    def send(self, message: AlertMessage) -> None:
        response = _post(self.url, content=_json(messages.slack_payload(message)),
                         headers={"Content-Type": "application/json"}, timeout=self.timeout)
        if response.text.strip() not in ("", "ok"):
            raise DeliveryError("Slack did not answer ok")


@dataclass
class TeamsSender:
    """Microsoft Teams Workflows webhook (URL from a Prefect ``MicrosoftTeamsWebhook`` block)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT_S

    def send(self, message: AlertMessage) -> None:
        _post(self.url, content=_json(messages.teams_payload(message)),
              headers={"Content-Type": "application/json"}, timeout=self.timeout)


@dataclass
class NotifySender:
    """Any notifier taking ``(body, subject)``: a Prefect ``CustomWebhookNotificationBlock``'s
    ``notify``, which renders its own template with ``{{subject}}`` and ``{{body}}``."""

    notify: Callable[[str, str], None]

    def send(self, message: AlertMessage) -> None:
        try:
            self.notify(messages.text_body(message), messages.title(message))
        except Exception as exc:  # noqa: BLE001 - the notifier's exception may quote its URL
            status = getattr(getattr(exc, "response", None), "status_code", None)
            raise DeliveryError(f"HTTP {status}" if status else f"notify failed ({type(exc).__name__})") from None


@dataclass
class EmailSender:
    """E-mail through SMTP; ``connect`` returns a connected (and logged-in) ``smtplib.SMTP``,
    e.g. a Prefect ``EmailServerCredentials`` block's ``get_server``."""

    connect: Callable[[], smtplib.SMTP]
    sender: str
    recipients: tuple[str, ...]

    def send(self, message: AlertMessage) -> None:
        mail = messages.email_message(message, self.sender, self.recipients)
        try:
            server = self.connect()
            try:
                refused = server.send_message(mail)
            finally:
                try:
                    server.quit()
                except smtplib.SMTPException:
                    pass
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP failed ({type(exc).__name__})") from None
        if refused:
            raise DeliveryError(f"SMTP refused {len(refused)} recipient(s)")


@dataclass
class WebhookSender:
    """Generic webhook: JSON body signed with HMAC-SHA256 (see ``vigil.alerts.signing``)."""

    url: str
    secret: bytes
    timeout: float = DEFAULT_TIMEOUT_S

    def send(self, message: AlertMessage) -> None:
        body = messages.webhook_body(message)
        _post(self.url, content=body, headers=signing.sign(self.secret, body, message.key),
              timeout=self.timeout)


@dataclass
class SplunkHecSender:
    """Splunk HTTP Event Collector: one event per alert in one request."""

    url: str
    token: str
    index: str | None = None
    sourcetype: str = "vigil:incident"
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/services/collector/event") else f"{base}/services/collector/event"

    def send(self, message: AlertMessage) -> None:
        body = messages.hec_body(message, index=self.index, sourcetype=self.sourcetype)
        headers = {"Authorization": f"Splunk {self.token}", "Content-Type": "application/json",
                   # a channel lets indexer acknowledgement work; derived from the key, so stable
                   "X-Splunk-Request-Channel": str(uuid.uuid5(uuid.NAMESPACE_URL, message.key))}
        response = _post(self.endpoint, content=body, headers=headers, timeout=self.timeout)
        try:
            code = response.json().get("code", 0)
        except ValueError:
            code = None
        if code != 0:
            raise DeliveryError(f"HEC answered code {code}")
