"""The HTML report: content, escaping, and that every chart really draws in headless Chromium."""

import os
import shutil
import subprocess
from datetime import timedelta

import lxml.html
import pytest
from typer.testing import CliRunner

from vigil.report import build_report, collect, render
from vigil.report.html import CHARTS

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--mute-audio", "--hide-scrollbars"]


def chromium() -> str:
    """Debian's Chromium (CI installs it in .ci/run). Missing means failing, not skipping,
    unless VIGIL_SKIP_BROWSER_TESTS=1 says so explicitly."""
    found = os.environ.get("VIGIL_CHROMIUM") or next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if found:
        return found
    if os.environ.get("VIGIL_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("VIGIL_SKIP_BROWSER_TESTS=1: report not rendered in a browser")
    pytest.fail("Chromium not found: the report rendering test needs it. Install Debian's package "
                "(apt-get install -y chromium) or point VIGIL_CHROMIUM at a Chromium binary.")


def rendered_dom(html_file, tmp_path) -> lxml.html.HtmlElement:
    """The page's DOM after its scripts ran, as headless Chromium dumps it (no network)."""
    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
           "--virtual-time-budget=5000", "--dump-dom", html_file.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    return lxml.html.fromstring(done.stdout)


def drawn_marks(chart) -> int:
    """Bars and line segments Plotly drew inside one chart container."""
    bars = chart.xpath(".//*[contains(concat(' ', @class, ' '), ' point ')]/*[local-name()='path'][@d!='M0,0Z' and @d!='']")
    lines = chart.xpath(".//*[local-name()='path'][contains(concat(' ', @class, ' '), ' js-line ')][@d!='']")
    return len(bars) + len(lines)


def test_report_draws_every_chart_in_headless_chromium(with_incidents, tmp_path, sample_data, now):
    lake, con, findings, incidents = with_incidents
    out = tmp_path / "report.html"
    data = build_report(lake, out, since=now - timedelta(days=30), con=con)
    assert data.has_incidents and out.stat().st_size > 1_000_000  # plotly.js is inside
    page = out.read_text()
    assert "cdn" not in page.lower().split("<script>", 1)[0] and 'src="http' not in page and "<link" not in page

    dom = rendered_dom(out, tmp_path)
    assert dom.findtext(".//title").startswith("vigil report")  # an injected onerror never ran
    charts = {c.get("data-chart"): c for c in dom.xpath("//div[@class='chart']")}
    assert set(charts) == {spec.id for spec in CHARTS}
    for chart_id, chart in charts.items():
        assert chart.xpath(".//*[local-name()='svg']"), f"{chart_id}: no SVG drawn"
        assert drawn_marks(chart) > 0, f"{chart_id}: no bars or lines drawn"

    # Lake text shows literally, in the table and in chart labels, and nothing it holds became markup.
    cells = [td.text_content() for td in dom.xpath("//section[@id='worst_open']//td")]
    labels = [t.text_content() for t in dom.xpath("//*[local-name()='text']")]
    assert "Project <Phoenix>" in labels
    assert not dom.xpath("//img[@src='x']") and not dom.xpath("//script[contains(., \"alert('x')\")]")
    worst = dom.xpath("//section[@id='worst_open']//tbody/tr")
    open_count = sum(r["status"] in ("open", "acknowledged") for r in incidents)
    assert len(worst) == min(open_count, 25)
    assert any(sample_data.TRICKY_TITLE == c.strip() for c in cells)
    assert any("<here> | [bold]" in c for c in cells)  # masked context, as written
    links = dom.xpath("//section[@id='worst_open']//a/@href")
    assert links and all(h.startswith("https://claude.ai/chat/") for h in links)


def test_report_escapes_lake_text_in_the_html_source(with_incidents, tmp_path, sample_data):
    lake, con, _, _ = with_incidents
    page = render(collect(con, lake=lake.root_url))
    assert sample_data.TRICKY_TITLE not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; [red]boom[/red]" in page
    assert "javascript:alert" not in page
    severities = [s.text_content() for s in lxml.html.fromstring(page).xpath("//span[contains(@class,'sev ')]")]
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    assert severities == sorted(severities, key=order.get)


def test_report_without_incidents_counts_coverage(sample_lake, tmp_path, sample_data):
    lake, findings = sample_lake
    data = build_report(lake, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert data.totals["open_incidents"] == 0 and "<html" in page  # incidents never refreshed here
    assert data.totals["findings"] == len(findings)
    assert data.totals["objects_skipped"] == 12 and data.totals["requests"] == 70 + 100 + 130
    outcomes = {r["outcome"] for r in data.coverage}
    assert {"scanned", "skipped: too_large", "skipped: encrypted", "skipped: timeout"} <= outcomes
    assert {r["label"] for r in data.top_users} >= {"user0@acme-corp.com"}


def test_report_cli(sample_lake, tmp_path):
    import vigil.cli.report  # noqa: F401 - registers the command
    from vigil.cli.app import app

    lake, findings = sample_lake
    out = tmp_path / "cli.html"
    res = CliRunner().invoke(app, ["report", "--lake", lake.root_url, "--out", str(out), "--since", "all"])
    assert res.exit_code == 0, res.output
    assert f"{len(findings)} findings, 0 open incidents" in res.stdout and out.exists()
    res = CliRunner().invoke(app, ["report", "--lake", lake.root_url, "--out", str(out), "--since", "yesterday"])
    assert res.exit_code == 2 and "30d" in res.output


def test_report_and_export_find_the_lake_of_a_saved_connector(sample_lake, tmp_path, monkeypatch):
    import vigil.cli.export  # noqa: F401
    import vigil.cli.report  # noqa: F401
    from vigil import connector as store
    from vigil.cli.app import app

    lake, findings = sample_lake
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    store.save(store.ConnectorRecord(name="acme", org_id="org-1", lake_root=lake.root_url))
    res = CliRunner().invoke(app, ["report", "--connector", "acme", "--out", "r.html", "--since", "all"])
    assert res.exit_code == 0 and f"{len(findings)} findings" in res.stdout
    res = CliRunner().invoke(app, ["export", "ocsf", "--connector", "acme", "--only", "findings"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == len(findings)
    res = CliRunner().invoke(app, ["report", "--connector", "nobody"])
    assert res.exit_code == 2 and "no connector named 'nobody'" in res.output
