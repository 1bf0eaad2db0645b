"""Templates: install the predefined ones; create, update (versioned), copy, delete, list, look up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from peewee import IntegrityError

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.errors import InvalidRequest, InvalidState, NotFound
from engine.models import Template, TemplateVersion
from engine.pipeline.spec import ExportSpec
from engine.services.notifications import check_policy_integrations
from engine.services.views import TemplateVersionView, TemplateView


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


def _row(name: str) -> Template:
    template = Template.get_or_none(Template.name == name)
    if template is None:
        names = [t.name for t in Template.select(Template.name).order_by(Template.name)]
        raise NotFound(f"no template named {name!r} (available: {', '.join(names) or 'none'})")
    return template


def get_template(name: str) -> TemplateView:
    return TemplateView.of(_row(name))


def list_templates(after: str | None = None) -> Iterator[TemplateView]:
    """Templates by name (those after the name `after`), read in batches: a caller may stop at any point."""
    query = Template.select().order_by(Template.name)
    if after is not None:
        query = query.where(Template.name > after)
    for template in query.iterator():
        yield TemplateView.of(template)


NAME_LIMIT = 128
DESCRIPTION_LIMIT = 2_000


def _check_description(description: str) -> str:
    if len(description) > DESCRIPTION_LIMIT:
        raise InvalidRequest(f"is {len(description):,} characters long (at most {DESCRIPTION_LIMIT:,})", "description")
    return description


def _check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("a template needs a name", field)
    name = name.strip()
    if len(name) > NAME_LIMIT:
        raise InvalidRequest(f"is longer than {NAME_LIMIT} characters", field)
    if Template.select().where(Template.name == name).exists():
        raise InvalidRequest(f"a template named {name!r} already exists", field)
    return name


def _editable(name: str) -> Template:
    template = _row(name)
    if template.predefined:
        raise InvalidState(f"{name!r} is predefined and read-only: copy it to change it")
    return template


def create_template(name: str, spec: dict[str, Any], description: str = "") -> TemplateView:
    """Validate and save a new template (version 1). Errors name the column or key at fault."""
    checked_spec = ExportSpec.from_dict(spec)
    check_policy_integrations(checked_spec.notifications)
    spec_dict = checked_spec.to_dict()
    checked = _check_name(name)
    description = _check_description(description or "")
    try:
        with current_database().atomic():
            template = Template.create(
                name=checked, description=description or "", format=spec_dict["format"], spec=spec_dict
            )
            TemplateVersion.create(template=template, version=1, spec=spec_dict)
    except IntegrityError:  # created by someone else between the check and the insert
        raise InvalidRequest(f"a template named {checked!r} already exists", "name") from None
    return TemplateView.of(template)


def update_template(
    name: str, *, spec: dict[str, Any] | None = None, description: str | None = None, new_name: str | None = None
) -> TemplateView:
    """Change a custom template; a new spec makes a new version (jobs keep the snapshot they ran with)."""
    with current_database().atomic():
        template = _editable(name)
        if new_name is not None and new_name.strip() != template.name:
            template.name = _check_name(new_name, "new_name")
        if description is not None:
            template.description = _check_description(description)
        if spec is not None:
            checked_spec = ExportSpec.from_dict(spec)
            check_policy_integrations(checked_spec.notifications)
            spec_dict = checked_spec.to_dict()
            if spec_dict != template.spec:
                template.spec = spec_dict  # type: ignore[assignment]
                template.format = spec_dict["format"]
                template.version += 1
                TemplateVersion.create(template=template, version=template.version, spec=spec_dict)
        template.updated_at = utcnow()
        template.save()
    return TemplateView.of(template)


def copy_template(name: str, new_name: str) -> TemplateView:
    """A custom copy of any template (the way to adapt a predefined one)."""
    source = _row(name)
    return create_template(new_name, source.spec, source.description)


def delete_template(name: str) -> None:
    """Delete a custom template (its jobs keep their snapshots)."""
    _editable(name).delete_instance(recursive=False)


def template_versions(name: str) -> list[TemplateVersionView]:
    query = TemplateVersion.select().where(TemplateVersion.template == _row(name)).order_by(TemplateVersion.version)
    return [TemplateVersionView.of(v) for v in query]


def template_version(name: str, version: int) -> dict[str, Any]:
    """The spec of one saved version."""
    row = (
        TemplateVersion.select()
        .join(Template)
        .where((Template.name == name) & (TemplateVersion.version == version))
        .first()
    )
    if row is None:
        raise NotFound(f"template {name!r} has no version {version}")
    spec: dict[str, Any] = row.spec
    return spec
