"""Findings and incidents for other tools: OCSF events (``vigil export ocsf``). See docs/export.md."""

from vigil.export.ocsf import OCSF_VERSION
from vigil.export.run import ExportError, ExportResult, export_ocsf, export_ocsf_incremental
from vigil.export.sink import ExportDestinationError
from vigil.export.validate import OcsfValidationError, check_event, check_lines, event_errors

__all__ = [
    "OCSF_VERSION", "ExportDestinationError", "ExportError", "ExportResult", "OcsfValidationError",
    "check_event", "check_lines", "event_errors", "export_ocsf", "export_ocsf_incremental",
]
