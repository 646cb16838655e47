"""Incidents: one per leaked value (fingerprint) per policy, recomputed from ``findings``, with
triage state kept as append-only events. See docs/incidents.md.

```python
from vigil.incidents import refresh_incidents, set_status, list_incidents
refresh_incidents(lake, policies)          # after findings land; a rerun writes nothing
list_incidents(lake, status=["open"], min_severity="high")
set_status(lake, "3f9a0c", status="false_positive", note="test key from the docs")
```
"""

from vigil.incidents.policy import ALL_POLICY, IncidentPolicy, Match
from vigil.incidents.rollup import RefreshResult, refresh_incidents
from vigil.incidents.triage import (STATUSES, StatusChange, TriageError, find_incident, history,
                                    list_incidents, occurrences, set_status, suppressed)

__all__ = [
    "ALL_POLICY", "STATUSES", "IncidentPolicy", "Match", "RefreshResult", "StatusChange",
    "TriageError", "find_incident", "history", "list_incidents", "occurrences",
    "refresh_incidents", "set_status", "suppressed",
]
