"""What the deliver kind checks before a file leaves: a destination that only describes the files (a webhook's
`export.files` event) gets them hashed against the export's SHA-256 first, so a file changed on disk in place
(same size, other bytes) is refused before anyone is told about it; a destination that hashes what it sends
(the S3 case is in test_deliveries.py) is not read twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.jobs.kinds import deliver
from engine.models import Artifact
from engine.services import deliveries, integrations
from engine.services.exports import resolve_request, run_inline
from engine.services.jobs import get_job
from engine.settings import Settings
from tests.servers.fixtures import webhook_receiver  # noqa: F401
from tests.servers.webhook import WebhookReceiver
from tests.small_catalog import build_small_catalog


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The webhook receiver listens on loopback: allowed here."""
    return Settings.build(var_dir=str(tmp_path / "var"), allow_private_networks=True, delivery_timeout=10)


def test_a_webhook_delivery_hashes_the_file_first_and_refuses_a_changed_one(
    sqlite_db: Settings,
    webhook_receiver: WebhookReceiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_small_catalog()
    hook = {"url": webhook_receiver.url("/files")}
    integrations.create_integration(sqlite_db, "hook", "webhook", hook, {"signing_secret": webhook_receiver.secret})
    hashed: list[Path] = []
    real_sha256_file = deliver.sha256_file
    monkeypatch.setattr(deliver, "sha256_file", lambda path: hashed.append(path) or real_sha256_file(path))
    request = resolve_request(None, {"format": "csv", "deliveries": [{"integration": "hook"}]})
    view, _result = run_inline(request, sqlite_db, requested_by="test")
    assert get_job(view.id).status == "succeeded" and len(hashed) == 1 and len(webhook_receiver.log) == 1
    (artifact,) = get_job(view.id).artifacts
    location = Path(Artifact.get_by_id(artifact.id).location)
    data = bytearray(location.read_bytes())
    data[-2] = ord("X") if data[-2] != ord("X") else ord("Y")
    location.write_bytes(bytes(data))
    (again,) = deliveries.redeliver(sqlite_db, view.id, to="hook", inline=True)
    assert again.status == "failed" and "changed on disk since the export wrote it" in (again.last_error or "")
    assert len(hashed) == 2 and len(webhook_receiver.log) == 1  # hashed again, refused, nothing posted
    assert get_job(view.id).status == "partial"
