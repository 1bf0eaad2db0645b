"""Templates: install the predefined ones, look up, list."""

from __future__ import annotations

from typing import Any

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.errors import NotFound
from engine.models import Template, TemplateVersion
from engine.pipeline.spec import ExportSpec


def install_predefined(data: dict[str, Any]) -> str:
    """Create or refresh a predefined template from its data file. Returns created|updated|unchanged."""
    spec = ExportSpec.from_dict(data["spec"])  # validates: a broken data file fails `db upgrade` loudly
    spec_dict = spec.to_dict()
    with current_database().atomic():
        existing = Template.get_or_none(Template.name == data["name"])
        if existing is None:
            template = Template.create(
                name=data["name"],
                description=data.get("description", ""),
                format=spec.format,
                spec=spec_dict,
                predefined=True,
            )
            TemplateVersion.create(template=template, version=1, spec=spec_dict)
            return "created"
        if existing.spec == spec_dict and existing.description == data.get("description", ""):
            return "unchanged"
        existing.spec = spec_dict
        existing.format = spec.format
        existing.description = data.get("description", "")
        existing.version += 1
        existing.updated_at = utcnow()
        existing.save()
        TemplateVersion.create(template=existing, version=existing.version, spec=spec_dict)
        return "updated"


def get_template(name: str) -> Template:
    template = Template.get_or_none(Template.name == name)
    if template is None:
        names = [t.name for t in Template.select(Template.name).order_by(Template.name)]
        raise NotFound(f"no template named {name!r} (available: {', '.join(names) or 'none'})")
    return template


def list_templates() -> list[Template]:
    return list(Template.select().order_by(Template.name))
