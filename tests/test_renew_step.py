"""Issue 4 × issue 3: step mode works for the nightly job too; « q » stops the night cleanly."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path

from tests.conftest import PROJECT, ROBOT, Portal

PROMPT = re.compile(r"\[étape (\d+)\] (.+)$")
QUIT_AT = "Cliquez sur le bouton « Réinitialiser le mot de passe (utilisateur technique) »"


def test_renew_in_step_mode_stops_before_the_reset_on_the_operators_word(
    portal: Portal, syndicate: dict, tmp_path: Path
):
    soon = (datetime.now() + timedelta(days=30)).isoformat()
    due = next(s for s in portal.managed_by(syndicate["login"]) if s["technical_user"]["expires_at"] < soon)
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: syndicat\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        f'    password_env: SYNDICAT_PASSWORD\n    structures:\n      - identifiant: "{due["identifiant"]}"\n'
    )
    journal, report = tmp_path / "journal.sqlite", tmp_path / "report.json"
    process = subprocess.Popen(
        [*ROBOT, "renew", "--portal-url", portal.url, "--roster", str(roster), "--step", "--journal", str(journal),
         "--vault", str(tmp_path / "vault.json"), "--report", str(report), "--log-file", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        cwd=PROJECT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "SYNDICAT_LOGIN": syndicate["login"],
             "SYNDICAT_PASSWORD": syndicate["password"]},
    )  # fmt: skip
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    asked, output = [], []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            prompt = PROMPT.search(line)
            if prompt:
                label = prompt.group(2).split(" — ")[0]
                asked.append(label)
                process.stdin.write(("q" if label == QUIT_AT else "") + "\n")  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
        code = process.wait(timeout=60)
    finally:
        watchdog.cancel()
    said = "".join(output)

    assert code == 1, said
    assert asked[0] == "Connectez-vous au Portail de Gestion Publique", "a grouping step is a heading"
    assert "— Choisir la porte d'entrée" in said
    assert "Visualiser la date d'expiration du mot de passe" in asked
    assert asked[-1] == QUIT_AT
    assert f"arrêt demandé avant l'étape « {QUIT_AT} »" in said
    assert "Traceback" not in said
    assert portal.structure(due["identifiant"])["reset_count"] == 0
    (outcome,) = json.loads(report.read_text())["outcomes"]
    assert outcome["identifiant"] == due["identifiant"]
    assert outcome["action"] == "failed"
    assert "arrêt demandé" in outcome["error"]
    with open(f"{journal}.lock", "a") as lock:  # the stopped run let go of its lock
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
