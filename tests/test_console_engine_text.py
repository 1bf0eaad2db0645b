"""The engine's messages in the console's language (admin/engine_text.py): REAL messages produced by the engine code
(rules run on bad products, bad specs validated, services called with bad input, a connection to a closed port)
each shown in French, kept as they are in English, and unknown ones shown untouched. When the engine's wording
changes, these fail instead of the console silently showing English."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from admin.engine_text import engine_text
from engine.errors import ExportsError
from engine.settings import Settings
from tests.console_support import console_app


@pytest.fixture
def french(sqlite_db: Settings) -> Iterator[Callable[[str], str]]:
    """engine_text in a French request; asserts the message was translated (not left in English)."""
    app = console_app(sqlite_db, admin_locale="fr")
    with app.test_request_context("/"):

        def check(message: str) -> str:
            translated = engine_text(message)
            assert translated != message, f"not translated: {message!r}"
            return translated

        yield check


def error_of(call: Callable[[], Any]) -> str:
    with pytest.raises(ExportsError) as caught:
        call()
    return str(caught.value)


def test_known_messages_are_french_and_unknown_ones_untouched(sqlite_db) -> None:
    app = console_app(sqlite_db, admin_locale="fr")
    with app.test_request_context("/"):
        assert engine_text("wrong username or password") == "nom d’utilisateur ou mot de passe incorrect"
        assert engine_text("brand is missing") == "brand manquant"
        assert engine_text("a message no one knows") == "a message no one knows"
        assert engine_text("columns[2]: a message no one knows") == "columns[2]: a message no one knows"
        assert engine_text(None) == ""
    english = console_app(sqlite_db, admin_locale="en")
    with english.test_request_context("/"):
        assert engine_text("brand is missing") == "brand is missing"
        assert engine_text("price must be greater than 0") == "price must be greater than 0"


def test_every_rule_message_is_french(french) -> None:
    from engine.pipeline.validate import compile_column_rules, compile_rules

    rules = compile_rules(
        [
            {"rule": "required", "field": "brand"},
            {"rule": "positive", "field": "price"},
            {"rule": "gtin", "field": "ean"},
            {"rule": "max_length", "field": "title", "length": 5},
            {"rule": "min_length", "field": "description", "length": 50},
            {"rule": "enum", "field": "status", "values": ["active"]},
            {"rule": "regex", "field": "sku", "pattern": "^SKU-"},
            {"rule": "min_count", "field": "images", "count": 2},
            {"rule": "min_completeness", "score": 90},
            {"rule": "min_completeness", "score": 90, "criteria": ["title", "brand", "price"]},
        ]
    )
    bad = {"brand": "", "price": 0, "ean": "3744173091363", "title": "A long title", "description": "short",
           "status": "draft", "sku": "X1", "images": [], "completeness": 40}  # fmt: skip
    messages = []
    for _rule_id, check in rules.checks:
        message = check(bad)
        assert message is not None
        messages.append(message)
    for ean in ("37A", "12345"):
        messages.append(check_ean(ean))
    shown = [french(m) for m in messages]
    assert shown[0] == "brand manquant"
    assert shown[1] == "price doit être supérieur à 0"
    assert shown[2] == "l’EAN '3744173091363' a une clé de contrôle fausse (2 attendu)"
    assert "12 caractères (au plus 5)" in shown[3]
    columns = [{"header": "Brand", "source": "brand"}, {"header": "Size", "source": "sku", "on": "variant"}]
    compiled = compile_rules(
        [
            {"rule": "required", "column": "Brand"},
            {"rule": "required", "column": ["Brand", "Size"], "name": "brand or size"},
            {"rule": "required", "column": "Size", "when": {"field": "mapped.category", "prefix": "Shoes"}},
        ]
    )
    checks = compile_column_rules(compiled, columns)
    row = {"row": {"kind": "variant", "first": False}, "mapped": {"category": "Shoes > Boots"}}
    found = [c.failure(["", ""], row) for c in checks]
    for message in found:
        assert message is not None
        assert "(sur la ligne variant)" in french(message)


def check_ean(code: str) -> str:
    from engine.catalog.gtin import gtin_problem

    problem = gtin_problem(code)
    assert problem is not None
    return problem


def test_mapping_failures_are_french(french) -> None:
    from engine.pipeline.platform_mappings import check_mappings, compile_mappings

    mappings = compile_mappings(check_mappings({"categories": {"Jardin": "garden"}, "required": ["category"]}))
    record: dict[str, Any] = {"categories": [{"path": "Maison > Cuisine"}], "attributes": {}, "variants": []}
    failure = mappings.apply(record)
    assert failure is not None and failure.rule_id == "mapping:category"
    assert "Maison > Cuisine" in french(failure.message)


def test_template_and_spec_errors_are_french(french, sqlite_db) -> None:
    from engine.services import templates as service

    spec = {
        "format": "csv",
        "columns": [
            {"header": "Brand", "source": "marque_inexistante"},
            {"header": "brand", "source": "sku"},
            {"header": "Title", "source": "title", "transforms": [{"name": "truncate", "length": "abc"}]},
            {"header": "Other", "source": "title", "transforms": ["no_such_step"]},
            {"header": "Upper", "source": "title", "transforms": [{"name": "truncate"}]},
        ],
    }
    problems = service.spec_problems(spec)
    assert len(problems) >= 4
    shown = [french(p.message) for p in problems]
    assert any(s.startswith("champ 'marque_inexistante' inconnu (connus :") for s in shown), shown
    assert any("en-tête en double (aussi en colonne 1)" in s for s in shown), shown
    assert any("truncate : l’argument 'length' doit être de type int, reçu 'abc'" in s for s in shown), shown
    whole = error_of(lambda: service.create_template("Bad", spec))
    french(whole)
    assert "Standard CSV" in [t.name for t in service.list_templates()]
    assert french(error_of(lambda: service.copy_template("Standard CSV", ""))) == "name : un modèle doit avoir un nom"
    taken = french(error_of(lambda: service.copy_template("Standard CSV", "Standard CSV")))
    assert taken == "name : un modèle nommé 'Standard CSV' existe déjà"
    long = error_of(lambda: service.update_template("Standard CSV", description="x" * 20_000))
    french(long)
    french(error_of(lambda: service.create_template("B", {"format": "csv", "columns": []})))
    french(error_of(lambda: service.get_template("Nope")))


def test_schedule_errors_and_reasons_are_french(french, sqlite_db, redis_url) -> None:
    from engine.jobs.recurrence import parse_frequency, zone
    from engine.services import schedules

    for text in ("daily 25:00", "weekly xyz 06:00", "monthly 40 06:00", "every 1 minutes", "cron * * *",
                 "cron 99 * * * *", "sometimes", ""):  # fmt: skip
        french(error_of(lambda text=text: parse_frequency(text)))
    french(error_of(lambda: zone("Mars/Olympus")))
    settings = sqlite_db.with_(redis_url=redis_url)
    french(error_of(lambda: schedules.create_schedule(settings, "S", {"template": "Nope", "frequency": "daily 06:00"})))
    values = {"template": "Standard CSV", "frequency": "daily 06:00", "overlap": "sometimes"}
    french(error_of(lambda: schedules.create_schedule(settings, "S", values)))
    schedules.create_schedule(settings, "S", {"template": "Standard CSV", "frequency": "daily 06:00"})
    french(error_of(lambda: schedules.create_schedule(settings, "S", {"template": "Standard CSV",
                                                                       "frequency": "daily 06:00"})))  # fmt: skip
    paused = schedules.pause_schedule("S", "paused by console:admin")
    assert french(paused.paused_reason or "") == "mise en pause par console:admin"
    french(schedules.pause_schedule("S").paused_reason or "")
    schedules.resume_schedule("S")
    schedules.run_now(settings, "S", requested_by="console:admin")
    runs = schedules.list_runs("S")
    assert french(runs[0].reason or "") == "lancée maintenant par console:admin"
    french(error_of(lambda: schedules.get_schedule("Nope")))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_integration_results_and_connection_errors_are_french(french, sqlite_db, tmp_path) -> None:
    from engine.services import integrations

    drop = tmp_path / "drop"
    drop.mkdir()
    integrations.create_integration(sqlite_db, "depot", "local", {"folder": str(drop)}, {})
    probe = integrations.test_integration(sqlite_db, "depot")
    assert probe.ok and french(probe.message) == f"{drop} est accessible en écriture"
    french(error_of(lambda: integrations.create_integration(sqlite_db, "depot", "local", {"folder": "/x"}, {})))
    french(error_of(lambda: integrations.create_integration(sqlite_db, "nofolder", "local", {}, {})))
    values: dict[str, Any] = {"host": "127.0.0.1", "port": closed_port(), "username": "u"}
    integrations.create_integration(sqlite_db, "sftp-closed", "sftp", values, {"password": "pw"})
    failed = integrations.test_integration(sqlite_db, "sftp-closed")
    assert not failed.ok
    shown = french(failed.message)
    assert shown.endswith("échec de la connexion : connexion refusée"), shown
    values["port"] = closed_port()
    integrations.create_integration(sqlite_db, "ftp-closed", "ftp", values, {"password": "pw"})
    failed = integrations.test_integration(sqlite_db, "ftp-closed")
    assert not failed.ok and "connexion refusée" in french(failed.message)


def test_job_and_delivery_errors_are_french(french, sqlite_db, tmp_path) -> None:
    from engine.services import deliveries, exports, jobs
    from tests.test_console_catalog import seed

    seed(5)
    job, _result = exports.run_inline(exports.resolve_request("Standard CSV"), sqlite_db, out_dir=tmp_path)
    assert french(error_of(lambda: jobs.cancel_job(sqlite_db, job.id))) == (
        f"la tâche {job.id} est déjà à l’état succeeded"
    )
    french(error_of(lambda: jobs.retry_job(sqlite_db, job.id)))
    french(error_of(lambda: jobs.get_job(999_999)))
    french(error_of(lambda: deliveries.redeliver(sqlite_db, job.id, "integ-qui-nexiste-pas")))
    assert french("delivery to integ-qui-nexiste-pas: no integration named 'integ-qui-nexiste-pas'") == (
        "livraison vers integ-qui-nexiste-pas : aucune intégration nommée 'integ-qui-nexiste-pas'"
    )


def test_user_and_api_key_errors_are_french(french, sqlite_db) -> None:
    from engine.services import apikeys, users

    users.create_user("admin", "admin", "correct horse battery staple")
    assert french(error_of(lambda: users.set_disabled("admin", True))) == (
        "admin est le dernier administrateur actif : nommez d’abord un autre utilisateur administrateur"
    )
    french(error_of(lambda: users.create_user("admin", "admin", "correct horse battery staple")))
    french(error_of(lambda: users.create_user("bob", "boss", "correct horse battery staple")))
    french(error_of(lambda: users.create_user("bob", "reader", "short")))
    french(error_of(lambda: users.create_user("b b", "reader", "correct horse battery staple")))
    for _attempt in range(5):
        french(error_of(lambda: users.authenticate_user("admin", "wrong")))
    locked = french(error_of(lambda: users.authenticate_user("admin", "wrong")))
    assert locked.startswith("trop d’échecs de connexion"), locked
    french(error_of(lambda: apikeys.create_api_key("", "reader")))
    french(error_of(lambda: apikeys.authenticate("pmx_nope_secret")))


@pytest.fixture
def french_console(sqlite_db: Settings, redis_url: str) -> tuple[Settings, Flask]:
    from tests.console_support import make_users

    settings = sqlite_db.with_(redis_url=redis_url)
    make_users()
    return settings, console_app(settings, admin_locale="fr")


def error_text(page: str) -> str:
    import re

    found = re.search(r'data-testid="error-message"><strong>\d+</strong> (.*?)</div>', page, re.DOTALL)
    assert found, page[:2000]
    return found.group(1)


def test_http_error_pages_speak_french(french_console) -> None:
    from tests.console_support import csrf_token, log_in

    _settings, app = french_console
    client = app.test_client()
    refused = client.post("/login", data={"username": "admin", "password": "x"})  # no CSRF token
    assert refused.status_code == 400
    assert "(le jeton est absent)" in error_text(refused.get_data(as_text=True))
    log_in(client, "manager")
    missing = client.get("/jobs/999999")
    assert missing.status_code == 404
    assert error_text(missing.get_data(as_text=True)) == "aucune tâche d’export 999999"
    nowhere = client.get("/no-such-page")
    assert nowhere.status_code == 404
    assert error_text(nowhere.get_data(as_text=True)).startswith("cette page n’existe pas")
    admins_only = client.get("/users/")
    assert admins_only.status_code == 403
    assert error_text(admins_only.get_data(as_text=True)) == "cette page est réservée aux administrateurs"
    wrong_method = client.get("/language/fr")
    assert wrong_method.status_code == 405
    assert error_text(wrong_method.get_data(as_text=True)) == "cette adresse n’accepte pas la méthode GET"
    token = csrf_token(client, "/jobs/")
    too_big = client.post("/jobs/run", data={"csrf_token": token, "template": "x" * (3 * 1024 * 1024)})
    assert too_big.status_code == 413
    assert "(au plus 2 Mo)" in error_text(too_big.get_data(as_text=True))


def test_a_refused_action_is_a_french_flash_on_the_page_it_came_from(french_console, tmp_path) -> None:
    from engine.services import exports
    from tests.console_support import csrf_token, log_in
    from tests.test_console_catalog import seed

    settings, app = french_console
    seed(3)
    job, _result = exports.run_inline(exports.resolve_request("Standard CSV"), settings, out_dir=tmp_path)
    client = app.test_client()
    log_in(client, "manager")
    page = f"http://localhost/jobs/{job.id}"
    token = csrf_token(client, f"/jobs/{job.id}")
    answer = client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": token}, headers={"Referer": page})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/jobs/{job.id}")
    shown = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f"la tâche {job.id} est déjà à l’état succeeded" in shown.replace("&#39;", "'").replace("&amp;", "&")
    assert answer.headers["Referrer-Policy"] == "same-origin"  # browsers send the Referer back to the console


def test_refused_names_and_unknown_delivery_integrations_are_french(french, sqlite_db) -> None:
    from engine.services import templates as service

    hidden = error_of(lambda: service.copy_template("Standard CSV", "Prix \u202eesrevni"))
    assert "trouvé U+202E" in french(hidden), french(hidden)
    spec = {**service.get_template("Standard CSV").spec, "deliveries": [{"integration": "nowhere"}]}
    unknown = error_of(lambda: service.create_template("Delivered", spec))
    assert "aucune intégration nommée 'nowhere'" in french(unknown), french(unknown)


def test_the_console_audit_notes_are_french(french_console) -> None:
    """The notes the console writes beside its audit entries (stored in English) read in French in the log."""
    from tests.console_support import csrf_token, log_in

    _settings, app = french_console
    client = app.test_client()
    log_in(client, "admin")
    token = csrf_token(client, "/templates/copy/Standard CSV")
    copied = client.post("/templates/copy/Standard CSV", data={"csrf_token": token, "new_name": "Copie"})
    assert copied.status_code == 302
    run = client.post("/jobs/run", data={"csrf_token": token, "template": "Copie"})
    assert run.status_code == 302
    page = client.get("/audit/").get_data(as_text=True)
    assert "copie de Standard CSV v1" in page and "export de Copie" in page
    assert "copy of Standard CSV" not in page and "export of Copie" not in page


def test_the_predefined_templates_descriptions_are_french(french) -> None:
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "engine" / "data" / "templates"
    for path in sorted(folder.glob("*.json")):
        french(json.loads(path.read_text(encoding="utf-8"))["description"])
