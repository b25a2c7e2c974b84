"""Issue 4, step mode: the operator answers each step through stdin (Enter, s, q)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path

from tests.conftest import PROJECT, ROBOT, ROWS_PER_PAGE, Portal

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
    asked, answers, said = [], {SKIP: "s", QUIT: "q"}, []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            said.append(line)
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
    assert sum("étape passée" in line for line in said) == 1, "`s` (then Enter, without a terminal) says so"
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


# ---------------------------------------------------------------- issue 19, point 5: at a terminal

SKIPPED = "Écran « Activités du gestionnaire »"
CATALOGUE_KEY = re.compile(r"\b[a-z]+_[a-z_]+\.[a-z_]+\b")  # activites_gestionnaire.mes_structures


def converse(command: list[str], answer_for, tmp_path: Path) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """Runs the robot with a terminal as its stdin; answers each prompt with one key, without Enter."""
    master, slave = os.openpty()
    stderr = (tmp_path / "stderr.txt").open("w", encoding="utf-8")
    process = subprocess.Popen(
        command, stdin=slave, stdout=subprocess.PIPE, stderr=stderr, cwd=PROJECT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    os.close(slave)
    watchdog = threading.Timer(150, process.kill)
    watchdog.start()
    said, answered = b"", 0
    try:
        while chunk := os.read(process.stdout.fileno(), 65536):  # type: ignore[union-attr]
            said += chunk
            text = said.decode("utf-8", errors="ignore")
            while text.count(PROMPT_TEXT) > answered:
                asked = ASKED.findall(text[: _nth(text, PROMPT_TEXT, answered)])
                os.write(master, answer_for(asked[-1][1]).encode())
                answered += 1
        code = process.wait(timeout=60)
    finally:
        watchdog.cancel()
        stderr.close()
        os.close(master)
    return code, said.decode("utf-8"), (tmp_path / "stderr.txt").read_text(encoding="utf-8")


ASKED = re.compile(r"^\[étape (\d+)\] (.+)$", re.MULTILINE)
PROMPT_TEXT = "Entrée : exécuter · s : passer · q : arrêter > "


def _nth(text: str, part: str, n: int) -> int:
    at = -1
    for _ in range(n + 1):
        at = text.index(part, at + 1)
    return at


def test_step_mode_says_what_is_sought_the_page_turns_and_the_values_read(
    portal: Portal, syndicate: dict, tmp_path: Path
):
    structure = portal.managed_by(syndicate["login"])[2 * ROWS_PER_PAGE]
    code, said, errors = converse(
        [*ROBOT, "run", str(FLOW), "--portal-url", portal.url, "--var", f"structure={structure['identifiant']}",
         "--vault", str(tmp_path / "vault.json"), "--recordings", str(tmp_path / "recordings"), "--step"],
        lambda label: "s" if label == SKIPPED else "\r", tmp_path,
    )  # fmt: skip
    assert code == 0, errors
    lines = [line.replace(PROMPT_TEXT, "").strip() for line in said.splitlines()]
    # Nobody sees the outline without --headed: said once, first.
    assert lines[0] == "⚠ mode pas à pas sans navigateur visible : ajoutez --headed pour voir la surbrillance"
    assert sum("--headed" in line for line in lines) == 1
    # The row sought, by the structure and the table's name; each page turned, as the procedure shows it.
    picked = next(
        n
        for n, line in enumerate(lines)
        if line.endswith("] Dans « Mes structures », cliquez sur le « stylo » de la structure")
    )
    assert lines[picked + 1 : picked + 4] == [
        "écran « Activités du gestionnaire »",
        f"cherché : ligne de la structure {structure['identifiant']} dans « Mes structures »",
        "puis : « modifier » sur cette ligne",
    ], lines[picked:]
    assert "« Mes structures », page 1 : la ligne n'y est pas — page suivante du tableau (2/3)" in lines
    assert "« Mes structures », page 2 : la ligne n'y est pas — page suivante du tableau (3/3)" in lines
    found = next(line for line in lines if line.startswith("ligne trouvée, page 3 du tableau"))
    assert f"Identifiant structure « {structure['identifiant']} »" in found
    assert f"Raison sociale « {structure['raison_sociale']} »" in found
    # Elements by what a person sees, never by catalogue keys.
    assert "cherché : champ « Identifiant »" in lines and "cherché : bouton « Connexion »" in lines
    assert "écran attendu : « Modification de la structure »" in lines
    assert not [line for line in lines if CATALOGUE_KEY.search(line) and not line.startswith("—")]
    # `s` alone skips, and says so; the run goes on.
    assert "s — étape passée" in lines
    # Values read are shown; a password never.
    password = portal.structure(structure["identifiant"])["technical_user"]["password"]
    assert "valeur lue : «secret»" in lines
    assert password not in said and syndicate["password"] not in said
    assert "à saisir : «secret»" in lines
    assert f"valeur lue : « {portal.structure(structure['identifiant'])['technical_user']['login']} »" in lines
