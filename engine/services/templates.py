"""Templates: install the predefined ones; create, update (versioned), copy, delete, list, look up; restore and diff
versions; what an editor offers (source fields, the transformation vocabulary) and where a spec's problems are."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from peewee import IntegrityError

from engine.catalog.models import utcnow
from engine.db import current_database
from engine.errors import InvalidRequest, InvalidState, NotFound, TemplateError
from engine.formats.registry import FORMATS, get_writer
from engine.models import Template, TemplateVersion
from engine.pipeline.fields import LIST_RELATIONS, MAPPED_KINDS, MAPPED_ROOT, PRODUCT_FIELDS, RELATIONS, ROW_OBJECTS
from engine.pipeline.mapping import compile_columns
from engine.pipeline.rows import EXPANDERS, check_mode
from engine.pipeline.spec import ExportSpec
from engine.pipeline.transforms import REGISTRY, REQUIRED, build_step
from engine.services.deliveries import check_delivery_integrations
from engine.services.names import check_name
from engine.services.notifications import check_policy_integrations
from engine.services.views import (
    SpecProblemView,
    TemplateVersionView,
    TemplateView,
    TransformArgView,
    TransformInfoView,
)


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
    if isinstance(name, str) and len(name.strip()) > NAME_LIMIT:
        raise InvalidRequest(f"is longer than {NAME_LIMIT} characters", field)
    name = check_name(name, field, limit=NAME_LIMIT, missing="a template needs a name")
    if Template.select().where(Template.name == name).exists():
        raise InvalidRequest(f"a template named {name!r} already exists", field)
    return name


def _editable(name: str) -> Template:
    template = _row(name)
    if template.predefined:
        raise InvalidState(f"{name!r} is predefined and read-only: copy it to change it")
    return template


def check_integrations(spec: ExportSpec) -> None:
    """The integrations a validated spec names (its deliveries, its notification policy) exist, of the right kind."""
    check_delivery_integrations(spec.deliveries)
    check_policy_integrations(spec.notifications)


def create_template(name: str, spec: dict[str, Any], description: str = "") -> TemplateView:
    """Validate and save a new template (version 1). Errors name the column or key at fault."""
    checked_spec = ExportSpec.from_dict(spec)
    check_integrations(checked_spec)
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
            check_integrations(checked_spec)
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


def restore_template_version(name: str, version: int) -> TemplateView:
    """Make a saved version the current spec again, as a new version (the history is kept whole)."""
    spec = template_version(name, version)
    if spec == _editable(name).spec:
        raise InvalidRequest(f"version {version} is the current spec already", "version")
    return update_template(name, spec=dict(spec))


MAX_DIFF_LINES = 5_000


def _pretty(spec: Mapping[str, Any]) -> list[str]:
    return orjson.dumps(spec, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().splitlines()


def diff_template_versions(name: str, old: int, new: int) -> list[str]:
    """A unified diff of two versions' specs as pretty-printed JSON (keys sorted), at most MAX_DIFF_LINES lines."""
    before, after = _pretty(template_version(name, old)), _pretty(template_version(name, new))
    lines = list(difflib.unified_diff(before, after, f"{name} v{old}", f"{name} v{new}", lineterm=""))
    if len(lines) > MAX_DIFF_LINES:
        cut = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... {cut:,} more lines not shown"]
    return lines


# What a template from scratch starts with (then edited in the console or with `templates update`).
STARTER_COLUMNS = (
    {"header": "SKU", "source": "sku"},
    {"header": "Title", "source": "title"},
    {"header": "Price", "source": "price"},
)


def template_formats() -> list[str]:
    """The file formats a template can have (the format registry's names)."""
    return list(FORMATS)


def starter_spec(format: str) -> dict[str, Any]:
    """A valid first spec in `format`: SKU, title and price columns, or, for a feed format that needs its own
    columns and options, the spec of the predefined template of that format."""
    get_writer(format)  # an unknown format is refused, naming the known ones
    try:
        return ExportSpec.from_dict({"format": format, "columns": [dict(c) for c in STARTER_COLUMNS]}).to_dict()
    except TemplateError as exc:
        model = (
            Template.select()
            .where((Template.format == format) & (Template.predefined == True))  # noqa: E712 (peewee expression)
            .order_by(Template.name)
            .first()
        )
        if model is None:
            reason = f"a new {format} template needs more than basic columns ({exc.reason})"
            raise TemplateError(reason, "format") from None
        spec: dict[str, Any] = model.spec
        return spec


def create_blank_template(name: str, format: str, description: str = "") -> TemplateView:
    """A new template from scratch in `format` (see starter_spec), to be edited after."""
    return create_template(name, starter_spec(format), description)


_DATA_TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "templates"


Fingerprint = tuple[str, str, tuple[str, ...]]


def _fingerprint(spec: Mapping[str, Any]) -> Fingerprint:
    """What makes a spec a platform's file: its format, its row mode and its column headers (in order)."""
    columns = spec.get("columns") or []
    headers = tuple(str(c.get("header", "")) for c in columns if isinstance(c, Mapping))
    return str(spec.get("format") or ""), str(spec.get("rows") or "product"), headers


@functools.cache
def _platform_data() -> tuple[dict[str, str], dict[Fingerprint, str]]:
    """The platforms of the predefined templates (data files), by template name and by spec fingerprint."""
    by_name: dict[str, str] = {}
    by_print: dict[Fingerprint, str] = {}
    for path in sorted(_DATA_TEMPLATES.glob("*.json")):
        data = orjson.loads(path.read_bytes())
        if data.get("platform"):
            by_name[str(data["name"])] = str(data["platform"])
            by_print[_fingerprint(data["spec"])] = str(data["platform"])
    return by_name, by_print


def template_platforms(names: list[str]) -> dict[str, str]:
    """The platform each template is made for ("" for the generic ones and for templates of one's own): a
    predefined template's from its data file; another's from its first version, when that was a platform
    template's spec (a copy: same format, row mode and headers), so a copy keeps its platform whatever it is
    named and however it is edited since. One query for all `names` (a page of the list)."""
    by_name, by_print = _platform_data()
    found = {name: by_name.get(name, "") for name in names}
    others = [name for name in names if name not in by_name]
    if others:
        first = (
            TemplateVersion.select(Template.name, TemplateVersion.spec)
            .join(Template)
            .where(Template.name.in_(others) & (TemplateVersion.version == 1))
            .tuples()
        )
        for name, spec in first:
            found[name] = by_print.get(_fingerprint(spec), "") if isinstance(spec, Mapping) else ""
    return found


def template_platform(name: str) -> str:
    """The platform of one template (see template_platforms)."""
    return template_platforms([name])[name]


def source_fields() -> list[str]:
    """The source paths an editor offers, generated from the engine's field tables: product fields (and the first
    item of list fields), each relation's sub-fields (whole and first item), the row objects' and the mapped ones.
    Other indexes and `attributes.<name>` are valid too: typed by hand."""
    paths: list[str] = []
    for name, kind in PRODUCT_FIELDS.items():
        paths.append(name)
        if kind == "list":
            paths.append(f"{name}[0]")
    for root, (subfields, _default) in RELATIONS.items():
        for sub in subfields:
            paths.append(f"{root}.{sub}")
            if root in LIST_RELATIONS:
                paths.append(f"{root}[0].{sub}")
    for root, (subfields, _default, _relation) in ROW_OBJECTS.items():
        paths.extend(f"{root}.{sub}" for sub in subfields)
    paths.extend(f"{MAPPED_ROOT}.{name}" for name in MAPPED_KINDS)
    return paths


def row_modes() -> list[str]:
    """`product` (one row per product) and the row modes of the engine's expanders."""
    return ["product", *EXPANDERS]


_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict", list: "list", type(None): "null"}


def transform_vocabulary() -> list[TransformInfoView]:
    """The engine's transformations with their arguments (the registry itself: what a form offers is what the
    engine accepts)."""
    out = []
    for name in sorted(REGISTRY):
        transform = REGISTRY[name]
        args = []
        for arg, (types, default) in transform.args.items():
            accepted = types if isinstance(types, tuple) else (types,)
            required = default is REQUIRED
            args.append(
                TransformArgView(arg, tuple(_TYPE_NAMES[t] for t in accepted), required, None if required else default)
            )
        out.append(TransformInfoView(name, transform.doc, tuple(args)))
    return out


SPEC_SECTIONS = (
    "format",
    "columns",
    "selection",
    "options",
    "rules",
    "file_name",
    "rows",
    "delta",
    "images",
    "sink",
    "deliveries",
    "mappings",
    "notifications",
)
_COLUMN_FIELD = re.compile(r"^columns?\s*\[?(\d+)\]?(.*)$")
_STEP_FIELD = re.compile(r"^\.transforms\[(\d+)\]")


def _problem_path(exc: InvalidRequest) -> str:
    """The part of the spec an engine error names, as a SpecProblemView path."""
    field = (exc.field or "template").strip()
    column = _COLUMN_FIELD.match(field)
    if column:
        base, rest = f"columns[{column[1]}]", column[2]
        step = _STEP_FIELD.match(rest)
        if step:
            return f"{base}.transforms[{step[1]}]"
        if rest.startswith((".source", ".literal", ".pattern")):
            return f"{base}.value"
        if rest.startswith(".on"):
            return f"{base}.on"
        if rest.startswith(".header") or field.startswith("column "):
            # "column 3 ('A')" whose own checks passed: a duplicate header, a header the format refuses
            return f"{base}.header"
        return base
    root = re.split(r"[.\[ ]", field, maxsplit=1)[0]
    return root if root in SPEC_SECTIONS else "template"


def _column_part(reason: str) -> str:
    if "header" in reason:
        return ".header"
    if reason.startswith("'on'"):
        return ".on"
    if reason.startswith("unknown key"):
        return ""
    return ".value"


def _column_problems(spec: Mapping[str, Any]) -> list[SpecProblemView]:
    """Each column's own problems (header, source, each transformation step), found column by column."""
    columns, rows = spec.get("columns"), spec.get("rows") or "product"
    if not isinstance(columns, list) or len(columns) > 1_000 or not isinstance(rows, str):
        return []  # the whole spec's check names it
    try:
        check_mode(rows)
    except TemplateError:
        return []
    problems: list[SpecProblemView] = []
    headers: dict[str, int] = {}
    for position, column in enumerate(columns, start=1):
        if not isinstance(column, Mapping):
            continue
        where, label = f"columns[{position}]", f"column {position}"
        steps = column.get("transforms") or []
        for number, step in enumerate(steps if isinstance(steps, list) else [], start=1):
            try:
                build_step(step, label)
            except TemplateError as exc:
                problems.append(SpecProblemView(f"{where}.transforms[{number}]", exc.reason))
        header = column.get("header")
        if isinstance(header, str) and header.strip():
            if header.casefold() in headers:
                problems.append(
                    SpecProblemView(f"{where}.header", f"duplicate header (also column {headers[header.casefold()]})")
                )
            headers.setdefault(header.casefold(), position)
        try:
            compile_columns([{k: v for k, v in column.items() if k != "transforms"}], rows)
        except TemplateError as exc:
            problems.append(SpecProblemView(where + _column_part(exc.reason), exc.reason))
    return problems


def spec_problems(spec: Mapping[str, Any]) -> list[SpecProblemView]:
    """Why `spec` would be refused on save (empty: it would be saved): every column's own problems, each naming its
    column and step; else the first problem of the rest, in the engine's order of checks."""
    problems = _column_problems(spec)
    if problems:
        return problems
    try:
        check_integrations(ExportSpec.from_dict(spec))
    except InvalidRequest as exc:
        return [SpecProblemView(_problem_path(exc), exc.reason)]
    return []
