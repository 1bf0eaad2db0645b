"""The words shown for an integration kind's settings: a label made from the field's name and its help text, both
looked up in the console's catalogue (admin/translations/<lang>/destinations.po), so that the destination modules
stay free of the console while the console speaks the user's language. tests/test_console_i18n.py checks that
every field of every kind has its French label and help."""

from __future__ import annotations

from flask_babel import gettext

from engine.destinations.base import FieldSpec

_WORDS = {"url": "URL", "tls": "TLS", "ca": "CA", "mb": "MB", "id": "ID", "ftp": "FTP", "smtp": "SMTP"}


def label_of(name: str) -> str:
    """`endpoint_url` -> "Endpoint URL": the English label (and msgid) of a field."""
    words = [_WORDS.get(word, word) for word in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def field_label(spec: FieldSpec) -> str:
    return gettext(label_of(spec.name))


def field_help(spec: FieldSpec) -> str:
    return gettext(spec.help) if spec.help else ""
