"""Benchmark of `chorus-robot renew` on a flaky portal: everything due renewed or reported, nothing lost.

For each data set (the demo portal's every structure; with --structures N, also N generated structures of one
syndicate, every one due) and each portal generation (legacy, services), on a fresh mock portal:
1. a run under faults: --share of the pages fail (half HTTP 503, half the portal's « erreur technique »
   page), each page takes a random --latency-ms, the session ends every --session-every pages;
2. a second run without faults.
Prints, per row: structures due; after run 1 renewed / reported failed (with a reason) / neither; renewed after
run 2; passwords lost (every structure whose password the portal changed: the vault must hold the portal's
password); tracebacks in the runs' output and logs. Each run is a child process (`chorus-robot renew`).

    .venv/bin/python bench/renew_under_faults.py [--structures 100] [--generations legacy services] [--jobs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.mockstats import call, load_average  # noqa: E402
from bench.renew_throughput import write_data  # noqa: E402
from fixtures.mock_portal import MockPortalServer  # noqa: E402
from robots.support.parsers import siret_problem  # noqa: E402

DEMO = PROJECT / "fixtures" / "demo-portal.yaml"
WITHIN = 30


def write_roster(folder: Path, data: Path) -> tuple[Path, dict[str, str]]:
    """Every account of the data file, `structures: all`, credentials by variable; the vault as only delivery."""
    accounts, env = [], {}
    raw = yaml.safe_load(data.read_text(encoding="utf-8"))
    for number, account in enumerate(raw["accounts"]):
        managed = [s["identifiant"] for s in raw["structures"] if s.get("manager") == account["login"]]
        if not managed or any(siret_problem(i) == "format" for i in managed):
            continue  # the account-creation fixtures (a structure without SIRET): nothing a night renews
        login_env, password_env = f"BENCH{number}_LOGIN", f"BENCH{number}_PASSWORD"
        env[login_env], env[password_env] = account["login"], str(account["password"])
        accounts.append({"name": f"compte{number}", "portal": account["portal"], "login_env": login_env,
                         "password_env": password_env, "structures": "all"})  # fmt: skip
    roster = folder / "roster.yaml"
    roster.write_text(yaml.safe_dump({"accounts": accounts}, allow_unicode=True))
    return roster, env


def due(state: dict) -> set[str]:
    """Structures a run must renew: active, an active technical user, expiring within WITHIN days."""
    limit = datetime.now() + timedelta(days=WITHIN)
    found = set()
    for structure in state["structures"]:
        user = structure.get("technical_user")
        if not user or structure.get("statut", "ACTIF") != "ACTIF" or user.get("statut", "ACTIF") != "ACTIF":
            continue
        if datetime.fromisoformat(user["expires_at"]).replace(tzinfo=None) <= limit:
            found.add(structure["identifiant"])
    return found


def renew(url: str, roster: Path, env: dict[str, str], work: Path, name: str, jobs: int) -> tuple[dict, str, float]:
    command = [
        sys.executable, "-m", "robots.cli", "renew", "--env", "mock", "--portal-url", url, "--roster", str(roster),
        "--within", str(WITHIN), "--jobs", str(jobs), "--journal", str(work / "journal.sqlite"),
        "--vault", str(work / "vault.json"), "--report", str(work / f"{name}.json"),
        "--log-file", str(work / f"{name}.log"),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=PROJECT, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    report_file = work / f"{name}.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    log = (work / f"{name}.log").read_text() if (work / f"{name}.log").exists() else ""
    return report, done.stdout + done.stderr + log, elapsed


def lost(state: dict, vault_file: Path) -> list[str]:
    """Structures whose password the portal changed and the vault does not hold."""
    vault = json.loads(vault_file.read_text()) if vault_file.exists() else {}
    missing = []
    for structure in state["structures"]:
        user = structure.get("technical_user")
        if (
            structure.get("reset_count")
            and user
            and vault.get(structure["identifiant"], {}).get("password") != user["password"]
        ):
            missing.append(structure["identifiant"])
    return missing


def one_row(data: Path, generation: str, args: argparse.Namespace, folder: Path) -> dict:
    work = folder / f"{data.stem}-{generation}"
    work.mkdir()
    roster, env = write_roster(work, data)
    with MockPortalServer(data, options={"generation": generation}) as server:
        url = server.url
        due_now = due(call(url + "/__mock__/state"))  # type: ignore[arg-type]
        half = args.share / 2
        for fault in (
            {"share": half, "status": 503, "seed": args.seed}, {"share": half, "status": "technical"},
            {"latency_ms": args.latency_ms}, {"session_expires_after": args.session_every},
        ):  # fmt: skip
            call(url + "/__mock__/faults", "POST", fault)
        first, output1, seconds1 = renew(url, roster, env, work, "run1", args.jobs)
        call(url + "/__mock__/faults", "POST", {})
        outcomes = {o["identifiant"]: o for o in first.get("outcomes", [])}
        renewed1 = {i for i in due_now if outcomes.get(i, {}).get("action") == "renewed"}
        reported1 = {i for i in due_now - renewed1 if outcomes.get(i, {}).get("action") == "failed"
                     and outcomes[i].get("error")}  # fmt: skip
        second, output2, seconds2 = renew(url, roster, env, work, "run2", args.jobs)
        for outcome in second.get("outcomes", []):
            if outcome.get("action") == "failed":
                print(f"  run 2 failed: {outcome['identifiant']}: {outcome.get('error')}", file=sys.stderr)
        state = call(url + "/__mock__/state")
        renewed = {s["identifiant"] for s in state["structures"] if s.get("reset_count")}  # type: ignore[index]
        kinds: dict[str, int] = {}
        for outcome in outcomes.values():
            if outcome.get("error_kind"):
                kinds[outcome["error_kind"]] = kinds.get(outcome["error_kind"], 0) + 1
        return {
            "data": "demo" if data == DEMO else f"{args.structures} generated", "generation": generation,
            "due": len(due_now), "renewed1": len(renewed1), "reported1": len(reported1),
            "neither1": len(due_now - renewed1 - reported1), "renewed2": len(due_now & renewed),
            "lost": len(lost(state, work / "vault.json")),  # type: ignore[arg-type]
            "tracebacks": (output1 + output2).count("Traceback"), "seconds": (seconds1, seconds2),
            "kinds": kinds, "exit": (first.get("exit_code"), second.get("exit_code")),
        }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=0, help="also N generated structures (0: demo only)")
    parser.add_argument("--generations", nargs="+", default=["legacy", "services"])
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--latency-ms", type=int, nargs=2, default=[200, 3000])
    parser.add_argument("--session-every", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    args.latency_ms = list(args.latency_ms)
    rows = []
    with tempfile.TemporaryDirectory(prefix="renew-faults-") as temporary:
        folder = Path(temporary)
        sets = ([DEMO] if args.demo else []) + ([write_data(folder, args.structures)] if args.structures else [])
        for data in sets:
            for generation in args.generations:
                rows.append(one_row(data, generation, args, folder))
                row = rows[-1]
                print(f"  {row['data']} {row['generation']}: {row} (load {load_average()})", file=sys.stderr)
    print(
        f"\n`chorus-robot renew --jobs {args.jobs}` under {args.share:.0%} failing pages (half 503, half « erreur "
        f"technique »), {args.latency_ms[0]}–{args.latency_ms[1]} ms per page, a session ending every "
        f"{args.session_every} pages; then a run without faults. {os.cpu_count()} CPU(s), load {load_average()}.\n"
    )
    print(
        "| data | generation | due | run 1: renewed | run 1: reported | run 1: neither | run 2: renewed (of due) "
        "| passwords lost | tracebacks | wall s (run 1, run 2) | run 1 error kinds |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(row["kinds"].items())) or "–"
        print(f"| {row['data']} | {row['generation']} | {row['due']} | {row['renewed1']} | {row['reported1']} | "
              f"{row['neither1']} | {row['renewed2']} | {row['lost']} | {row['tracebacks']} | "
              f"{row['seconds'][0]:.0f}, {row['seconds'][1]:.0f} | {kinds} |")  # fmt: skip
    bad = any(r["lost"] or r["tracebacks"] or r["neither1"] or r["renewed2"] != r["due"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
