"""Bad input gets one line on stderr and an exit code, never a traceback (issue 8).

Each case goes through the real command line: the config file (messages start with the dotted
key), `vigil connect` and `vigil scan` options, and the historical flow's parameter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from vigil.config import ConfigError, parse_config

ORG = "344408a7-2f0b-414a-a80c-0a156b94a21d"
KEY_ENV = "ANTHROPIC_COMPLIANCE_API_KEY"


def one_line_error(res, code: int, starts: str) -> str:
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(starts), lines[0]
    assert "Traceback" not in res.output
    return lines[0]


def write_config(tmp_path, body: str):
    path = tmp_path / "vigil.toml"
    path.write_text(body)
    return str(path)


def config_with(tmp_path, *, org_id=ORG, base_url="https://api.anthropic.com", lake=None, extra=""):
    lake = lake if lake is not None else str(tmp_path / "lake")
    return write_config(tmp_path, f'[connector]\norg_id = "{org_id}"\nbase_url = "{base_url}"\n'
                                  f'key_source = "env:VIGIL_TEST_NO_SUCH_KEY"\n[lake]\nroot = "{lake}"\n{extra}')


SCANS = [["scan", "forward", "--no-prefect"], ["scan", "historical", "--days", "30", "--no-prefect"],
         ["scan", "forward"]]  # the Prefect path too: the config is checked before Prefect starts


@pytest.mark.parametrize("command", SCANS)
@pytest.mark.parametrize("org_id", ["not-a-uuid", "344408a7-2f0b-414a-a80c", "org_", "acme corp"])
def test_malformed_org_id_in_the_config(vigil_app, tmp_path, command, org_id):
    res = CliRunner().invoke(vigil_app, [*command, "--config", config_with(tmp_path, org_id=org_id)])
    line = one_line_error(res, 1, "error: connector.org_id: expected the organization UUID")
    assert org_id not in line or org_id == "org_"  # values are never echoed


@pytest.mark.parametrize("command", SCANS)
@pytest.mark.parametrize("url", ["http://api.anthropic.com", "http://10.0.0.5:8600", "http://127.0.0.1.evil.test",
                                 "ftp://api.anthropic.com", "https://"])
def test_plain_http_to_a_remote_host_in_the_config(vigil_app, tmp_path, command, url):
    res = CliRunner().invoke(vigil_app, [*command, "--config", config_with(tmp_path, base_url=url)])
    one_line_error(res, 1, "error: connector.base_url:")


@pytest.mark.parametrize("url", ["https://api.anthropic.com", "https://compliance.example.test:8443/",
                                 "http://127.0.0.1:8600", "http://localhost:8600", "http://[::1]:8600"])
def test_https_anywhere_and_http_on_loopback_stay_allowed(url):
    cfg = parse_config({"connector": {"org_id": ORG.upper(), "base_url": url}})
    assert cfg.connector.base_url == url.rstrip("/") and cfg.connector.org_id == ORG


def test_tagged_org_ids_stay_allowed():
    assert parse_config({"connector": {"org_id": "org_01AbCdEf"}}).connector.org_id == "org_01AbCdEf"


@pytest.mark.parametrize("days", ["3651", "100000", "0", "-5"])
def test_days_out_of_range_on_the_command_line(vigil_app, tmp_path, days):
    res = CliRunner().invoke(vigil_app, ["scan", "historical", "--days", days, "--no-prefect",
                                         "--config", config_with(tmp_path)])
    one_line_error(res, 2, "error: --days: expected a whole number of days from 1 to 3650")


def test_days_out_of_range_in_the_config(vigil_app, tmp_path):
    path = config_with(tmp_path, extra="[historical]\ndays = 3651\n")
    res = CliRunner().invoke(vigil_app, ["scan", "forward", "--no-prefect", "--config", path])
    one_line_error(res, 1, "error: historical.days: expected an integer from 1 to 3650")


def test_days_out_of_range_as_a_flow_parameter():
    from prefect.exceptions import ParameterTypeError
    from prefect.utilities.callables import parameter_schema

    from flows.historical_scan import historical_scan

    assert historical_scan.validate_parameters({"max_last_modified_days": 3650})["max_last_modified_days"] == 3650
    for days in (3651, 0):
        with pytest.raises(ParameterTypeError, match="max_last_modified_days"):
            historical_scan.validate_parameters({"max_last_modified_days": days})
    schema = parameter_schema(historical_scan).properties["max_last_modified_days"]
    assert (schema["minimum"], schema["maximum"]) == (1, 3650)  # deployments publish the range


@pytest.mark.parametrize("command", SCANS)
def test_lake_under_a_file(vigil_app, tmp_path, command):
    (tmp_path / "report.txt").write_text("not a folder")
    path = config_with(tmp_path, lake=str(tmp_path / "report.txt" / "lake"))
    res = CliRunner().invoke(vigil_app, [*command, "--config", path])
    one_line_error(res, 1, "error: lake.root: lies under a file, not a folder")
    path = config_with(tmp_path, lake=str(tmp_path / "report.txt"))
    res = CliRunner().invoke(vigil_app, [*command, "--config", path])
    one_line_error(res, 1, "error: lake.root: is a file, not a folder")


def test_sql_with_a_bad_config_is_one_line(vigil_app, tmp_path):
    (tmp_path / "f").write_text("x")
    res = CliRunner().invoke(vigil_app, ["sql", "SELECT 1", "--config", config_with(tmp_path, lake=str(tmp_path / "f" / "x"))])
    one_line_error(res, 2, "error: lake.root: lies under a file")


# -- vigil connect: checked before the key is even looked at ---------------------------------------
@pytest.mark.parametrize("args,starts", [
    (["--org-id", "not-a-uuid"], "error: --org-id: expected the organization UUID"),
    (["--org-id", ""], "error: --org-id is required"),
    (["--org-id", ORG, "--base-url", "http://api.anthropic.com"], "error: --base-url: plain http is allowed only"),
    (["--org-id", ORG, "--base-url", "http://192.168.1.20:8600"], "error: --base-url: plain http is allowed only"),
    (["--org-id", ORG, "--base-url", "not a url"], "error: --base-url: expected an http(s) URL"),
])
def test_connect_options(vigil_app, args, starts):
    res = CliRunner(env={KEY_ENV: ""}).invoke(vigil_app, ["connect", *args])
    one_line_error(res, 1, starts)  # 1 = bad arguments; without a key it would otherwise be 6


def test_connect_lake_under_a_file(vigil_app, tmp_path):
    (tmp_path / "f").write_text("x")
    res = CliRunner(env={KEY_ENV: ""}).invoke(vigil_app, ["connect", "--org-id", ORG, "--lake", str(tmp_path / "f" / "lake")])
    one_line_error(res, 1, "error: --lake: lies under a file, not a folder")


# -- an unwritable folder: needs a process without root's override of file permissions ------------
def _as_unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root's file-permission override"
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def run_vigil(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    code = "import sys; from vigil.cli import main; sys.argv[0] = 'vigil'; main()"
    return subprocess.run([*_as_unprivileged(), sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, **(env or {})))


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def assert_one_line(proc: subprocess.CompletedProcess, code: int, starts: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_lake_in_an_unwritable_folder(tmp_path, read_only_folder):
    path = config_with(tmp_path, lake=str(read_only_folder / "lake"))
    proc = run_vigil("scan", "forward", "--no-prefect", "--config", path)
    assert_one_line(proc, 1, "error: lake.root: cannot be created: its parent folder is not writable")
    path = config_with(tmp_path, lake=str(read_only_folder))
    proc = run_vigil("scan", "historical", "--days", "7", "--no-prefect", "--config", path)
    assert_one_line(proc, 1, "error: lake.root: folder is not writable by this user")
    proc = run_vigil("connect", "--org-id", ORG, "--lake", str(read_only_folder / "lake"), env={KEY_ENV: ""})
    assert_one_line(proc, 1, "error: --lake: cannot be created: its parent folder is not writable")


def test_an_unwritable_lake_can_still_be_queried(tmp_path, read_only_folder):
    """Reading needs no write access: `vigil sql` does not refuse a read-only lake."""
    path = config_with(tmp_path, lake=str(read_only_folder))
    proc = run_vigil("sql", "SELECT count(*) AS n FROM findings", "-f", "csv", "--config", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["n", "0"]


def test_config_errors_name_the_key_without_echoing_the_value():
    with pytest.raises(ConfigError) as exc:
        parse_config({"connector": {"org_id": "secret-looking-value"}})
    assert exc.value.key == "connector.org_id" and "secret-looking-value" not in str(exc.value)
