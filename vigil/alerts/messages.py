"""Grouped alert messages and how each destination renders them.

A message carries up to ``max_per_message`` alerts for one destination, oldest first, and an
idempotency key derived from its alert ids: resending the same message (a retried task) sends
the same key, so a receiver that remembers keys drops the copy. Items hold only what is safe
to send: masked value, fingerprint, counts, links, the first user, times; never a raw value,
never a chat title or context (either may quote the value).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any

from vigil.detect.model import SEVERITIES
from vigil.lake.ids import stable_id

LISTED = 20  # incidents spelled out in a chat or e-mail message; the rest are summarised
PAYLOAD_VERSION = 1

ITEM_FIELDS = ("alert_id", "incident_id", "policy", "infotype", "category", "severity",
               "likelihood", "masked", "fingerprint", "occurrences", "users", "chats", "projects",
               "first_user", "first_seen", "last_seen", "chat_url", "object_key",
               "latest_chat_url", "latest_object_key", "detected_at")


@dataclass(frozen=True)
class AlertMessage:
    """One grouped message to one destination."""

    destination: str
    key: str
    items: tuple[dict[str, Any], ...]
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def alert_ids(self) -> list[str]:
        return [i["alert_id"] for i in self.items]


def message_key(destination: str, alert_ids: list[str]) -> str:
    """Idempotency key of the message carrying ``alert_ids`` to ``destination``."""
    return stable_id("alert-message", destination, *sorted(alert_ids))


def _severity_rank(item: dict[str, Any]) -> int:
    return SEVERITIES.index(item["severity"]) if item.get("severity") in SEVERITIES else -1


def title(msg: AlertMessage) -> str:
    """``vigil: 30 new incidents (2 critical, 5 high)``."""
    n = len(msg.items)
    counts = Counter(i.get("severity") for i in msg.items)
    parts = [f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts.get(s)]
    noun = "incident" if n == 1 else "incidents"
    return f"vigil: {n} new {noun}" + (f" ({', '.join(parts)})" if parts else "")


def ordered(msg: AlertMessage) -> list[dict[str, Any]]:
    """Most severe first, then oldest first."""
    return sorted(msg.items, key=lambda i: (-_severity_rank(i), i.get("first_seen") or "", i["alert_id"]))


def line(item: dict[str, Any]) -> str:
    """One incident on one line of plain text."""
    users = item.get("users") or 0
    who = item.get("first_user") or "unknown user"
    if users > 1:
        who += f" +{users - 1}"
    return (f"[{(item.get('severity') or '?').upper()}] {item.get('infotype')} {item.get('masked')} — "
            f"{item.get('occurrences')} occurrence(s) in {item.get('chats')} chat(s), {who}; "
            f"policy {item.get('policy')}; fingerprint {str(item.get('fingerprint'))[:12]}; "
            f"{item.get('chat_url') or item.get('object_key')}")


def rest_summary(items: list[dict[str, Any]]) -> str:
    """``… and 12 more: 9 EMAIL_ADDRESS, 3 PHONE_NUMBER``."""
    counts = Counter(i.get("infotype") for i in items)
    return f"… and {len(items)} more: " + ", ".join(f"{n} {it}" for it, n in counts.most_common())


def text_body(msg: AlertMessage) -> str:
    """Plain-text body (e-mail, custom webhook blocks)."""
    items = ordered(msg)
    lines = [title(msg), ""] + [line(i) for i in items[:LISTED]]
    if len(items) > LISTED:
        lines.append(rest_summary(items[LISTED:]))
    lines += ["", f"idempotency key: {msg.key}", "Triage: vigil incidents show <incident id>"]
    return "\n".join(lines)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(msg: AlertMessage) -> dict[str, Any]:
    """Slack incoming-webhook JSON: a text fallback and Block Kit sections."""
    items = ordered(msg)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(msg)[:150]}}]
    for i in items[:LISTED]:
        link = i.get("chat_url")
        where = f"<{link}|open chat>" if link else f"object `{_slack_escape(str(i.get('object_key')))}`"
        text = (f"*{_slack_escape((i.get('severity') or '?').upper())}* "
                f"{_slack_escape(str(i.get('infotype')))} `{_slack_escape(str(i.get('masked')))}` — "
                f"{i.get('occurrences')} occurrence(s), {i.get('users')} user(s), "
                f"{i.get('chats')} chat(s) · {where}")
        context = (f"policy {_slack_escape(str(i.get('policy')))} · incident {i.get('incident_id')} · "
                   f"fingerprint {str(i.get('fingerprint'))[:12]} · first {_slack_escape(str(i.get('first_user')))}")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context[:3000]}]})
    if len(items) > LISTED:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _slack_escape(rest_summary(items[LISTED:]))}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"idempotency key {msg.key}"}]})
    return {"text": title(msg), "blocks": blocks}


def teams_payload(msg: AlertMessage) -> dict[str, Any]:
    """A Teams (Workflows webhook) message with one Adaptive Card."""
    items = ordered(msg)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": title(msg), "wrap": True}]
    for i in items[:LISTED]:
        body.append({"type": "TextBlock", "wrap": True, "weight": "Bolder",
                     "text": f"{(i.get('severity') or '?').upper()} {i.get('infotype')} {i.get('masked')}"})
        facts = [{"title": "Occurrences", "value": f"{i.get('occurrences')} in {i.get('chats')} chat(s)"},
                 {"title": "Users", "value": f"{i.get('users')} (first {i.get('first_user')})"},
                 {"title": "Policy", "value": str(i.get("policy"))},
                 {"title": "Incident", "value": str(i.get("incident_id"))},
                 {"title": "Link", "value": str(i.get("chat_url") or i.get("object_key"))}]
        body.append({"type": "FactSet", "facts": facts})
    if len(items) > LISTED:
        body.append({"type": "TextBlock", "wrap": True, "text": rest_summary(items[LISTED:])})
    body.append({"type": "TextBlock", "isSubtle": True, "size": "Small", "text": f"idempotency key {msg.key}"})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def webhook_body(msg: AlertMessage) -> bytes:
    """The signed webhook's JSON body (every alert of the message, all fields)."""
    doc = {"type": "vigil.incidents.new", "version": PAYLOAD_VERSION, "idempotency_key": msg.key,
           "destination": msg.destination, "created_at": msg.created_at.isoformat(),
           "count": len(msg.items), "incidents": [dict(i) for i in msg.items]}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def hec_body(msg: AlertMessage, *, index: str | None, sourcetype: str, source: str = "vigil",
             host: str = "vigil") -> bytes:
    """Splunk HEC ``/services/collector/event`` body: one event object per alert, concatenated."""
    events = []
    for i in msg.items:
        event = {"time": round(msg.created_at.timestamp(), 3), "host": host, "source": source,
                 "sourcetype": sourcetype, "event": {**i, "idempotency_key": msg.key}}
        if index:
            event["index"] = index
        events.append(json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    return "\n".join(events).encode("utf-8")


def email_message(msg: AlertMessage, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """A plain-text e-mail; its Message-ID derives from the idempotency key."""
    mail = EmailMessage()
    mail["Subject"] = title(msg)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Message-ID"] = f"<{msg.key}@vigil.alerts>"
    mail["X-Vigil-Idempotency-Key"] = msg.key
    mail.set_content(text_body(msg))
    return mail
