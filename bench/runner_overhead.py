"""What the runner costs: `chorus-robot run` against the same clicks written by hand (bench/hand_reset.py).

Both reset the same structure's technical password on one mock portal (started here, in this process),
each in a child process of its own, alternated A B A B over --pairs pairs. For each run: wall time, CPU
time of the whole process tree (Python, Playwright's driver, Chromium: rusage of the waited child), and
the sum of the mock's page times (what a perfect robot would wait for). Prints the medians and the
median of the per-pair ratios robot / hand-written. `chorus-robot run` always traces the run (the trace
is kept if it fails, issue 4); a third contender, the hand-written script with the same tracing, tells
the runner's own cost apart from the trace's. `--generation services` (the default, as the mock's) compares
with bench/hand_reset_services.py, `legacy` with bench/hand_reset.py; the HTML pages each contender had the
mock serve (its state's `pages_served`) are printed by kind of page.

    .venv/bin/python bench/runner_overhead.py [--pairs 5] [--latency-ms 0] [--generation services|legacy]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.mockstats import PageTimes, call, clean_passwords, load_average, pages_by_kind  # noqa: E402
from fixtures.mock_portal import MockPortalServer  # noqa: E402

DEMO_DATA = PROJECT / "fixtures" / "demo-portal.yaml"
FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
HAND_WRITTEN = {"legacy": PROJECT / "bench" / "hand_reset.py", "services": PROJECT / "bench" / "hand_reset_services.py"}


def child(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the process tree, exit code, stderr tail)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, process.returncode, b"".join(errors).decode()[-1500:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--generation", choices=["services", "legacy"], default="services")
    args = parser.parse_args()
    hand = HAND_WRITTEN[args.generation]
    with (
        tempfile.TemporaryDirectory(prefix="runner-bench-") as temporary,
        MockPortalServer(DEMO_DATA, latency_ms=args.latency_ms, generation=args.generation) as server,
    ):
        times = PageTimes.install(server)
        state: dict[str, Any] = call(server.url + "/__mock__/state")  # type: ignore[assignment]
        account = next(a for a in state["accounts"] if a["portal"] == "dgfip" and a["login"] == "s.rigoulot")
        structure = next(s for s in state["structures"] if s["manager"] == account["login"])["identifiant"]
        env = {**os.environ, "DGFIP_LOGIN": account["login"], "DGFIP_PASSWORD": account["password"]}
        commands = {
            "robot": [sys.executable, "-m", "robots.cli", "run", str(FLOW), "--env", "mock", "--portal-url",
                      server.url, "--var", f"structure={structure}", "--vault", f"{temporary}/vault.json"],
            "hand": [sys.executable, str(hand), server.url, structure],
            "hand+trace": [sys.executable, str(hand), server.url, structure],
        }  # fmt: skip
        print(f"Mock portal {server.url} ({args.generation}), {args.latency_ms} ms per page, structure {structure}; "
              f"{os.cpu_count()} CPU(s), load {load_average()}", file=sys.stderr)  # fmt: skip
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        served: dict[str, tuple[dict[str, Any], int]] = {}
        order = list(commands)
        for pair in range(args.pairs):
            for name in order if pair % 2 == 0 else order[::-1]:
                call(server.url + "/__mock__/reset", "POST", {})
                call(server.url + "/__mock__/next-passwords", "POST", clean_passwords(3))
                times.clear()
                wall, cpu, code, errors = child(commands[name], {**env, "BENCH_TRACE": "1" * name.endswith("trace")})
                if code != 0:
                    print(f"{name}: exit {code}\n{errors}", file=sys.stderr)
                    return 1
                runs[name].append((wall, cpu, times.total()))
                served[name] = (call(server.url + "/__mock__/state")["pages_served"], 1)  # type: ignore[index]
                print(f"  pair {pair + 1} {name:10}: wall {wall:.2f} s, CPU {cpu:.2f} s, "
                      f"mock pages {times.total():.2f} s ({times.count} requests)", file=sys.stderr)  # fmt: skip
        load = load_average()

    def ratios(other: str) -> tuple[float, float]:
        pairs = [(r[0] / h[0], r[1] / h[1]) for r, h in zip(runs["robot"], runs[other], strict=True)]
        return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)

    print(f"\nReset of one structure, mock portal ({args.generation}) at {args.latency_ms} ms per page, "
          f"{args.pairs} pairs A B, "
          f"{os.cpu_count()} CPU(s), load average at the end {load}:\n")  # fmt: skip
    print("| | wall (median, s) | CPU of the process tree (median, s) | mock's page times (median, s) |")
    print("|---|---:|---:|---:|")
    labels = {
        "robot": "`chorus-robot run`", "hand": "hand-written Playwright",
        "hand+trace": "hand-written, traced like `run`",
    }  # fmt: skip
    for name, label in labels.items():
        wall, cpu, pages = (statistics.median(r[i] for r in runs[name]) for i in range(3))
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {pages:.2f} |")
    for other in ("hand", "hand+trace"):
        wall_ratio, cpu_ratio = ratios(other)
        print(f"| ratio robot / {labels[other]} (median of the pairs) | **{wall_ratio:.2f}** | **{cpu_ratio:.2f}** | |")
    print("\nHTML pages the mock served for the reset (login included), last run of each:\n")
    print(pages_by_kind({labels[name]: served[name] for name in labels}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
