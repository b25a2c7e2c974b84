"""`chorus-robot init DIR`: a working directory for an installed robot.

It writes a commented configuration (robot.yaml), a roster example, an `.env.example` naming every variable the
roster and the flows read, empty selectors/ and flows/ folders (a README line says what goes there: a file there
replaces the packaged one of the same name), the flow schema (a packaged flow copied into flows/ keeps its first
line), and the nightly job's systemd unit + timer and crontab, all pointing at DIR. Commands run in DIR then use
its files first (robots/language/layers.py); what it does not hold comes from the package.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import shutil
import sys
from pathlib import Path

from robots.config import CONFIG_NAME, packaged
from robots.errors import EXIT_OK, BadInput
from robots.support.private_files import write_private

ROSTER_NAME = "roster.yaml"
SERVICE_NAME = "chorus-robot-renew"

SELECTORS_README = """\
# Écrans propres à ce dossier

Un fichier `<écran>.yaml` posé ici remplace l'écran de même nom du catalogue livré avec le robot (copiez-le depuis
`chorus-robot screens`, qui dit d'où vient chaque écran, puis corrigez ses `find:`) ; `chorus-robot validate` liste
les surcharges.
"""

FLOWS_README = """\
# Flows propres à ce dossier

Un flow posé ici au même chemin qu'un flow livré le remplace (`flows/common/login.yaml` remplace
`common/login.yaml`, pour `run` comme pour les appels de sous-flows) ; un nouveau nom est un flow de plus.
`chorus-robot validate` vérifie l'ensemble et liste les surcharges.
"""

CONFIG_HEADER = """\
# Configuration de ce dossier de travail (écrite par `chorus-robot init`). Les commandes lancées dans ce dossier
# la lisent (ailleurs : --config FICHIER) ; les chemins relatifs (coffre, journal) partent de ce dossier.
"""

# Variables the robot reads besides the roster's and the flows' own (README « Variables d'environnement »).
ROBOT_VARIABLES = {
    "CHORUS_ROBOT_SMTP_HOST": "serveur SMTP des livraisons par courriel (et _PORT, _USER, _FROM, _STARTTLS, _SSL)",
    "CHORUS_ROBOT_SMTP_USER": "",
    "CHORUS_ROBOT_SMTP_PASSWORD": "",
    "CHORUS_ROBOT_SMTP_FROM": "",
    "CHORUS_ROBOT_IMAP_PASSWORD": "boîte aux lettres du second facteur par courriel (registre : mailbox)",
    "CHORUS_TOTP_SECRET": "secret de l'authentificateur pour `run` (base32)",
    "PISTE_CLIENT_ID": "application PISTE du contrôle par l'API",
    "PISTE_CLIENT_SECRET": "",
    "CHORUS_ROBOT_VAULT_KEY": "clé du coffre chiffré (settings.vault_encryption: age)",
}


def register(commands: argparse._SubParsersAction) -> None:
    init = commands.add_parser(
        "init", help="écrire un dossier de travail : configuration, registre, .env.example, systemd, crontab"
    )
    init.add_argument("dir", metavar="DIR", help="dossier à préparer (créé s'il n'existe pas)")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    folder = Path(args.dir).expanduser().resolve()
    for line in init_directory(folder):
        print(line)
    return EXIT_OK


def init_directory(folder: Path) -> list[str]:
    """Writes the working directory; refuses to overwrite anything (exit 2, nothing written)."""
    files = planned_files(folder)
    taken = [path for path in files if path.exists()]
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder} : ce n'est pas un dossier")
    if taken:
        names = ", ".join(str(path.relative_to(folder)) for path in taken)
        raise BadInput(f"{folder} contient déjà {names} : rien n'a été écrit (choisissez un autre dossier)")
    for path, content in files.items():
        write_private(path, content)
    (folder / "var").mkdir(mode=0o700, exist_ok=True)
    return [
        f"Dossier de travail écrit : {folder}",
        *(f"  {path.relative_to(folder)}" for path in files),
        "Ensuite : copiez .env.example en .env (mode 0600) et remplissez-le, adaptez roster.yaml, puis dans ce "
        f"dossier : chorus-robot validate ; chorus-robot renew --env production --roster {ROSTER_NAME} --dry-run",
    ]


def planned_files(folder: Path) -> dict[Path, str]:
    roster = _roster_example()
    command = robot_command()
    return {
        folder / CONFIG_NAME: CONFIG_HEADER + packaged("config", CONFIG_NAME).read_text(encoding="utf-8"),
        folder / ROSTER_NAME: roster,
        folder / ".env.example": env_example(roster),
        folder / "selectors" / "README.md": SELECTORS_README,
        folder / "flows" / "README.md": FLOWS_README,
        folder / "schema" / "flow.schema.json": packaged("schema", "flow.schema.json").read_text(encoding="utf-8"),
        folder / "systemd" / f"{SERVICE_NAME}.service": systemd_service(folder, command),
        folder / "systemd" / f"{SERVICE_NAME}.timer": SYSTEMD_TIMER,
        folder / "crontab": crontab(folder, command),
    }


def _roster_example() -> str:
    text = packaged("examples", ROSTER_NAME).read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    return f"# Le registre de la nuit : `chorus-robot renew --env production --roster {ROSTER_NAME}`.\n{rest}"


def env_example(roster_text: str) -> str:
    """Every variable the roster example and the flows read, each on a line `NAME=` to fill in."""
    from robots.language.files import secret_variables

    roster = _roster_variables(roster_text)
    shipped = sorted(packaged("flows").rglob("*.yaml"))
    flows = sorted({name for path in shipped for name in secret_variables(path)} - set(roster))
    lines = ["# Copiez ce fichier en .env (mode 0600) : chorus-robot le lit dans le dossier où il est lancé.", ""]
    lines += ["# Comptes du registre (roster.yaml : login_env, password_env, totp_env)"]
    lines += [f"{name}=" for name in roster]
    lines += ["", "# Secrets des flows (`run`, `accounts`, `parametrage`)"]
    lines += [f"{name}=" for name in flows]
    lines += ["", "# Services du robot (facultatifs selon l'usage)"]
    for name, what in ROBOT_VARIABLES.items():
        lines += [f"# {what}"] if what else []
        lines += [f"{name}="]
    return "\n".join(lines) + "\n"


def _roster_variables(roster_text: str) -> list[str]:
    import yaml

    names: list[str] = []
    for account in yaml.safe_load(roster_text).get("accounts", []):
        names += [account[key] for key in ("login_env", "password_env", "totp_env") if account.get(key)]
    return list(dict.fromkeys(names))


def robot_command() -> str:
    """How the unit and the crontab start this very robot: the installed `chorus-robot` next to the interpreter."""
    beside = Path(sys.executable).parent / "chorus-robot"
    if beside.is_file():
        return shlex.quote(str(beside))
    found = shutil.which("chorus-robot")
    return shlex.quote(found) if found else f"{shlex.quote(sys.executable)} -m robots.cli"


def systemd_service(folder: Path, command: str) -> str:
    return f"""\
# Copiez ce fichier et le .timer dans /etc/systemd/system/, puis : systemctl enable --now {SERVICE_NAME}.timer
# Une nuit de renouvellement, lancée dans {folder} : sa configuration, son .env, ses selectors/ et flows/.
[Unit]
Description=chorus-robot : renouveler les mots de passe techniques Chorus Pro qui expirent bientôt
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User={getpass.getuser()}
WorkingDirectory={folder}
ExecStart={command} renew --env production --roster {folder / ROSTER_NAME} --within 30 \\
    --report {folder}/var/renewal/renew-latest.json --junit {folder}/var/renewal/renew-latest.xml
# Code 1 : une structure a échoué (voir le rapport) ; 4 : la nuit précédente tourne encore.
UMask=0077
TimeoutStartSec=3h
Nice=5
PrivateTmp=true
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths={folder}
"""


SYSTEMD_TIMER = f"""\
# Chaque nuit à 02:30 (une nuit manquée machine éteinte part au démarrage) : systemctl enable --now {SERVICE_NAME}.timer
[Unit]
Description=Renouvellement nocturne des mots de passe techniques Chorus Pro

[Timer]
OnCalendar=*-*-* 02:30:00
RandomizedDelaySec=15min
Persistent=true

[Install]
WantedBy=timers.target
"""


def crontab(folder: Path, command: str) -> str:
    where = shlex.quote(str(folder))
    return (
        "# crontab -e : chaque nuit à 02:30, dans le dossier de travail (sa configuration, son .env, ses selectors/ et"
        " flows/).\n# Code 4 : la nuit précédente tourne encore ; cron envoie par courriel ce qui est écrit.\n"
        f"30 2 * * *  cd {where} && {command} renew --env production --roster {ROSTER_NAME} "
        "--report var/renewal/renew-latest.json --junit var/renewal/renew-latest.xml >/dev/null "
        '|| echo "chorus-robot renew : code de sortie $? (voir var/renewal/logs/renew.log)"\n'
    )
