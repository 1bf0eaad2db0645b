"""Templates: the list (new, copy, delete, export now), the editor with its mapping editor (columns: header, source,
transformation steps with their arguments, reorder, add, remove; the other sections as validated JSON), the preview
of the unsaved spec, versions with a diff and restore. Edits are kept in the form until the spec is valid."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from admin.auth import needs_role
from admin.base import ConsoleView, actor
from admin.i18n import number as format_number
from engine.errors import InvalidRequest
from engine.pipeline.spec import MAX_COLUMNS, MAX_STEPS_PER_COLUMN, ExportSpec
from engine.services import audit
from engine.services import templates as service
from engine.services.exports import ResolvedRequest
from engine.services.jobs import Preview, preview_request
from engine.services.views import TemplateView, TransformInfoView

PAGE_SIZE = 50
PREVIEW_ROWS = 20
MAX_SECTION_CHARS = 256 * 1024  # one JSON section as typed (the whole spec's own bound is the same)
# The editor's text fields' bounds, read by form_from_request and given to the page as the inputs' maxlength, so a
# browser stops a paste at the bound instead of sending it (every other text input is bounded by MAX_SECTION_CHARS).
TEXT_LIMITS = {"name": service.NAME_LIMIT, "description": service.DESCRIPTION_LIMIT, "format": 64, "rows": 64,
               "file_name": 2000, "sink": 64, "on": 1000, "step": 64}  # fmt: skip
JSON_SECTIONS = ("selection", "options", "rules", "images", "deliveries", "mappings", "notifications")
SECTION_DEFAULTS: dict[str, Any] = {"selection": {}, "options": {}, "rules": [], "images": {}, "deliveries": [],
                                    "mappings": {}, "notifications": None}  # fmt: skip
COLUMN_KINDS = ("source", "literal", "pattern")
ROW_MODE_LABELS = {
    "product": lazy_gettext("one row per product"),
    "variants": lazy_gettext("one row per variant"),
    "variants_images": lazy_gettext("one row per variant, then one per extra image (Shopify)"),
    "parent_variants": lazy_gettext("a parent row, then one row per variant (WooCommerce)"),
}
SECTION_LABELS = {
    "selection": lazy_gettext("Selection of products"),
    "options": lazy_gettext("Format options"),
    "rules": lazy_gettext("Exclusion rules"),
    "images": lazy_gettext("Images"),
    "deliveries": lazy_gettext("Deliveries"),
    "mappings": lazy_gettext("Value mappings"),
    "notifications": lazy_gettext("Notifications"),
}
TYPE_LABELS = {
    "str": lazy_gettext("text"),
    "int": lazy_gettext("whole number"),
    "float": lazy_gettext("number"),
    "bool": lazy_gettext("true or false"),
    "dict": lazy_gettext("JSON object"),
    "list": lazy_gettext("JSON list"),
    "null": lazy_gettext("empty"),
}
COLUMN_KIND_LABELS = {"source": lazy_gettext("field"), "literal": lazy_gettext("fixed value"),
                      "pattern": lazy_gettext("text pattern")}  # fmt: skip
_OP = re.compile(r"^(save|preview|add|apply|(up|down|remove|add-step):(\d{1,6})|remove-step:(\d{1,6}):(\d{1,3}))$")


@dataclass
class StepForm:
    name: str
    args: dict[str, str] = field(default_factory=dict)  # as typed


@dataclass
class ColumnForm:
    key: int  # stable while the form is edited (inputs are named after it), not a position
    header: str = ""
    kind: str = "source"
    value: str = ""
    on: str = ""  # rows a column is limited to: a row kind, or a JSON list of them
    steps: list[StepForm] = field(default_factory=list)


@dataclass
class EditorForm:
    name: str
    description: str
    format: str
    rows: str
    file_name: str
    delta: bool
    sink: str
    sections: dict[str, str]
    columns: list[ColumnForm]

    def column(self, key: int) -> ColumnForm | None:
        return next((c for c in self.columns if c.key == key), None)


def type_hint(types: tuple[str, ...] | list[str]) -> str:
    """What an argument takes, in words: "text or whole number" (the types' codes when one is unknown)."""
    return _(" or ").join(str(TYPE_LABELS.get(name, name)) for name in types)


def row_mode_label(mode: str) -> str:
    return str(ROW_MODE_LABELS.get(mode, mode))


def _vocabulary() -> dict[str, TransformInfoView]:
    return {t.name: t for t in service.transform_vocabulary()}


def _arg_text(value: Any, types: tuple[str, ...]) -> str:
    if isinstance(value, str) and "str" in types:
        return value
    if types == ("bool",):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value not in (None, {}, []) else ""


def form_of(view: TemplateView) -> EditorForm:
    """The editor's form filled from a saved template."""
    spec, vocabulary = view.spec, _vocabulary()
    columns = []
    for key, column in enumerate(spec.get("columns") or []):
        kind = next((k for k in COLUMN_KINDS if k in column), "source")
        raw = column.get(kind)
        value = raw if isinstance(raw, str) and kind != "literal" else ("" if raw is None else json.dumps(raw))
        if kind == "literal" and isinstance(raw, str):
            value = raw
        steps = []
        for step in column.get("transforms") or []:
            name = step if isinstance(step, str) else step["name"]
            args = {} if isinstance(step, str) else {k: v for k, v in step.items() if k != "name"}
            known = vocabulary.get(name)
            types = {a.name: a.types for a in known.args} if known else {}
            steps.append(StepForm(name, {a: _arg_text(v, types.get(a, ("str",))) for a, v in args.items()}))
        on = column.get("on")
        columns.append(
            ColumnForm(key, str(column.get("header", "")), kind, value,
                       "" if on is None else on if isinstance(on, str) else json.dumps(on), steps)
        )  # fmt: skip
    sections = {name: _json_text(spec.get(name)) for name in JSON_SECTIONS}
    return EditorForm(view.name, view.description, str(spec.get("format", "")), str(spec.get("rows") or "product"),
                      str(spec.get("file_name") or ""), bool(spec.get("delta")), str(spec.get("sink") or "file"),
                      sections, columns)  # fmt: skip


def _too_long(length: int, limit: int) -> str:
    return _("is %(length)s characters long (at most %(limit)s): shorten it", length=format_number(length),
             limit=format_number(limit))  # fmt: skip


def form_from_request() -> tuple[EditorForm, dict[str, str]]:
    """The editor's form as posted, and the problems met reading it (by spec path: a value longer than its bound,
    too many columns or steps). Nothing else is checked yet: what was typed is shown back as typed (the request's
    own size is bounded by MAX_CONTENT_LENGTH)."""
    vocabulary = _vocabulary()
    problems: dict[str, str] = {}

    def text(name: str, limit: int = MAX_SECTION_CHARS, where: str | None = None) -> str:
        value = request.form.get(name, "")
        if len(value) > limit:
            problems.setdefault(where or name, _too_long(len(value), limit))
        return value

    keys = request.form.getlist("col")
    if len(keys) > MAX_COLUMNS:
        problems["columns"] = _("at most %(count)s columns", count=MAX_COLUMNS)
        keys = keys[:MAX_COLUMNS]
    columns: list[ColumnForm] = []
    for raw_key in keys:
        if not raw_key.isdigit() or len(raw_key) > 6:
            abort(400, description="malformed column key")
        key, where = int(raw_key), f"columns[{len(columns) + 1}]"
        prefix = f"c{key}-"
        step_count = request.form.get(prefix + "steps", "0")
        if not step_count.isdigit() or len(step_count) > 6:
            abort(400, description="malformed step count")
        if int(step_count) > MAX_STEPS_PER_COLUMN:
            problems[where] = _("at most %(count)s transformations", count=MAX_STEPS_PER_COLUMN)
        steps = []
        for number in range(min(int(step_count), MAX_STEPS_PER_COLUMN)):
            step_where = f"{where}.transforms[{number + 1}]"
            name = text(f"{prefix}s{number}-name", TEXT_LIMITS["step"], step_where)
            known = vocabulary.get(name)
            args = {}
            for arg in known.args if known else ():
                posted = request.form.get(f"{prefix}s{number}-a-{arg.name}")
                if posted is not None:
                    args[arg.name] = text(f"{prefix}s{number}-a-{arg.name}", where=step_where)
            steps.append(StepForm(name, args))
        kind = request.form.get(prefix + "kind", "source")
        header, value = text(prefix + "header", where=f"{where}.header"), text(prefix + "value", where=f"{where}.value")
        kind = kind if kind in COLUMN_KINDS else "source"
        on = text(prefix + "on", TEXT_LIMITS["on"], f"{where}.on")
        columns.append(ColumnForm(key, header, kind, value, on, steps))
    form = EditorForm(
        text("name", TEXT_LIMITS["name"]), text("description", TEXT_LIMITS["description"]),
        text("format", TEXT_LIMITS["format"]), text("rows", TEXT_LIMITS["rows"]),
        text("file_name", TEXT_LIMITS["file_name"]), request.form.get("delta") == "on",
        text("sink", TEXT_LIMITS["sink"]),
        {name: text(name) for name in JSON_SECTIONS}, columns,
    )  # fmt: skip
    return form, problems


def apply_op(form: EditorForm, op: str) -> None:
    """A change of the form that is not saved yet: add/remove/move a column, add/remove a step."""
    match = _OP.match(op)
    if match is None:
        abort(400, description=f"unknown editor action {op[:40]!r}")
    if op == "add":
        if len(form.columns) >= MAX_COLUMNS:
            raise InvalidRequest(f"at most {MAX_COLUMNS} columns", "columns")
        form.columns.append(ColumnForm(max((c.key for c in form.columns), default=-1) + 1))
        return
    action, key = (match[2], match[3]) if match[2] else ("remove-step", match[4])
    column = form.column(int(key)) if key is not None else None
    if column is None:
        return  # already gone (a second click): nothing to do
    position = form.columns.index(column)
    if action == "remove":
        form.columns.pop(position)
    elif action in ("up", "down"):
        other = position - 1 if action == "up" else position + 1
        if 0 <= other < len(form.columns):
            form.columns[position], form.columns[other] = form.columns[other], form.columns[position]
    elif action == "add-step":
        if len(column.steps) >= MAX_STEPS_PER_COLUMN:
            raise InvalidRequest(f"at most {MAX_STEPS_PER_COLUMN} transformations", f"columns[{position + 1}]")
        column.steps.append(StepForm("trim"))
    elif action == "remove-step" and int(match[5]) < len(column.steps):
        column.steps.pop(int(match[5]))


_JSON_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (float, int), "bool": (bool,),
                                           "dict": (dict,), "list": (list,), "null": (type(None),)}  # fmt: skip


def _accepts(value: Any, types: tuple[str, ...]) -> bool:
    for name in types:
        if isinstance(value, bool) and name != "bool":
            continue
        if isinstance(value, _JSON_TYPES[name]):
            return True
    return False


def _arg_value(text: str, types: tuple[str, ...]) -> Any:
    """An argument as typed -> its value, by the types the engine declares for it."""
    if types == ("str",):
        return text
    if types == ("bool",):
        return text == "true"
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if _accepts(value, types):
        return value
    if "str" in types:
        return text
    raise InvalidRequest(f"must be {' or '.join(types)}, got {text[:40]!r}")


def spec_of(form: EditorForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The spec the form describes, and the problems met reading it (by spec path, as service.spec_problems)."""
    vocabulary = _vocabulary()
    problems: dict[str, str] = {}
    columns: list[dict[str, Any]] = []
    for position, column in enumerate(form.columns, start=1):
        where = f"columns[{position}]"
        out: dict[str, Any] = {"header": column.header}
        if column.kind == "literal":
            try:
                literal = json.loads(column.value) if column.value.strip() else column.value
            except ValueError:
                literal = column.value
            out["literal"] = literal if isinstance(literal, str | int | float | bool) else column.value
        else:
            out[column.kind] = column.value
        if column.on.strip():
            try:
                out["on"] = json.loads(column.on) if column.on.strip().startswith("[") else column.on.strip()
            except ValueError:
                problems[f"{where}.on"] = _("must be a row kind or a JSON list of row kinds")
        steps: list[Any] = []
        for number, step in enumerate(column.steps, start=1):
            known = vocabulary.get(step.name)
            args: dict[str, Any] = {}
            for arg in known.args if known else ():
                text = step.args.get(arg.name, "")
                if text == "" and (not arg.required or "str" not in arg.types):
                    continue  # the default (or the engine says it is required)
                try:
                    args[arg.name] = _arg_value(text, arg.types)
                except InvalidRequest as exc:
                    problems[f"{where}.transforms[{number}]"] = f"{step.name}: {arg.name} {exc.reason}"
            steps.append({"name": step.name, **args} if args else step.name)
        if steps:
            out["transforms"] = steps
        columns.append(out)
    spec: dict[str, Any] = {"format": form.format, "columns": columns, "rows": form.rows or "product",
                            "file_name": form.file_name, "delta": form.delta}  # fmt: skip
    if form.sink and form.sink != "file":
        spec["sink"] = form.sink
    for name in JSON_SECTIONS:
        text = form.sections.get(name, "").strip()
        if not text:
            spec[name] = SECTION_DEFAULTS[name]
            continue
        try:
            spec[name] = json.loads(text)
        except ValueError as exc:
            problems[name] = _("not valid JSON: %(reason)s", reason=str(exc))
            spec[name] = SECTION_DEFAULTS[name]
    if spec.get("notifications") is None:
        spec.pop("notifications")
    return spec, problems


def _preview(name: str, spec: Mapping[str, Any]) -> Preview:
    return preview_request(ResolvedRequest(ExportSpec.from_dict(spec), name, None), PREVIEW_ROWS)


def _audit_state(view: TemplateView) -> dict[str, Any]:
    return {"name": view.name, "description": view.description, "version": view.version, "spec": dict(view.spec)}


class TemplatesView(ConsoleView):
    @expose("/")
    def index(self) -> str:
        after = request.args.get("after") or None
        if after is not None and len(after) > service.NAME_LIMIT:
            abort(400, description="malformed page")
        page = list(itertools.islice(service.list_templates(after), PAGE_SIZE + 1))
        more = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        return self.render(
            "console/templates.html",
            templates=page,
            platforms=service.template_platforms([t.name for t in page]),
            formats=service.template_formats(),
            next_url=url_for(".index", after=page[-1].name) if more else "",
            first_url=url_for(".index") if after else "",
        )

    @expose("/new", methods=["POST"])
    @needs_role("manager")
    def new(self) -> Response:
        name, format = (request.form.get("name") or "").strip(), request.form.get("format") or ""
        view = service.create_blank_template(name, format, (request.form.get("description") or "").strip())
        audit.record(actor(), "create", "template", view.name, after=_audit_state(view))
        flash(_("Template %(name)s created: edit its columns below.", name=view.name), "success")
        return redirect(url_for(".edit", template_name=view.name))

    @expose("/copy/<path:template_name>", methods=["GET", "POST"])
    def copy(self, template_name: str) -> str | Response:
        if request.method == "POST":
            self._require_manager()  # before the lookup: a reader learns nothing of which templates exist
        source = service.get_template(template_name)
        error = ""
        new_name = request.form.get("new_name", _("%(name)s (copy)", name=source.name))
        if request.method == "POST":
            self._require_manager()
            try:
                view = service.copy_template(source.name, new_name)
            except InvalidRequest as exc:
                error = exc.reason
            else:
                audit.record(actor(), "copy", "template", view.name, after=_audit_state(view),
                             message=f"copy of {source.name} v{source.version}")  # fmt: skip
                flash(_("%(source)s copied to %(name)s.", source=source.name, name=view.name), "success")
                return redirect(url_for(".edit", template_name=view.name))
        return self.render("console/template_copy.html", source=source, new_name=new_name, error=error)

    @expose("/delete/<path:template_name>", methods=["GET", "POST"])
    def delete(self, template_name: str) -> str | Response:
        if request.method == "POST":
            self._require_manager()
        view = service.get_template(template_name)
        if request.method == "POST":
            self._require_manager()
            service.delete_template(view.name)
            audit.record(actor(), "delete", "template", view.name, before=_audit_state(view))
            flash(_("Template %(name)s deleted.", name=view.name), "success")
            return redirect(url_for(".index"))
        return self.render("console/template_delete.html", tpl=view)

    @staticmethod
    def _require_manager() -> None:
        from admin.auth import require_role

        require_role("manager")

    @expose("/edit/<path:template_name>", methods=["GET", "POST"])
    def edit(self, template_name: str) -> str | Response:
        if request.method == "POST":
            self._require_manager()
        view = service.get_template(template_name)
        if request.method == "GET":
            form = form_of(view)
            preview = _preview(view.name, view.spec) if request.args.get("preview") else None
            return self._editor(view, form, {}, preview)
        self._require_manager()
        form, read_problems = form_from_request()
        op = request.form.get("op", "apply")
        try:
            apply_op(form, op)
        except InvalidRequest as exc:
            read_problems.setdefault(exc.field or "columns", exc.reason)
        if op not in ("save", "preview"):
            return self._editor(view, form, read_problems, None, op)
        spec, problems = spec_of(form)  # a part that could not be read is left at its default, then checked
        problems = {**{p.path: p.message for p in service.spec_problems(spec)}, **problems, **read_problems}
        if problems or op == "preview":
            preview = _preview(view.name, spec) if not problems else None
            return self._editor(view, form, problems, preview, op)
        try:
            saved = service.update_template(view.name, spec=spec, description=form.description, new_name=form.name)
        except InvalidRequest as exc:  # the name or the description (the spec was checked above)
            where = {"new_name": "name"}.get(exc.field or "", exc.field or "template")
            return self._editor(view, form, {where: exc.reason}, None, op)
        audit.record(actor(), "update", "template", view.name, before=_audit_state(view), after=_audit_state(saved))
        if saved.version != view.version:
            flash(_("Saved as version %(version)s.", version=saved.version), "success")
        else:
            flash(_("Saved (the spec did not change: still version %(version)s).", version=saved.version), "success")
        return redirect(url_for(".edit", template_name=saved.name))

    def _editor(
        self, view: TemplateView, form: EditorForm, problems: dict[str, str], preview: Preview | None, op: str = ""
    ) -> str:
        vocabulary = service.transform_vocabulary()
        can_edit = bool(self._user_can("manager")) and not view.predefined
        return self.render(
            "console/template_edit.html",
            tpl=view,
            form=form,
            problems=problems,
            preview=preview,
            op=op,
            can_edit=can_edit,
            vocabulary=vocabulary,
            vocabulary_json=json.dumps(
                {
                    t.name: [
                        {"name": a.name, "types": list(a.types), "required": a.required, "hint": type_hint(a.types)}
                        for a in t.args
                    ]
                    for t in vocabulary
                }
            ),
            fields=service.source_fields(),
            formats=service.template_formats(),
            row_modes=service.row_modes(),
            row_mode_label=row_mode_label,
            description_limit=service.DESCRIPTION_LIMIT,
            limits={**TEXT_LIMITS, "text": MAX_SECTION_CHARS},
            type_hint=type_hint,
            sections=JSON_SECTIONS,
            section_labels=SECTION_LABELS,
            column_kinds=COLUMN_KINDS,
            column_kind_labels=COLUMN_KIND_LABELS,
            platform=service.template_platform(view.name),
        )

    @staticmethod
    def _user_can(role: str) -> bool:
        from flask_login import current_user

        return bool(current_user.is_authenticated and current_user.can(role))

    @expose("/versions/<path:template_name>")
    def versions(self, template_name: str) -> str:
        view = service.get_template(template_name)
        versions = service.template_versions(view.name)
        return self.render("console/template_versions.html", tpl=view, versions=list(reversed(versions)))

    @expose("/diff/<path:template_name>")
    def diff(self, template_name: str) -> str:
        view = service.get_template(template_name)
        numbers = []
        for arg in ("a", "b"):
            raw = request.args.get(arg, "")
            if not raw.isdigit() or len(raw) > 9:
                raise InvalidRequest(_("choose two versions"), arg)
            numbers.append(int(raw))
        old, new = sorted(numbers)
        lines = service.diff_template_versions(view.name, old, new)
        return self.render("console/template_diff.html", tpl=view, old=old, new=new, lines=lines)

    @expose("/restore/<path:template_name>", methods=["POST"])
    @needs_role("manager")
    def restore(self, template_name: str) -> Response:
        before = service.get_template(template_name)
        raw = request.form.get("version", "")
        if not raw.isdigit() or len(raw) > 9:
            raise InvalidRequest(_("choose a version"), "version")
        after = service.restore_template_version(before.name, int(raw))
        message = f"version {raw} restored as version {after.version}"
        audit.record(
            actor(), "restore", "template", before.name, before=_audit_state(before), after=_audit_state(after),
            message=message,
        )  # fmt: skip
        flash(_("Version %(old)s restored as version %(new)s.", old=raw, new=after.version), "success")
        return redirect(url_for(".versions", template_name=before.name))
