"""BackupConfig: every field of coffer's configuration, the CLI's defaults, the environment
filling what is not given, and a repr without secrets."""

import inspect
import os
import subprocess

import pytest

import backup
from backup import BackupConfig
from backup.config import SECRETS, SETTINGS


def test_every_field_has_a_keyword_and_the_clis_defaults():
    config = BackupConfig()
    assert set(config.as_dict()) == set(SETTINGS)
    assert config.backup_dir == "backups"
    assert (config.retention_days, config.compression, config.compression_algorithm, config.compression_level,
            config.encryption, config.db_host, config.db_port, config.s3_mode, config.s3_prefix) == \
        (30, True, "zstd", 3, True, "localhost", 5432, "off", "backups/")


def test_the_defaults_are_those_coffer_config_shows():
    """`coffer config --json` (the CLI's own loader) and BackupConfig agree on every plain setting."""
    import json
    out = subprocess.run([os.environ["COFFER_BIN"], "config", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    rows = shown if isinstance(shown, list) else shown.get("settings", shown)
    values = {r["name"]: r["value"] for r in rows} if isinstance(rows, list) else rows
    config = BackupConfig().as_dict()
    for field, name in SETTINGS.items():
        if field in SECRETS or name not in values:
            continue
        mine = config[field]
        text = ":".join(mine) if isinstance(mine, list) else \
            "true" if mine is True else "false" if mine is False else str(mine)
        assert str(values[name]) in (text, "./" + text), (field, values[name], text)


def test_the_environment_fills_what_is_not_given(monkeypatch):
    monkeypatch.setenv("DB_PORT", "6543")
    monkeypatch.setenv("RETENTION_DAYS", "7")
    config = BackupConfig(db_name="innovative_school", retention_days=9)
    assert config.db_port == 6543          # from the environment
    assert config.retention_days == 9      # given: wins over the environment
    assert config.passphrase_file == os.environ["BACKUP_PASSPHRASE_FILE"]


def test_repr_never_shows_a_secret():
    config = BackupConfig(db_password="db-secret-1", passphrase="pass-secret-2", s3_bucket="b",
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="aws-secret-3",
                          aws_session_token="token-secret-4")
    text = repr(config)
    for secret in ("db-secret-1", "pass-secret-2", "aws-secret-3", "token-secret-4"):
        assert secret not in text
        assert secret not in str(config.as_dict())
    assert "db_password=<redacted>" in text and "AKIDEXAMPLE" in text
    assert config.db_password == "db-secret-1"  # the program's own value stays readable


def test_unknown_keyword_and_assignment_are_refused():
    with pytest.raises(TypeError):
        BackupConfig(db_hots="x")
    with pytest.raises(AttributeError):
        BackupConfig().db_port = 1


def test_help_explains_each_call():
    for name, member in inspect.getmembers(backup.BackupManager, inspect.isfunction):
        if not name.startswith("_"):
            assert member.__doc__ and len(member.__doc__) > 20, name
    assert backup.BackupConfig.__doc__ and backup.BackupManager.__doc__
    stub = os.path.join(os.path.dirname(backup.__file__), "__init__.pyi")
    with open(stub) as f:
        text = f.read()
    for name, member in inspect.getmembers(backup.BackupManager, inspect.isfunction):
        if not name.startswith("_"):
            assert f"def {name}(" in text, f"{name} has no stub"
    for field in SETTINGS:
        assert f"{field}:" in text, f"BackupConfig.{field} has no stub"
