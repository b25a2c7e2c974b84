"""Benchmark of `chorus-robot renew`: structures renewed per minute at --jobs 1, 2, 4, 8, and peak memory.

The mock portal adds 300 ms to every page (the real portal is slow); every demo structure is forced due
(`--within 1000`). Each run is a child process; its process tree (Python, Playwright's driver, the
Chromium processes) is sampled from /proc: the peak of the summed RSS and of the summed PSS (RSS
counts the pages Chromium's processes share once per process; PSS splits them).

    .venv/bin/python bench/renew_throughput.py [--jobs 1 2 4 8] [--latency-ms 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from fixtures.mock_portal import MockPortalServer  # noqa: E402

DEMO_DATA = PROJECT / "fixtures" / "demo-portal.yaml"


def call(url: str, method: str = "GET", body: object = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def write_roster(state: dict, folder: Path) -> tuple[Path, dict[str, str], int]:
    """Every account of the demo that manages structures, `structures: all`; the vault is the only delivery."""
    managers = {s["manager"] for s in state["structures"]}
    lines, env = ["accounts:"], {}
    for index, account in enumerate(a for a in state["accounts"] if a["login"] in managers):
        lines += [
            f"  - name: account{index}", f"    portal: {account['portal']}",
            f"    login_env: BENCH_LOGIN_{index}", f"    password_env: BENCH_PASSWORD_{index}",
            "    structures: all",
        ]  # fmt: skip
        env[f"BENCH_LOGIN_{index}"], env[f"BENCH_PASSWORD_{index}"] = account["login"], account["password"]
    roster = folder / "roster.yaml"
    roster.write_text("\n".join(lines) + "\n")
    return roster, env, sum(1 for s in state["structures"] if s["manager"] in managers)


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; zeros when it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in rollup.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name] = int(rest.split()[0])
    return values.get("Rss", 0), values.get("Pss", 0)


class PeakMemory(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_rss, self.peak_pss, self.done = root, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            samples = [memory_kb(pid) for pid in descendants(self.root)]
            self.peak_rss = max(self.peak_rss, sum(s[0] for s in samples))
            self.peak_pss = max(self.peak_pss, sum(s[1] for s in samples))
            self.done.wait(0.25)


def one_run(url: str, jobs: int, roster: Path, env: dict[str, str], folder: Path) -> dict:
    call(url + "/__mock__/reset", "POST", {})
    work = folder / f"jobs{jobs}"
    work.mkdir()
    command = [
        sys.executable, "-m", "robots.cli", "renew", "--env", "mock", "--portal-url", url, "--roster", str(roster),
        "--within", "1000", "--jobs", str(jobs), "--journal", str(work / "journal.sqlite"),
        "--vault", str(work / "vault.json"), "--report", str(work / "report.json"), "--log-file", str(work / "log"),
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    sampler = PeakMemory(process.pid)
    sampler.start()
    _, errors = process.communicate()
    elapsed = time.monotonic() - started
    sampler.done.set()
    sampler.join()
    report = json.loads((work / "report.json").read_text()) if (work / "report.json").exists() else {}
    if process.returncode != 0:
        print(f"  --jobs {jobs}: exit {process.returncode}\n{errors[-2000:]}", file=sys.stderr)
    counts = report.get("counts", {})
    return {
        "jobs": jobs, "renewed": counts.get("renewed", 0), "failed": counts.get("failed", 0), "seconds": elapsed,
        "per_minute": counts.get("renewed", 0) * 60 / elapsed, "rss_mb": sampler.peak_rss / 1024,
        "pss_mb": sampler.peak_pss / 1024,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--latency-ms", type=int, default=300)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="renew-bench-") as temporary,
        MockPortalServer(DEMO_DATA, latency_ms=args.latency_ms) as server,
    ):
        folder = Path(temporary)
        roster, env, structures = write_roster(call(server.url + "/__mock__/state"), folder)  # type: ignore[arg-type]
        print(f"Mock portal {server.url}, {args.latency_ms} ms per page; {structures} structures, all due; "
              f"{os.cpu_count()} CPU(s)\n", file=sys.stderr)  # fmt: skip
        rows = []
        for jobs in args.jobs:
            rows.append(one_run(server.url, jobs, roster, env, folder))
            print(f"  --jobs {jobs}: {rows[-1]['seconds']:.0f} s", file=sys.stderr)
    print(f"\n`chorus-robot renew`, mock portal with {args.latency_ms} ms per page, {structures} structures due, "
          f"{os.cpu_count()} CPU(s):\n")  # fmt: skip
    print("| --jobs | renewed | failed | wall time (s) | structures / minute | peak RSS (MB) | peak PSS (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['jobs']} | {row['renewed']} | {row['failed']} | {row['seconds']:.1f} | "
              f"{row['per_minute']:.1f} | {row['rss_mb']:.0f} | {row['pss_mb']:.0f} |")  # fmt: skip
    return 0 if all(r["failed"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
