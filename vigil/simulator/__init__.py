"""A faithful local simulator of Anthropic's Compliance API (SPEC §12), serving a deterministic
synthetic Claude Enterprise organization with planted sensitive values and a ground truth.

``SyntheticOrg.generate(seed, users, chats, days, local_sessions=6, remote_sessions=4,
code_artifacts=5)`` builds the org; ``build_app(org, keys, rpm,
faults, clock)`` is the ASGI app; ``SimulatorServer(app).start()`` serves it on loopback;
``SyncASGITransport(app)`` serves a synchronous httpx client in-process. See docs/simulator.md.
"""

from vigil.simulator.app import build_app
from vigil.simulator.auth import ApiKey, default_key, make_key, parse_key_spec
from vigil.simulator.faults import Faults
from vigil.simulator.org import (CHAT_KINDS, GROUND_TRUTH_KINDS, SESSION_KINDS, GroundTruthRow, SyntheticOrg,
                                 ground_truth_kinds)
from vigil.simulator.server import SimulatorServer, SyncASGITransport

__all__ = ["ApiKey", "CHAT_KINDS", "Faults", "GROUND_TRUTH_KINDS", "GroundTruthRow", "SESSION_KINDS", "SimulatorServer",
           "SyncASGITransport", "SyntheticOrg", "build_app", "default_key", "ground_truth_kinds", "make_key",
           "parse_key_spec"]
