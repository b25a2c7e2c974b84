"""Issue 13, point 2: the night's console line per structure (count, outcome, time left) and its verbosity."""

from __future__ import annotations

from loguru import logger

from robots import logs
from robots.jobs.renewal.progress import Progress
from robots.jobs.renewal.report import FAILED, RENEWED, SKIPPED, Outcome


def test_each_line_counts_names_and_tells_the_time_left():
    progress = Progress(known=3, unlisted=set())
    progress.started -= 120  # two minutes already spent on the first structure
    first = progress.line(Outcome("siagep", "21300258600013", RENEWED, new_expiry="2027-02-22T10:00:00",
                                  raison_sociale="COMMUNE DE SAINT-GILLES"))  # fmt: skip
    assert first.startswith("1/3 « siagep » 21300258600013 COMMUNE DE SAINT-GILLES : renouvelée, expire le 22/02/2027")
    assert first.endswith("reste ≈ 4 min")
    second = progress.line(Outcome("siagep", "21300321200015", SKIPPED, "expire dans 80 jours"))
    assert "2/3" in second and "rien à faire (expire dans 80 jours)" in second
    last = progress.line(Outcome("siagep", "21300351900013", FAILED, error="l'écran « Accueil » était attendu"))
    assert last.startswith("3/3 ") and last.endswith("en échec — l'écran « Accueil » était attendu")


def test_an_account_taking_all_its_structures_completes_the_total_once_listed():
    progress = Progress(known=2, unlisted={"societe"})
    assert progress.line(Outcome("societe", "81234567800013", SKIPPED, "structure inactive")).startswith("1/2+ ")
    progress.listed("societe", 3)
    assert progress.line(Outcome("siagep", "21300258600013", SKIPPED)).startswith("2/6 ")


def test_quiet_verbose_and_default_consoles(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    def said(**how) -> str:
        logs.setup(**how)
        logger.bind(operator=True).info("1/9 ligne pour l'exploitant")
        logger.patch(lambda r: r.update(name="robots.engine.runner")).info("▶ une étape")
        logger.patch(lambda r: r.update(name="robots.engine.runner")).error("l'étape a échoué")
        logger.warning("attention")
        logger.error("une erreur")
        return capsys.readouterr().err

    normal = said()
    assert "1/9" in normal and "attention" in normal and "une erreur" in normal
    assert "▶" not in normal and "l'étape a échoué" not in normal, "steps in the log file; an error said once"
    assert "\x1b[" not in normal, "NO_COLOR"
    quiet = said(quiet=True)
    assert "une erreur" in quiet and "1/9" not in quiet and "attention" not in quiet
    verbose = said(verbose=True)
    assert "▶ une étape" in verbose and "l'étape a échoué" in verbose
    steps = said(steps=True)
    assert "▶ une étape" in steps and "l'étape a échoué" not in steps
