"""Alerts: policies over incidents, an outbox in the lake, grouped delivery to Slack, Teams,
custom webhooks, e-mail, a signed webhook and Splunk HEC. Prefect-free; Prefect blocks are
reached through ``tasks/alert_blocks.py``. See docs/alerts.md.

Modules: ``settings`` (the ``[alerts]`` config section), ``outbox`` (queueing), ``messages``
(grouping and rendering), ``senders`` (one per destination type), ``signing`` (webhook HMAC),
``delivery`` (sending the outbox, oldest first), ``pipeline`` (refresh, queue, deliver).
"""
