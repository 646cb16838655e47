"""Content extraction: the text of every file a user can upload or Claude can generate, with
locators, handled safely (see docs/extraction.md and docs/contracts.md).

```python
result = extract(data, "report.docx")
result.status, result.reason, result.detected_type, result.segments, result.skips
```
"""

from vigil.extract.filetypes import FileTypes, default_file_types, load_file_types
from vigil.extract.model import (
    HARD_MAX_INPUT_BYTES,
    SKIP_REASONS,
    Extraction,
    ExtractLimits,
    Segment,
    Skip,
)
from vigil.extract.pipeline import extract

__all__ = [
    "extract",
    "Extraction",
    "ExtractLimits",
    "Segment",
    "Skip",
    "SKIP_REASONS",
    "HARD_MAX_INPUT_BYTES",
    "FileTypes",
    "load_file_types",
    "default_file_types",
]
