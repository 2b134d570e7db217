"""Identity defaults of the settings module (DECISIONS §8), evaluated under a patched environment.

The module is run afresh with runpy, so each case sees exactly the environment it sets; the
running test settings are not touched.
"""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "lms" / "settings.py"
DEVELOPMENT_SECRET = "dev-insecure-jwt-secret-change-me-0123456789"
PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nnot checked by the settings module\n-----END PUBLIC KEY-----"


@pytest.fixture
def evaluate_settings(monkeypatch, tmp_path):
    """evaluate_settings(production=..., **env) -> the settings module's namespace."""

    def evaluate(*, production: bool, **variables: str) -> dict:
        for name in list(os.environ):
            if name.startswith("LMS_") or name in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DATABASE_URL"}:
                monkeypatch.delenv(name)
        # A SECRET_KEY keeps development from writing `.secret_key` into the project.
        monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(50))
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'settings.sqlite3'}")
        if production:
            monkeypatch.setenv("LMS_ENV", "production")
            monkeypatch.setenv("ALLOWED_HOSTS", "lms.example.com")
            monkeypatch.setenv("LMS_JWT_SECRET", secrets.token_urlsafe(40))
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return evaluate


def test_production_requires_the_tenant_claim_and_provisions_no_tenants(evaluate_settings):
    namespace = evaluate_settings(production=True)

    assert namespace["LMS_REQUIRE_TENANT_CLAIM"] is True
    assert namespace["LMS_AUTO_PROVISION_TENANTS"] is False


def test_development_keeps_its_lenient_tenancy(evaluate_settings):
    namespace = evaluate_settings(production=False)

    assert namespace["LMS_REQUIRE_TENANT_CLAIM"] is False
    assert namespace["LMS_AUTO_PROVISION_TENANTS"] is True


def test_production_defaults_can_be_overridden_explicitly(evaluate_settings):
    namespace = evaluate_settings(
        production=True, LMS_REQUIRE_TENANT_CLAIM="false", LMS_AUTO_PROVISION_TENANTS="true"
    )

    assert namespace["LMS_REQUIRE_TENANT_CLAIM"] is False
    assert namespace["LMS_AUTO_PROVISION_TENANTS"] is True


def test_development_may_require_the_claim(evaluate_settings):
    assert evaluate_settings(production=False, LMS_REQUIRE_TENANT_CLAIM="true")["LMS_REQUIRE_TENANT_CLAIM"] is True


def test_development_without_keys_uses_the_development_secret(evaluate_settings):
    assert evaluate_settings(production=False)["LMS_JWT_SECRET"] == DEVELOPMENT_SECRET


@pytest.mark.parametrize("key_variable", ["LMS_JWT_PUBLIC_KEY", "LMS_JWT_PRIVATE_KEY"])
def test_an_rs256_key_turns_the_development_secret_off(evaluate_settings, key_variable):
    namespace = evaluate_settings(production=False, **{key_variable: PUBLIC_KEY})

    assert namespace["LMS_JWT_SECRET"] == ""


@pytest.mark.parametrize(
    ("production", "variables"),
    [(True, {}), (False, {"LMS_JWT_PUBLIC_KEY": PUBLIC_KEY})],
    ids=["production", "beside-a-public-key"],
)
def test_the_development_secret_set_explicitly_stops_start_up(evaluate_settings, production, variables):
    with pytest.raises(ImproperlyConfigured, match="LMS_JWT_SECRET is the built-in development secret"):
        evaluate_settings(production=production, LMS_JWT_SECRET=DEVELOPMENT_SECRET, **variables)


def test_the_reported_case_end_to_end_a_public_key_and_no_lms_env(tmp_path):
    # The report, in a fresh process started as an operator would: a public key set,
    # LMS_ENV and LMS_JWT_SECRET unset, and an admin token signed with the published secret.
    public_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("LMS_", "DJANGO_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "lms.settings", "LMS_JWT_PUBLIC_KEY": public_pem,
        "SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
    })
    script = (
        "import time, uuid, jwt, django; django.setup()\n"
        "from rest_framework.exceptions import AuthenticationFailed\n"
        "from lms.api.authentication import decode_token\n"
        f"token = jwt.encode({{'sub': str(uuid.uuid4()), 'roles': ['admin'], 'exp': int(time.time()) + 600}}, "
        f"{DEVELOPMENT_SECRET!r}, algorithm='HS256')\n"
        "try:\n    decode_token(token)\n    print('ACCEPTED')\n"
        "except AuthenticationFailed as error:\n    print('REFUSED', error.detail)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=SETTINGS_FILE.parents[1], env=env, capture_output=True, text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("REFUSED"), result.stdout
    assert "not accepted here (accepted: RS256)" in result.stdout
