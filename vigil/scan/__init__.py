"""The scan engine, Prefect-free: fetch → filter → inspect → land over the Compliance API client.

```python
from vigil.scan.setup import open_session
from vigil.scan.runner import forward_plan, historical_plan, run_scan

with open_session("vigil.toml") as (session, settings):
    summary = run_scan(session, historical_plan(session, days=30))
```
``tasks/`` and ``flows/`` run the same loop as Prefect tasks and flows; ``vigil scan`` runs the
flows from the command line. How it works: docs/scans.md.
"""
