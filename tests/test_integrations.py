"""Integrations: secrets encrypted at rest (key file 0600, rotation), values validated per kind naming the field,
secrets never shown, and the connection test against a real S3 server (SeaweedFS)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet

from engine.errors import ConfigError, InvalidRequest, NotFound
from engine.models import Integration
from engine.secrets import key_file, secret_box
from engine.services import integrations as svc
from engine.settings import Settings

if TYPE_CHECKING:
    from tests.s3_server import S3Server

pytest_plugins = ["tests.s3_server"]  # fixture: s3_server


def s3_values(server: S3Server, bucket: str) -> tuple[dict[str, object], dict[str, str]]:
    values = {"bucket": bucket, "endpoint_url": server.endpoint_url, "prefix": "feeds"}
    return values, {"access_key_id": server.access_key, "secret_access_key": server.secret_key}


def test_key_file_is_created_0600_and_reused(settings: Settings) -> None:
    token = secret_box(settings).encrypt({"password": "hunter2"})
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"hunter2" not in token.encode()
    assert secret_box(settings).decrypt(token) == {"password": "hunter2"}


def test_env_keys_rotate_with_multifernet(settings: Settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = secret_box(settings.with_(secret_key=old)).encrypt({"password": "p"})
    both = secret_box(settings.with_(secret_key=f"{new},{old}"))
    assert both.decrypt(token) == {"password": "p"}
    rotated = both.rotate(token)
    assert secret_box(settings.with_(secret_key=new)).decrypt(rotated) == {"password": "p"}
    with pytest.raises(ConfigError, match="cannot be decrypted") as caught:
        secret_box(settings.with_(secret_key=new)).decrypt(token)
    assert "p" not in caught.value.args[0].split()
    with pytest.raises(ConfigError, match="PM_EXPORTS_SECRET_KEY"):
        secret_box(settings.with_(secret_key="not-a-key"))
    assert old not in repr(settings.with_(secret_key=old))


def test_values_are_validated_naming_the_field(sqlite_db: Settings) -> None:
    with pytest.raises(InvalidRequest, match=r"^settings\.bucket: is required"):
        svc.create_integration(sqlite_db, "s3", "s3", {}, {})
    with pytest.raises(InvalidRequest, match=r"^settings\.colour: unknown setting"):
        svc.create_integration(sqlite_db, "s3", "s3", {"bucket": "b", "colour": "red"}, {})
    with pytest.raises(InvalidRequest, match=r"^settings\.part_size_mb: must be at least 5"):
        svc.create_integration(sqlite_db, "s3", "s3", {"bucket": "b", "part_size_mb": 1}, {})
    with pytest.raises(InvalidRequest, match=r"^settings\.secret_access_key: .*is a secret"):
        svc.create_integration(sqlite_db, "s3", "s3", {"bucket": "b", "secret_access_key": "s3cr3t-value"}, {})
    with pytest.raises(InvalidRequest, match=r"^secrets\.secret_access_key: must be at most 256") as caught:
        svc.create_integration(sqlite_db, "s3", "s3", {"bucket": "b"}, {"secret_access_key": "x" * 300})
    assert "xxx" not in str(caught.value)
    with pytest.raises(InvalidRequest, match=r"^kind: unknown integration kind 'gopher'"):
        svc.create_integration(sqlite_db, "s3", "gopher", {}, {})


def test_a_kinds_own_settings_check_runs_on_create_and_update(sqlite_db: Settings, tmp_path: Path) -> None:
    """The local kind's check_settings (an absolute folder) refuses on save, naming settings.folder, not only when
    the integration is first tested or used."""
    with pytest.raises(InvalidRequest, match=r"^settings\.folder: must be an absolute path, got 'tmp/relatif'$"):
        svc.create_integration(sqlite_db, "depot", "local", {"folder": "tmp/relatif"}, {})
    assert Integration.select().count() == 0
    svc.create_integration(sqlite_db, "depot", "local", {"folder": str(tmp_path)}, {})
    with pytest.raises(InvalidRequest, match=r"^settings\.folder: must be an absolute path"):
        svc.update_integration(sqlite_db, "depot", {"folder": "relatif"})
    assert svc.get_integration(sqlite_db, "depot").settings["folder"] == str(tmp_path)


def test_crud_keeps_secrets_write_only(sqlite_db: Settings) -> None:
    created = svc.create_integration(
        sqlite_db, "feeds", "s3", {"bucket": "b", "path_style": "false"}, {"secret_access_key": "s3cr3t-value"}
    )
    assert created.settings["path_style"] is False and created.settings["region"] == "us-east-1"
    assert created.secrets_set == ("secret_access_key",)
    assert "s3cr3t-value" not in repr(created) + str(created.to_dict())
    stored = Integration.get(Integration.name == "feeds").secrets
    assert "s3cr3t-value" not in stored
    with pytest.raises(InvalidRequest, match="already exists"):
        svc.create_integration(sqlite_db, "feeds", "s3", {"bucket": "b"}, {})
    updated = svc.update_integration(sqlite_db, "feeds", {"prefix": "x"}, {"access_key_id": "AKIA"})
    assert updated.secrets_set == ("access_key_id", "secret_access_key")
    assert updated.settings["prefix"] == "x" and updated.settings["bucket"] == "b"
    cleared = svc.update_integration(sqlite_db, "feeds", {"prefix": ""}, {"access_key_id": ""})
    assert "prefix" not in cleared.settings and cleared.secrets_set == ("secret_access_key",)
    assert [i.name for i in svc.list_integrations(sqlite_db)] == ["feeds"]
    svc.delete_integration("feeds")
    with pytest.raises(NotFound, match="no integration named 'feeds'"):
        svc.get_integration(sqlite_db, "feeds")


def test_rotate_reencrypts_every_integration(sqlite_db: Settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = sqlite_db.with_(secret_key=old)
    svc.create_integration(first, "a", "s3", {"bucket": "b"}, {"secret_access_key": "one"})
    svc.create_integration(first, "b", "s3", {"bucket": "b"}, {})
    assert svc.rotate_secrets(sqlite_db.with_(secret_key=f"{new},{old}")) == 1
    assert svc.get_integration(sqlite_db.with_(secret_key=new), "a").secrets_set == ("secret_access_key",)


def test_connection_test_against_real_s3(sqlite_db: Settings, s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    values, secrets = s3_values(s3_server, bucket)
    svc.create_integration(sqlite_db, "bucket", "s3", values, secrets)
    probe = svc.test_integration(sqlite_db, "bucket")
    assert probe.ok and probe.latency_ms > 0 and bucket in probe.message
    assert svc.get_integration(sqlite_db, "bucket").test_ok is True
    svc.update_integration(sqlite_db, "bucket", secrets={"secret_access_key": "wrong-secret"})
    failed = svc.test_integration(sqlite_db, "bucket")
    assert not failed.ok and "SignatureDoesNotMatch" in failed.message and "wrong-secret" not in failed.message
    view = svc.get_integration(sqlite_db, "bucket")
    assert view.test_ok is False and view.test_message == failed.message
