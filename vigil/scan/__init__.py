"""The scan engine, Prefect-free: fetch → filter → inspect → land over the Compliance API client.

```python
from vigil.scan.run import open_run
from vigil.scan.runner import run_scan
from vigil.scan.setup import load_run_settings

settings = load_run_settings("vigil.toml")          # config and connector errors surface here
with open_run(settings, "historical", days=30) as run:   # lease, org check, scan_runs row
    summary = run_scan(run)
```
``flows/`` write the same page loop with each step (``vigil.scan.steps``) as a Prefect task;
``vigil scan`` runs the flows from the command line. How it works: docs/scans.md.
"""
