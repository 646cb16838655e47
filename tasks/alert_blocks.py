"""Destinations from Prefect: notification blocks and secrets, turned into ``vigil.alerts`` senders.

Slack and Teams blocks hold the webhook URL (a secret); vigil posts its own grouped payload to
it (Block Kit, an Adaptive Card) so it sees the HTTP status. A ``CustomWebhookNotificationBlock``
is used as is (``notify`` renders its own template with ``{{subject}}`` and ``{{body}}``). An
``EmailServerCredentials`` block (prefect-email) opens the SMTP connection. The signed webhook
and Splunk HEC read their secret from ``env:VARIABLE`` or ``prefect-secret:BLOCK``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from vigil.alerts.senders import (EmailSender, NotifySender, Sender, SlackSender, SplunkHecSender,
                                  TeamsSender, WebhookSender)
from vigil.alerts.settings import BLOCK_TYPES, AlertsSettings, DestinationSettings
from vigil.config import ConfigError


def block_class(kind: str) -> type:
    """The Prefect block class a destination type names."""
    if kind == "email":
        from prefect_email import EmailServerCredentials  # noqa: PLC0415

        return EmailServerCredentials
    from prefect.blocks import notifications  # noqa: PLC0415

    return getattr(notifications, BLOCK_TYPES[kind])


def load_block(kind: str, name: str) -> Any:
    """``<BlockClass>.load(name)``; ``LookupError`` when no such block exists."""
    cls = block_class(kind)
    try:
        return cls.load(name)
    except ValueError as exc:  # Prefect: "Unable to find block document named ..."
        raise LookupError(str(exc).splitlines()[0]) from None


def resolve_secret(source: str) -> str:
    """The value behind ``env:VARIABLE`` or ``prefect-secret:BLOCK``; ``LookupError`` if absent."""
    kind, _, name = source.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise LookupError(f"environment variable {name} is not set")
        return value
    from prefect.blocks.system import Secret  # noqa: PLC0415

    try:
        value = Secret.load(name).get()
    except ValueError:
        raise LookupError(f"no Prefect Secret block named '{name}'") from None
    if not isinstance(value, str) or not value:
        raise LookupError(f"Prefect Secret block '{name}' does not hold a string")
    return value


def sender_from_block(dest: DestinationSettings, block: Any) -> Sender:
    """The sender of a block-backed destination."""
    if dest.type == "slack":
        return SlackSender(block.url.get_secret_value())
    if dest.type == "teams":
        return TeamsSender(block.url.get_secret_value())
    if dest.type == "custom_webhook":
        def notify(body: str, subject: str) -> None:
            with block.raise_on_failure():
                block.notify(body, subject)
        return NotifySender(notify)
    if dest.type == "email":
        return EmailSender(block.get_server, dest.sender, tuple(dest.recipients))
    raise ValueError(f"destination type {dest.type} is not backed by a block")


def resolve_senders(settings: AlertsSettings, *,
                    load: Callable[[str, str], Any] = load_block,
                    secret: Callable[[str], str] = resolve_secret) -> dict[str, Sender]:
    """A sender per configured destination; ``ConfigError`` naming the key when a block or a
    secret it names cannot be found (checked before anything is sent)."""
    senders: dict[str, Sender] = {}
    for name, dest in settings.destinations.items():
        key = f"alerts.destinations.{name}"
        if dest.type in BLOCK_TYPES:
            try:
                block = load(dest.type, dest.block)
            except LookupError:
                raise ConfigError(f"{key}.block", f"no Prefect {BLOCK_TYPES[dest.type]} block named "
                                  f"'{dest.block}'") from None
            senders[name] = sender_from_block(dest, block)
        elif dest.type == "webhook":
            senders[name] = WebhookSender(dest.url, _secret(secret, dest.secret_source, f"{key}.secret_source").encode())
        elif dest.type == "splunk_hec":
            senders[name] = SplunkHecSender(dest.url, _secret(secret, dest.token_source, f"{key}.token_source"),
                                            index=dest.index, sourcetype=dest.sourcetype or "vigil:incident")
    return senders


def _secret(secret: Callable[[str], str], source: str, key: str) -> str:
    try:
        return secret(source)
    except LookupError as exc:
        raise ConfigError(key, str(exc)) from None
