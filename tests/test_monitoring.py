"""Issue 21, point 5: `status --check` as a Nagios/Centreon/Icinga/Zabbix plugin, `--metrics` for Prometheus.

The plugin is run as a monitoring server runs it (a child process: its first line, its exit code); the metrics
file is parsed with prometheus_client's own parser, as node_exporter's textfile collector reads it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from robots.jobs.renewal.monitoring import Health, Thresholds, judge
from robots.store.journal import Journal
from robots.store.keepass_vault import PASSWORD_ENV
from robots.store.vaults import open_vault_file
from tests.conftest import robot
from tests.test_renew_crash import write_roster
from tests.test_status import in_days, night

PERFDATA = re.compile(r"^'?([^=']+)'?=(-?[\d.]+)(s|%|B|KB|MB|GB|TB|c)?;([^;]*);([^;]*);([^;]*);?([^;]*)$")


def check(journal: Path, vault: Path, *more: str) -> tuple[int, str, dict[str, float]]:
    """The plugin's exit code, its status line's text and its performance data, each label checked."""
    done = robot("status", "--check", "--journal", str(journal), "--vault", str(vault), *more)
    assert done.stderr == "" or "Traceback" not in done.stderr, done.stderr
    first = done.stdout.splitlines()[0]
    text, bar, perf = first.partition(" | ")
    assert bar, f"performance data after « | » : {first}"
    assert "|" not in text
    values = {}
    for item in perf.split():
        parsed = PERFDATA.match(item)
        assert parsed, f"not Nagios performance data: {item}"
        values[parsed.group(1)] = float(parsed.group(2))
    return done.returncode, done.stdout, values


def one_good_night(tmp_path: Path, days_left: int, started: datetime | None = None) -> tuple[Path, Path]:
    journal_path = tmp_path / "journal.sqlite"
    journal = Journal(journal_path)
    run = journal.start_run("renew", dry_run=False)
    journal.note_structure("21300258600013", "siagep", raison_sociale="COMMUNE DE SAINT-GILLES",
                           technical_login="TECH_1@cpp", expires_at=in_days(days_left), last_run_id=run,
                           last_action="renewed", last_error="", last_renewed=in_days(0))  # fmt: skip
    journal.finish_run(run, "ok", {"renewed": 1, "skipped": 0, "failed": 0})
    journal.close()
    if started is not None:
        with sqlite3.connect(journal_path) as db:
            db.execute("UPDATE runs SET started = ?", (started.astimezone().isoformat(timespec="seconds"),))
    return journal_path, tmp_path / "vault.json"


def test_a_failure_and_an_undelivered_password_are_critical(tmp_path: Path):
    journal, vault = night(tmp_path)  # a failure (12 days left), a hook still due, one far off

    code, output, perf = check(journal, vault)

    assert code == 2, output
    first, *details = output.splitlines()
    assert first.startswith("CHORUS-ROBOT CRITICAL - 3 structures : "), first
    assert "en échec (21300321200015)" in first and "livraison en attente (21300258600013)" in first
    assert "expire sous 21 jours (21300321200015)" in first
    assert perf["structures"] == 3 and perf["failed"] == 1 and perf["undelivered"] == 1
    assert 11 <= perf["min_days_left"] <= 12
    assert any(line.startswith("siagep 21300321200015 COMMUNE DE VAUVERT") for line in details), details
    assert "Clean123abc" not in output, "no password in what a monitoring server keeps"


def test_all_renewed_is_ok_and_days_within_the_thresholds_warn_then_alarm(tmp_path: Path):
    journal, vault = one_good_night(tmp_path / "ok", 200)
    code, output, perf = check(journal, vault)
    assert code == 0, output
    assert output.startswith("CHORUS-ROBOT OK - 1 structures : prochaine expiration dans 200 jours"), output
    assert perf["min_days_left"] == 200 and perf["failed"] == 0 and perf["last_night_age"] < 600

    journal, vault = one_good_night(tmp_path / "warn", 15)
    code, output, _ = check(journal, vault)
    assert code == 1 and output.startswith("CHORUS-ROBOT WARNING - "), output
    code, output, _ = check(journal, vault, "--warn", "10", "--critical", "5")
    assert code == 0, output
    code, output, _ = check(journal, vault, "--warn", "30", "--critical", "20")
    assert code == 2 and "expire sous 20 jours (21300258600013)" in output, output


def test_no_night_for_two_days_is_a_warning(tmp_path: Path):
    journal, vault = one_good_night(tmp_path, 200, started=datetime.now() - timedelta(hours=60))
    code, output, perf = check(journal, vault)
    assert code == 1 and "aucune nuit depuis 60 h" in output, output
    assert 59 * 3600 < perf["last_night_age"] < 61 * 3600
    assert check(journal, vault, "--max-age", "0")[0] == 0


def test_what_cannot_be_read_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    journal, vault = one_good_night(tmp_path, 200)
    vault.write_text("{pas du json", encoding="utf-8")
    done = robot("status", "--check", "--journal", str(journal), "--vault", str(vault))
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith(f"CHORUS-ROBOT UNKNOWN - coffre {vault} : JSON invalide"), done.stdout
    monkeypatch.setenv(PASSWORD_ENV, "Maitre-Du-Coffre-2026")
    open_vault_file(tmp_path / "coffre.kdbx").put("21300258600013", login="TECH_1@cpp", password="Clean123abc")
    monkeypatch.delenv(PASSWORD_ENV)
    kdbx = robot("status", "--check", "--journal", str(journal), "--vault", str(tmp_path / "coffre.kdbx"))
    assert kdbx.returncode == 3 and PASSWORD_ENV in kdbx.stdout, kdbx.stdout
    empty = robot("status", "--check", "--journal", str(tmp_path / "none.sqlite"), "--vault", str(tmp_path / "n.json"))
    assert empty.returncode == 3 and "rien à surveiller" in empty.stdout, empty.stdout
    bad = robot("status", "--check", "--warn", "3", "--critical", "7", "--journal", str(journal))
    assert bad.returncode == 3 and bad.stdout.startswith("CHORUS-ROBOT UNKNOWN - --warn 3 --critical 7"), bad.stdout


def test_status_metrics_are_prometheus_text_for_the_textfile_collector(tmp_path: Path):
    journal, vault = night(tmp_path, hook_failed=True)
    folder = tmp_path / "textfile"
    folder.mkdir()
    metrics = folder / "chorus_robot.prom"

    done = robot("status", "--metrics", str(metrics), "--journal", str(journal), "--vault", str(vault))

    assert done.returncode == 0, done.stderr
    text = metrics.read_text(encoding="utf-8")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    days = {(s.labels["identifiant"], s.labels["account"]): s.value
            for s in families["chorus_robot_technical_password_days_left"].samples}  # fmt: skip
    assert days[("21300321200015", "siagep")] in (11, 12)
    assert days[("21300258600013", "siagep")] in (364, 365)
    assert set(days) == {("21300258600013", "siagep"), ("21300321200015", "siagep"), ("21300351900013", "siagep")}
    outcomes = {s.labels["kind"]: s.value for s in families["chorus_robot_last_night_structures"].samples}
    assert outcomes == {"renewed": 1, "skipped": 1, "failed": 1, "dry-run": 0, "delivery_failed": 0}
    assert families["chorus_robot_deliveries_pending"].samples[0].value == 1
    renewed = families["chorus_robot_last_successful_renewal_timestamp_seconds"].samples[0].value
    assert abs(renewed - (datetime.now() + timedelta(hours=1)).timestamp()) < 120
    assert families["chorus_robot_last_night_success"].samples[0].value == 0
    assert metrics.stat().st_mode & 0o777 == 0o644, "node_exporter reads it as its own user"
    assert sorted(p.name for p in folder.iterdir()) == ["chorus_robot.prom"], "written atomically, nothing left"
    assert "Clean123abc" not in text and "TECH_1@cpp" not in text, "no secret, no login"


def test_metrics_into_a_folder_that_does_not_exist_is_said_in_french(tmp_path: Path):
    journal, vault = night(tmp_path)
    done = robot("status", "--metrics", str(tmp_path / "nowhere" / "m.prom"), "--journal", str(journal))
    assert done.returncode == 2 and "n'existe pas" in done.stderr and "node_exporter" in done.stderr, done.stderr


def test_judge_counts_an_expired_password_as_critical():
    expired = {"identifiant": "1", "days_left": -2, "last_result": "renewed", "open_deliveries": [], "state": "-"}
    code, lines = judge(Health([expired], None, None), Thresholds(max_age_h=0))
    assert code == 2 and "expired=1" in lines[0], lines


def test_renew_metrics_into_a_missing_folder_stops_before_the_night(tmp_path: Path):
    nowhere = "http://127.0.0.1:9"  # a browser or a portal there would fail otherwise: exit 1, not 2
    roster = write_roster(tmp_path, ["21300258600013"])
    done = robot(
        "renew", "--env", "mock", "--portal-url", nowhere, "--browser-cdp", nowhere, "--roster", str(roster),
        "--journal", str(tmp_path / "journal.sqlite"), "--log-file", "-",
        "--metrics", str(tmp_path / "textfile" / "chorus_robot.prom"),
        env={"SYNDICAT_LOGIN": "syndic", "SYNDICAT_PASSWORD": "Syndic123ab"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"le dossier {tmp_path / 'textfile'} n'existe pas" in done.stderr
    assert not (tmp_path / "journal.sqlite").exists(), "no night started"
