"""Issue 12 (secrets at rest): the vault encrypted with age, its key guarded, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from robots.errors import BadInput, VaultError
from robots.store.vault import AGE_HEADER, KEY_ENV, Vault, load_cipher, new_key_file
from tests.conftest import PROJECT, ROBOT, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "vault.key"
    assert new_key_file(path).startswith("age1")
    return path


def test_an_encrypted_vault_holds_no_clear_text_and_reads_back(tmp_path: Path, key_file: Path):
    vault = Vault(tmp_path / "vault.json", load_cipher("age", key_file))
    vault.put("21300007500019", login="TECH_1@cpp2017.fr", password="Kq3vZ8pLm2Xw")

    data = vault.path.read_bytes()
    assert data.startswith(AGE_HEADER) and b"Kq3vZ8pLm2Xw" not in data and b"TECH_1" not in data
    assert vault.path.stat().st_mode & 0o777 == 0o600 and key_file.stat().st_mode & 0o777 == 0o600
    assert vault.get("21300007500019")["password"] == "Kq3vZ8pLm2Xw"


def test_without_the_key_or_with_another_the_vault_is_refused_and_kept(tmp_path: Path, key_file: Path):
    vault = Vault(tmp_path / "vault.json", load_cipher("age", key_file))
    vault.put("21300007500019", password="Kq3vZ8pLm2Xw")
    before = vault.path.read_bytes()
    other = tmp_path / "other.key"
    new_key_file(other)

    with pytest.raises(VaultError, match="chiffré"):
        Vault(vault.path).put("21300007500019", password="x")
    with pytest.raises(VaultError, match="déchiffrement impossible"):
        Vault(vault.path, load_cipher("age", other)).put("21300007500019", password="x")
    assert vault.path.read_bytes() == before


def test_a_key_file_readable_by_others_or_not_a_key_is_refused(tmp_path: Path, key_file: Path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    key_file.chmod(0o644)
    with pytest.raises(BadInput, match="600"):
        load_cipher("age", key_file)
    monkeypatch.setenv(KEY_ENV, "not a key")
    with pytest.raises(BadInput, match="AGE-SECRET-KEY"):
        load_cipher("age", None)
    with pytest.raises(BadInput, match="existe déjà"):
        new_key_file(key_file)


def test_a_plain_vault_is_encrypted_at_its_next_write_with_every_entry_kept(tmp_path: Path, key_file: Path):
    Vault(tmp_path / "vault.json").put("1", password="Ancien1234ab")
    vault = Vault(tmp_path / "vault.json", load_cipher("age", key_file))

    vault.put("2", password="Nouveau123ab")

    assert vault.path.read_bytes().startswith(AGE_HEADER)
    assert {k: v["password"] for k, v in vault.read().items()} == {"1": "Ancien1234ab", "2": "Nouveau123ab"}


def _writer(path: str, key: str, writer: int, start: Any) -> None:
    vault = Vault(Path(path), load_cipher("age", Path(key)))
    start.wait(60)  # all ten write at once: a spawned process takes longer to start than to write 15 entries
    for n in range(15):
        vault.put(f"{writer:02d}{n:02d}", password=f"pw-{writer}-{n}")


def test_ten_concurrent_writers_lose_no_entry(tmp_path: Path, key_file: Path):
    path = tmp_path / "vault.json"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(10)
    writers = [context.Process(target=_writer, args=(str(path), str(key_file), w, start)) for w in range(10)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)

    assert [p.exitcode for p in writers] == [0] * 10
    entries = Vault(path, load_cipher("age", key_file)).read()
    assert len(entries) == 150
    assert entries["0714"]["password"] == "pw-7-14"


def test_run_keeps_the_new_password_in_an_encrypted_vault(portal: Portal, syndicate: dict, tmp_path: Path):
    config = tmp_path / "robot.yaml"
    key_file = tmp_path / "vault.key"
    new_key_file(key_file)
    text = (PROJECT / "config" / "robot.yaml").read_text(encoding="utf-8")
    config.write_text(text + f"  vault_encryption: age\n  vault_key_file: {key_file}\n", encoding="utf-8")
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    vault = tmp_path / "vault.json"

    done = robot(
        "run", str(FLOW), "--portal-url", portal.url, "--var", f"structure={structure}", "--vault", str(vault),
        "--journal", str(tmp_path / "journal.sqlite"), env={"CHORUS_ROBOT_CONFIG": str(config)},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    password = portal.structure(structure)["technical_user"]["password"]
    assert password.encode() not in vault.read_bytes()
    assert Vault(vault, load_cipher("age", key_file)).get(structure)["password"] == password

    # The person who needs it reads it back, through the same key: stdout only, never stderr or a log.
    env = {"CHORUS_ROBOT_CONFIG": str(config)}
    got = robot("vault", "get", structure, "--vault", str(vault), "-v", env=env)
    assert got.returncode == 0, got.stderr
    assert f"Mot de passe          : {password}" in got.stdout.splitlines()
    assert "Écrite le" in got.stdout and portal.structure(structure)["technical_user"]["login"] in got.stdout
    assert password not in got.stderr
    unknown = robot("vault", "get", "99999999999999", "--vault", str(vault), env=env)
    assert unknown.returncode == 2 and "aucune entrée pour la structure 99999999999999" in unknown.stderr
    assert unknown.stdout == "" and "Traceback" not in unknown.stderr
    keyless = robot("vault", "get", structure, "--vault", str(vault))  # the default configuration: no key
    assert keyless.returncode == 2 and password not in keyless.stdout + keyless.stderr, keyless.stderr


def test_ten_concurrent_runs_on_one_vault_keep_every_entry(tmp_path: Path):
    """Ten `chorus-robot run` child processes at once, one vault and one journal: each keeps its password through
    the journal and the vault as a reset does (tests/flows/keep_given_password.yaml: no portal, cheaper), and the
    entry the vault held before is still there."""
    vault = tmp_path / "vault.json"
    Vault(vault).put("99999999999999", login="TECH_AUTRE@cpp", password="Ancien1234ab")
    kept = {f"2130000{n:07d}": f"Neuf{n:02d}abcDEF" for n in range(10)}
    runs = [
        subprocess.Popen(
            [
                *ROBOT,
                "run",
                str(PROJECT / "tests" / "flows" / "keep_given_password.yaml"),
                "--var",
                f"structure={structure}",
                "--var",
                f"password={password}",
                "--vault",
                str(vault),
                "--journal",
                str(tmp_path / "journal.sqlite"),
                "-q",
            ],
            cwd=PROJECT,
            env=os.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for structure, password in kept.items()
    ]
    assert sum(run.poll() is None for run in runs) == 10, "the ten runs are alive together"
    finished = [run.communicate(timeout=300) for run in runs]

    assert [run.returncode for run in runs] == [0] * 10, [err[-500:] for _, err in finished]
    entries = json.loads(vault.read_text())
    assert entries["99999999999999"]["password"] == "Ancien1234ab"
    assert {k: entries[k]["password"] for k in kept} == kept
