"""``vigil simulator serve|manifest``: run the Compliance API simulator, write its ground truth."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from vigil.cli.app import app

simulator_app = typer.Typer(help="Local simulator of Anthropic's Compliance API (see docs/simulator.md).",
                            short_help="Serve a simulated Compliance API (docs/simulator.md).",
                            no_args_is_help=True)
app.add_typer(simulator_app, name="simulator")

_SEED = typer.Option(1, "--seed", metavar="N", help="Seed of the synthetic org; the same seed gives the same org.")
_USERS = typer.Option(25, "--users", min=1, metavar="N", help="Number of users.")
_CHATS = typer.Option(200, "--chats", min=0, metavar="N", help="Number of chats.")
_DAYS = typer.Option(30.0, "--days", min=0.5, metavar="DAYS", help="Days of history before now.")
_LOCAL = typer.Option(6, "--local-sessions", min=0, metavar="N", help="Local (Cowork / Claude Code) sessions.")
_REMOTE = typer.Option(4, "--remote-sessions", min=0, metavar="N", help="Remote (cloud Cowork) sessions.")
_SITES = typer.Option(5, "--code-artifacts", min=0, metavar="N", help="Claude Code hosted sites (code artifacts).")


def _org(seed: int, users: int, chats: int, days: float, projects: Optional[int], local_sessions: int = 6,
         remote_sessions: int = 4, code_artifacts: int = 5):
    from vigil.simulator import SyntheticOrg

    return SyntheticOrg.generate(seed=seed, users=users, chats=chats, days=days, projects=projects,
                                 local_sessions=local_sessions, remote_sessions=remote_sessions,
                                 code_artifacts=code_artifacts)


@simulator_app.command("serve")
def serve(
    port: int = typer.Option(8600, "--port", min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1 (0 picks a free one)."),
    seed: int = _SEED,
    users: int = _USERS,
    chats: int = _CHATS,
    days: float = _DAYS,
    projects: Optional[int] = typer.Option(None, "--projects", min=0, metavar="N",
                                           help="Number of projects (default: users/3+1)."),
    local_sessions: int = _LOCAL,
    remote_sessions: int = _REMOTE,
    code_artifacts: int = _SITES,
    rpm: int = typer.Option(600, "--rpm", min=1, metavar="N", help="Requests per minute shared by all keys."),
    remote_rpm: int = typer.Option(120, "--remote-rpm", min=1, metavar="N",
                                   help="The remote-session endpoints' own requests/minute budget."),
    key: list[str] = typer.Option([], "--key", metavar="SPEC", help="VALUE:scope,scope (repeatable). Default: one full-read key."),
    fault_429: float = typer.Option(0.0, "--fault-429", min=0, max=1, metavar="FRACTION", help="Fraction of requests answered 429."),
    fault_500: float = typer.Option(0.0, "--fault-500", min=0, max=1, metavar="FRACTION", help="Fraction answered 500 (retryable)."),
    fault_500_final: float = typer.Option(0.0, "--fault-500-final", min=0, max=1, metavar="FRACTION",
                                          help="Fraction answered 500 with x-should-retry: false."),
    fault_503: float = typer.Option(0.0, "--fault-503", min=0, max=1, metavar="FRACTION", help="Fraction answered 503."),
    fault_529: float = typer.Option(0.0, "--fault-529", min=0, max=1, metavar="FRACTION", help="Fraction answered 529."),
    fault_drop: float = typer.Option(0.0, "--fault-drop", min=0, max=1, metavar="FRACTION", help="Fraction of dropped connections."),
    fault_truncate: float = typer.Option(0.0, "--fault-truncate", min=0, max=1, metavar="FRACTION", help="Fraction of truncated bodies."),
    fault_local_503: float = typer.Option(0.0, "--fault-local-503", min=0, max=1, metavar="FRACTION",
                                          help="Fraction of local-session calls answered 503 (index unavailable)."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0, metavar="MS", help="Latency added to every request."),
    fault_seed: int = typer.Option(0, "--fault-seed", metavar="N", help="Seed of the fault draws."),
) -> None:
    """Serve a synthetic organization on 127.0.0.1 until interrupted."""
    import uvicorn

    from vigil.simulator import Faults, build_app, default_key, parse_key_spec

    try:
        keys = [parse_key_spec(k) for k in key] or [default_key(seed)]
        faults = Faults(p429=fault_429, p500=fault_500, p500_final=fault_500_final, p503=fault_503, p529=fault_529,
                        p_drop=fault_drop, p_truncate=fault_truncate, p_local_503=fault_local_503,
                        latency_ms=latency_ms, seed=fault_seed)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    org = _org(seed, users, chats, days, projects, local_sessions, remote_sessions, code_artifacts)
    application = build_app(org, keys=keys, rpm=rpm, faults=faults, remote_rpm=remote_rpm)
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        typer.echo(f"error: cannot listen on 127.0.0.1:{port}: {e.strerror}", err=True)
        raise typer.Exit(1) from None
    real_port = sock.getsockname()[1]
    typer.echo(f"Compliance API simulator listening on http://127.0.0.1:{real_port}")
    typer.echo(f"  parent organization      {org.parent.uuid}   <- pass this one: vigil connect --org-id ...")
    typer.echo(f"  claude.ai organization   {org.claude_org.uuid}  ({org.claude_org.tagged_id})")
    typer.echo(f"  console organization     {org.console_org.uuid}  ({org.console_org.tagged_id})")
    typer.echo(f"  {len(org.users)} users, {len(org.chats)} chats, {len(org.projects)} projects, "
               f"{len(org.files)} files, {len(org.activities)} activities; rate limit {rpm}/min")
    typer.echo(f"  {len(org.local_sessions)} local sessions, {len(org.remote_sessions)} remote sessions, "
               f"{len(org.code_artifacts)} code artifacts (remote-session budget {remote_rpm}/min)")
    for k in keys:
        # Printing the key is the point of this command: it is a local, synthetic credential.
        typer.echo(f"  key {k.secret}  scopes: {','.join(k.scopes)}")
    if faults.active or faults.p_local_503:
        typer.echo(f"  faults {json.dumps(faults.as_dict())}")
    typer.echo("  admin endpoints under /_admin (see docs/simulator.md); Ctrl-C stops")
    typer.echo(f"  shell variables for it: eval \"$(vigil simulator env --seed {seed} --port {real_port})\"")
    sys.stdout.flush()
    config = uvicorn.Config(application, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


@simulator_app.command("manifest", short_help="Write the ground truth of the org `serve` would serve.")
def manifest(
    out: Path = typer.Option(..., "--out", metavar="PATH", help="JSON Lines file to write (one planted value per line)."),
    seed: int = _SEED,
    users: int = _USERS,
    chats: int = _CHATS,
    days: float = _DAYS,
    projects: Optional[int] = typer.Option(None, "--projects", min=0, metavar="N", help="Number of projects."),
    local_sessions: int = _LOCAL,
    remote_sessions: int = _REMOTE,
    code_artifacts: int = _SITES,
    kinds: str = typer.Option("all", "--kinds", metavar="KINDS",
                              help="chats (chats, files, artifacts, projects), sessions "
                                   "(sessions and code artifacts) or all."),
) -> None:
    """Write the ground truth of the org that `serve` with the same options would serve."""
    from vigil.simulator.org import ground_truth_kinds

    try:
        selected = ground_truth_kinds(kinds)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    org = _org(seed, users, chats, days, projects, local_sessions, remote_sessions, code_artifacts)
    n = 0
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in org.ground_truth(selected):
            fh.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(out)
    typer.echo(f"wrote {n} planted values to {out}")


@simulator_app.command("env")
def env(
    seed: int = _SEED,
    port: int = typer.Option(8600, "--port", min=1, max=65535, help="Port the simulator listens on."),
) -> None:
    """Print shell `export` lines for a simulator started with the same --seed and --port:
    its key (ANTHROPIC_COMPLIANCE_API_KEY), its parent organization (VIGIL_ORG_ID) and URL
    (VIGIL_BASE_URL). Use: eval "$(vigil simulator env --seed 7 --port 7765)"."""
    from vigil.simulator import SyntheticOrg, default_key

    org = SyntheticOrg.generate(seed=seed, users=1, chats=0, days=1)  # ids depend on the seed only
    typer.echo(f"export ANTHROPIC_COMPLIANCE_API_KEY={default_key(seed).secret}")
    typer.echo(f"export VIGIL_ORG_ID={org.parent.uuid}")
    typer.echo(f"export VIGIL_BASE_URL=http://127.0.0.1:{port}")
