"""The report tests reuse the export tests' sample lake and incidents test fixture."""

import importlib.util
import pathlib
import sys

_path = pathlib.Path(__file__).resolve().parents[1] / "export" / "conftest.py"
_name = "vigil_test_export_conftest"
if _name not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_name, _path)
    sys.modules[_name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_name])
_shared = sys.modules[_name]
fixtures = _shared.fixtures
now, sample_lake, with_incidents, sample_data = (_shared.now, _shared.sample_lake, _shared.with_incidents,
                                                 _shared.sample_data)
