"""Issue 4, step mode: the operator answers each step through stdin (Enter, s, q)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path

from tests.conftest import PROJECT, ROBOT, Portal

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
PROMPT = re.compile(r"\[étape (\d+)\] (.+)$")
SKIP = "Confirmer la réinitialisation du mot de passe"
QUIT = "Un mot de passe est généré ; le copier"


def test_step_mode_runs_skips_and_stops_on_the_operators_word(portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    vault = tmp_path / "vault.json"
    stderr = (tmp_path / "stderr.txt").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [*ROBOT, "run", str(FLOW), "--portal-url", portal.url, "--var", f"structure={structure}",
         "--vault", str(vault), "--recordings", str(tmp_path / "recordings"), "--record", "trace", "--step"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, encoding="utf-8", cwd=PROJECT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    asked, answers = [], {SKIP: "s", QUIT: "q"}
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            prompt = PROMPT.search(line)
            if prompt:
                label = prompt.group(2).split(" — ")[0]
                asked.append(label)
                process.stdin.write(answers.get(label, "") + "\n")  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
        code = process.wait(timeout=60)
    finally:
        watchdog.cancel()
        stderr.close()
    errors = (tmp_path / "stderr.txt").read_text(encoding="utf-8")

    assert code == 1, errors
    assert "Se connecter" not in asked, "a grouping step is a heading, not a question"
    assert asked[0] == "Connectez-vous au Portail de Gestion Publique", asked
    assert "Renseignez le champ « mot de passe »" in asked
    assert asked[-2:] == [SKIP, QUIT], asked
    assert f"chorus-robot: arrêt demandé avant l'étape « {QUIT} »" in errors
    assert "Traceback" not in errors
    # The reset was asked for, its confirmation skipped: the portal did not reset anything.
    assert portal.structure(structure)["reset_count"] == 0
    assert not vault.exists() or structure not in json.loads(vault.read_text())
    assert "Réinitialiser le mot de passe (utilisateur technique)" in " ".join(asked)
    # The recording tells the same story.
    (recording,) = (tmp_path / "recordings").iterdir()
    steps = json.loads((recording / "steps.json").read_text(encoding="utf-8"))
    status = {s["label"]: s["status"] for s in steps["steps"]}
    assert status[SKIP] == "skipped" and status[QUIT] == "stopped"
    assert status["Cliquez sur « connexion »"] == "ok"
    assert steps["status"] == "stopped"
