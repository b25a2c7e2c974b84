"""Benchmark of `chorus-robot renew`: structures per minute at --jobs 1, 2, 4, 8, peak memory, cost by position.

Mock data is generated: one account managing --structures structures (5 per page of « Mes structures »),
all due in 5 days; the mock adds --latency-ms to every page (the real portal is slow) and hands out
passwords without « / » (no random retries). Each run is a child process; its process tree (Python,
Playwright's drivers, the Chromium processes) is sampled from /proc: the peak of the summed RSS and of
the summed PSS (RSS counts the pages Chromium's processes share once per process; PSS splits them).
The time of each structure (report.json) is printed against its position in the table, and the HTML pages
the mock served per structure, by kind of page (its state's `pages_served`).

    .venv/bin/python bench/renew_throughput.py [--structures 100] [--jobs 1 2 4 8] [--latency-ms 300]
                                               [--generation services|legacy]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.mockstats import call, clean_passwords, load_average, pages_by_kind  # noqa: E402
from fixtures.mock_portal import MockPortalServer  # noqa: E402
from robots.support.parsers import with_luhn_key  # noqa: E402

LOGIN, PASSWORD = "syndicat.bench", "Bench-Passw0rd"


def bench_siret(n: int) -> str:
    """The n-th generated structure's SIRET, with its right key (a roster or `plan` checks it)."""
    return with_luhn_key(f"2130{n:09d}")


def write_data(folder: Path, structures: int) -> Path:
    """One syndicate managing `structures` structures, every technical password due in 5 days."""
    rows = [
        {
            "identifiant": bench_siret(n), "raison_sociale": f"COMMUNE DE BENCH {n:03d}", "manager": LOGIN,
            "email": f"mairie{n}@bench.example", "adresse": {"ville": "NÎMES", "code_postal": "30000"},
            "technical_user": {"login": f"TECH_0{bench_siret(n)}0@cpp2017.fr", "password": f"Old{n:09d}",
                               "expires_at": "+5d"},
        }
        for n in range(1, structures + 1)
    ]  # fmt: skip
    account = {"login": LOGIN, "password": PASSWORD, "portal": "dgfip", "civilite": "Mme", "nom": "BENCH",
               "prenom": "Camille", "email": "camille@bench.example"}  # fmt: skip
    path = folder / "portal.yaml"
    path.write_text(yaml.safe_dump({"accounts": [account], "structures": rows}, allow_unicode=True))
    return path


def write_roster(folder: Path) -> tuple[Path, dict[str, str]]:
    roster = folder / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: syndicat\n    portal: dgfip\n    login_env: BENCH_LOGIN\n"
        "    password_env: BENCH_PASSWORD\n    structures: all\n"
    )
    return roster, {"BENCH_LOGIN": LOGIN, "BENCH_PASSWORD": PASSWORD}


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


def process_kind(pid: int) -> str:
    """What a process of the tree is: the robot's Python, Playwright's driver, or a kind of Chromium process."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()  # Chromium retitles its own
    except OSError:
        return "gone"
    if not words:
        return "gone"
    name = Path(words[0].decode(errors="replace")).name
    kind = next((w.decode(errors="replace")[7:] for w in words if w.startswith(b"--type=")), None)
    if kind:
        return f"chromium {kind}"
    return "chromium browser" if "chrom" in name else name


class PeakMemory(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_rss, self.peak_pss, self.done = root, 0, 0, threading.Event()
        self.at_peak: dict[str, tuple[int, int]] = {}  # kind of process → (count, PSS kB) when PSS peaked

    def run(self) -> None:
        while not self.done.is_set():
            pids = descendants(self.root)
            samples = [memory_kb(pid) for pid in pids]
            self.peak_rss = max(self.peak_rss, sum(s[0] for s in samples))
            pss = sum(s[1] for s in samples)
            if pss > self.peak_pss:
                self.peak_pss, self.at_peak = pss, {}
                for pid, (_, one) in zip(pids, samples, strict=True):
                    count, total = self.at_peak.get(process_kind(pid), (0, 0))
                    self.at_peak[process_kind(pid)] = (count + 1, total + one)
            self.done.wait(0.25)


def one_run(url: str, jobs: int, roster: Path, env: dict[str, str], folder: Path, structures: int) -> dict:
    call(url + "/__mock__/reset", "POST", {})
    call(url + "/__mock__/next-passwords", "POST", clean_passwords(structures + 10))
    work = folder / f"jobs{jobs}"
    work.mkdir()
    command = [
        sys.executable, "-m", "robots.cli", "renew", "--env", "mock", "--portal-url", url, "--roster", str(roster),
        "--within", "30", "--jobs", str(jobs), "--journal", str(work / "journal.sqlite"),
        "--vault", str(work / "vault.json"), "--report", str(work / "report.json"), "--log-file", str(work / "log"),
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=PROJECT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    sampler = PeakMemory(process.pid)
    sampler.start()
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)  # the CPU of the whole tree: each level waits for its children
    elapsed = time.monotonic() - started
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    sampler.done.set()
    sampler.join()
    served = call(url + "/__mock__/state")["pages_served"]  # type: ignore[index]
    report = json.loads((work / "report.json").read_text()) if (work / "report.json").exists() else {}
    if process.returncode != 0:
        print(f"  --jobs {jobs}: exit {process.returncode}\n{''.join(errors)[-2000:]}", file=sys.stderr)
    counts = report.get("counts", {})
    durations = [o.get("duration_s", 0.0) for o in report.get("outcomes", [])]
    by_id = {o["identifiant"]: o.get("duration_s", 0.0) for o in report.get("outcomes", [])}
    return {
        "jobs": jobs, "renewed": counts.get("renewed", 0), "failed": counts.get("failed", 0), "seconds": elapsed,
        "per_minute": counts.get("renewed", 0) * 60 / elapsed, "rss_mb": sampler.peak_rss / 1024,
        "pss_mb": sampler.peak_pss / 1024, "at_peak": sampler.at_peak,
        "by_position": [by_id.get(bench_siret(n)) for n in range(1, structures + 1)],
        "mean_s": statistics.mean(durations) if durations else 0.0, "load": load_average(),
        "cpu_per_structure": (usage.ru_utime + usage.ru_stime) / max(1, counts.get("renewed", 0)),
        "pages": served,
    }  # fmt: skip


def positions(row: dict, buckets: int = 10) -> str:
    """Median time of a structure per tenth of the table (position 1 = first row of page 1)."""
    times = row["by_position"]
    size = max(1, len(times) // buckets)
    cells = []
    for start in range(0, len(times), size):
        part = [t for t in times[start : start + size] if t is not None]
        cells.append(f"{statistics.median(part):.1f}" if part else "–")
    return " | ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=100)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--generation", choices=["services", "legacy"], default="services")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="renew-bench-") as temporary:
        folder = Path(temporary)
        data = write_data(folder, args.structures)
        roster, env = write_roster(folder)
        with MockPortalServer(data, latency_ms=args.latency_ms, generation=args.generation) as server:
            print(f"Mock portal {server.url} ({args.generation}), {args.latency_ms} ms per page; "
                  f"{args.structures} structures, all due; "
                  f"{os.cpu_count()} CPU(s), load {load_average()}\n", file=sys.stderr)  # fmt: skip
            rows = []
            for jobs in args.jobs:
                rows.append(one_run(server.url, jobs, roster, env, folder, args.structures))
                row = rows[-1]
                print(f"  --jobs {jobs}: {row['seconds']:.0f} s, {row['renewed']} renewed, {row['failed']} failed, "
                      f"load {row['load']}", file=sys.stderr)  # fmt: skip
    print(f"\n`chorus-robot renew`, mock portal ({args.generation} generation) with {args.latency_ms} ms per page, "
          f"one account, {args.structures} structures due, {os.cpu_count()} CPU(s):\n")  # fmt: skip
    print(
        "| --jobs | renewed | failed | wall time (s) | structures / minute | mean s / structure "
        "| CPU s / structure | peak RSS (MB) | peak PSS (MB) | load at the end |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print(f"| {row['jobs']} | {row['renewed']} | {row['failed']} | {row['seconds']:.1f} | "
              f"{row['per_minute']:.1f} | {row['mean_s']:.1f} | {row['cpu_per_structure']:.2f} "
              f"| {row['rss_mb']:.0f} | {row['pss_mb']:.0f} "
              f"| {row['load']} |")  # fmt: skip
    print("\nSeconds per structure (median) by position in « Mes structures », in tenths of the table:\n")
    print("| --jobs | " + " | ".join(f"{10 * i + 1}–{10 * (i + 1)} %" for i in range(10)) + " |")
    print("|---:|" + "---:|" * 10)
    for row in rows:
        print(f"| {row['jobs']} | {positions(row)} |")
    print("\nPeak PSS by kind of process (MB; how many processes):\n")
    for row in rows:
        parts = sorted(row["at_peak"].items(), key=lambda item: -item[1][1])
        print(f"- --jobs {row['jobs']}: " + ", ".join(f"{kind} {kb / 1024:.0f} ({n})" for kind, (n, kb) in parts))
    print("\nHTML pages the mock served per structure renewed (login and « Mes structures » included):\n")
    print(pages_by_kind({f"--jobs {r['jobs']}": (r["pages"], r["renewed"]) for r in rows}))
    first = rows[0]["by_position"]
    if first and first[0] is not None and first[-1] is not None:
        print(f"\n--jobs {rows[0]['jobs']}: first structure {first[0]:.1f} s (login included), last {first[-1]:.1f} s; "
              f"median of the first five {statistics.median(t for t in first[:5] if t is not None):.1f} s, "
              f"of the last five {statistics.median(t for t in first[-5:] if t is not None):.1f} s")  # fmt: skip
    return 0 if all(r["failed"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
