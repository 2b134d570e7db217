"""Identity defaults of the settings module (DECISIONS §8), evaluated under a patched environment.

The module is run afresh with runpy, so each case sees exactly the environment it sets; the
running test settings are not touched.
"""

from __future__ import annotations

import runpy
import secrets
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "lms" / "settings.py"
DEVELOPMENT_SECRET = "dev-insecure-jwt-secret-change-me-0123456789"
PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nnot checked by the settings module\n-----END PUBLIC KEY-----"


@pytest.fixture
def evaluate_settings(monkeypatch, tmp_path):
    """evaluate_settings(production=..., **env) -> the settings module's namespace."""

    def evaluate(*, production: bool, **variables: str) -> dict:
        import os

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
