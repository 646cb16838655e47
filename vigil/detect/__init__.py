"""Detection engine: finds credentials, PII, financial and health identifiers in text.

```python
engine = Engine.load(fingerprint_key=load_fingerprint_key())
for finding in engine.scan(text):
    print(finding.infotype, finding.masked, finding.likelihood)
```
"""

from vigil.detect.engine import Engine
from vigil.detect.keys import load_fingerprint_key
from vigil.detect.model import LIKELIHOODS, SEVERITIES, Finding
from vigil.detect.rules import Rule, RuleError

__all__ = ["Engine", "Finding", "LIKELIHOODS", "SEVERITIES", "Rule", "RuleError", "load_fingerprint_key"]
