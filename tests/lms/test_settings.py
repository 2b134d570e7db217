"""Production settings: `check --deploy` is clean, and missing essentials stop the start-up clearly."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def _production_env(tmp_path, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LMS_", "DJANGO_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lms.settings",
            "LMS_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "lms.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            "LMS_JWT_SECRET": secrets.token_urlsafe(40),
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _manage(tmp_path, *args, **overrides) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=_production_env(tmp_path, **overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_without_warnings_in_production(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set when LMS_ENV=production"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS must be set when LMS_ENV=production"),
        ("LMS_JWT_SECRET", "LMS_JWT_SECRET (HS256) or LMS_JWT_PUBLIC_KEY (RS256, PEM) must be set"),
    ],
)
def test_production_without_an_essential_setting_fails_to_start_clearly(tmp_path, missing, message):
    result = _manage(tmp_path, "check", **{missing: None})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LMS_JWT_SECRET": "short"}, "LMS_JWT_SECRET must be at least 32 characters"),
        ({"LMS_DEFAULT_TENANT": "acme"}, "LMS_DEFAULT_TENANT must be a UUID"),
        ({"LMS_ENV": "prod"}, "LMS_ENV must be `development` or `production`"),
        ({"LMS_JWT_PUBLIC_KEY": "not a pem"}, "must be RSA keys in PEM format"),
    ],
)
def test_bad_values_fail_to_start_clearly(tmp_path, overrides, message):
    result = _manage(tmp_path, "check", **overrides)

    assert result.returncode != 0
    assert message in result.stderr


def test_production_never_runs_with_the_development_jwt_secret(tmp_path):
    result = _manage(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.LMS_JWT_SECRET)",
                     LMS_JWT_SECRET=None, LMS_JWT_PUBLIC_KEY="")

    assert result.returncode != 0
    assert "dev-insecure" not in result.stdout


# A PostgreSQL URL nothing listens on: loading the settings does not connect, so none is needed.
_POSTGRES_URL = "postgres://lms@127.0.0.1:1/lms"
_PRINT_DATABASE = (
    "import json; from django.conf import settings; database = settings.DATABASES['default']; "
    "print(json.dumps({'engine': database['ENGINE'], 'options': database['OPTIONS'], "
    "'no_server_side_cursors': database.get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
)


def _database_settings(tmp_path, **overrides) -> dict:
    environment = {"DB_PREPARE_THRESHOLD": None, "DB_SERVER_SIDE_BINDING": None, "DB_TRANSACTION_POOLER": None}
    result = _manage(tmp_path, "shell", "-c", _PRINT_DATABASE, DATABASE_URL=_POSTGRES_URL,
                     **{**environment, **overrides})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_uses_the_polling_backend_and_prepares_after_five_runs_by_default(tmp_path):
    database = _database_settings(tmp_path)

    assert database["engine"] == "lms.db.backends.postgresql"
    assert database["options"]["server_side_binding"] is True
    assert database["options"]["prepare_threshold"] == 5
    assert database["no_server_side_cursors"] is False


@pytest.mark.parametrize(("value", "threshold"), [("2", 2), ("0", 0), ("", None), ("  ", None)],
                         ids=["two", "zero", "empty", "blank"])
def test_db_prepare_threshold_sets_it_and_empty_turns_preparing_off(tmp_path, value, threshold):
    assert _database_settings(tmp_path, DB_PREPARE_THRESHOLD=value)["options"]["prepare_threshold"] == threshold


def test_a_transaction_pooler_turns_off_named_cursors_binding_and_preparing(tmp_path):
    database = _database_settings(tmp_path, DB_TRANSACTION_POOLER="true", DB_PREPARE_THRESHOLD="3")

    assert database["no_server_side_cursors"] is True
    assert database["options"]["server_side_binding"] is False
    assert database["options"]["prepare_threshold"] is None


def test_a_pooler_that_keeps_prepared_statements_keeps_binding_and_the_threshold(tmp_path):
    database = _database_settings(tmp_path, DB_TRANSACTION_POOLER="true", DB_SERVER_SIDE_BINDING="true",
                                  DB_PREPARE_THRESHOLD="3")

    assert database["no_server_side_cursors"] is True
    assert database["options"]["server_side_binding"] is True
    assert database["options"]["prepare_threshold"] == 3
