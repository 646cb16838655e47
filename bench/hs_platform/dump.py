"""Write the main Hyperscan database's expressions and the bench's 1.5 MB chat and code samples
for ``bench/hs_platform/scan.c`` (see its header): ``expr.bin`` (count, then per expression its
length, id and flags as little-endian u32 and its bytes) and ``chat.bin`` / ``code.bin`` (count,
then per document its length and its bytes, encoded as the engine encodes them)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from revisions import KEY, speed_texts  # noqa: E402

from vigil.detect import Engine  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    engine = Engine.load(KEY, backend="hyperscan", min_likelihood="VERY_UNLIKELY")
    expressions, ids, flags = engine.backend._expressions()
    with open(out / "expr.bin", "wb") as f:
        f.write(struct.pack("<I", len(expressions)))
        for expression, rule_id, flag in zip(expressions, ids, flags):
            f.write(struct.pack("<III", len(expression), rule_id, flag) + expression)
    for kind in ("chat", "code"):
        docs = speed_texts(kind, 1_500_000)
        with open(out / f"{kind}.bin", "wb") as f:
            f.write(struct.pack("<I", len(docs)))
            for doc in docs:
                data = doc.encode("ascii", "replace") + b"\n"
                f.write(struct.pack("<I", len(data)) + data)
    print(f"{len(expressions)} expressions and the chat and code samples in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hs"))
