"""Detection engine: finds credentials, PII, financial and health identifiers in text.

```python
engine = Engine.load(fingerprint_key=load_fingerprint_key())
for finding in engine.scan(text):
    print(finding.infotype, finding.masked, finding.likelihood)
```
"""

from vigil.detect import native

native.install()  # before anything imports a module that may run compiled (vigil.detect.native)

from vigil.detect.engine import Engine  # noqa: E402
from vigil.detect.keys import load_fingerprint_key  # noqa: E402
from vigil.detect.model import LIKELIHOODS, SEVERITIES, Finding  # noqa: E402
from vigil.detect.rules import Rule, RuleError  # noqa: E402

__all__ = ["Engine", "Finding", "LIKELIHOODS", "SEVERITIES", "Rule", "RuleError", "load_fingerprint_key"]
