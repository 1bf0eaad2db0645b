"""Messages written by the engine (rule exclusions, validation errors, connection tests, job errors...) in the
console's language. The engine speaks English everywhere (CLI, gRPC, logs); the console shows its messages through
the `engine_text` filter, which finds the French text of a known message:

- EXACT: messages with nothing variable, looked up as they are;
- PATTERNS: a regular expression over the English message with named groups, and the msgid (marked with N_) that
  takes those groups as %(name)s placeholders. Tried in order (specific before general), each anchored (fullmatch).
  A group's value is kept as it is (field names, numbers, quoted names), except the groups named in NESTED
  (`message`, `reason`, `action`): those hold another engine message, translated the same way;
- WRAPPERS: patterns that only frame another message ("columns[2]: ...", "SFTP host:22: ..."), tried after
  PATTERNS and used only when the message they frame is known (else the whole text stays as the engine wrote it).

A message no entry knows is shown as the engine wrote it (English), never dropped. The French texts live in
admin/translations/fr/engine.po; tests/test_console_engine_text.py produces real engine messages and checks each is
translated."""

from __future__ import annotations

import re

from flask_babel import get_locale, gettext


def N_(message: str) -> str:  # the conventional name pybabel extracts
    """Marks a msgid for extraction without translating it here."""
    return message


EXACT: frozenset[str] = frozenset(
    {
        N_("wrong username or password"),
        # the predefined templates' descriptions (engine/data/templates/*.json)
        N_(
            "Amazon inventory flat file filled into your category template from Seller Central "
            "(options.category_template): parents, children, standalone"
        ),
        N_(
            "Amazon JSON_LISTINGS_FEED for the Selling Partner API (UPDATE messages, 25,000 per file); set "
            "options.seller_id"
        ),
        N_("The whole catalogue in Excel: products, suppliers and categories sheets"),
        N_(
            "Google Merchant Center RSS 2.0 product feed (g: namespace), one item per variant; set options.title "
            "and link"
        ),
        N_("Google Merchant Center tab-separated product feed (first row: attribute names), one item per variant"),
        N_("Active products as JSON with their suppliers, categories, variants and images"),
        N_(
            "Odoo product.template CSV for Odoo's import (external ids pm_exports.product_<id>, categories by "
            "full path)"
        ),
        N_(
            "PrestaShop product CSV import (Catalog > Import, separator ;) in the importer's column order (it "
            "matches by position), with a second file of combinations; tax-excluded prices, field limits checked"
        ),
        N_("SKU, EAN, price and stock of active products that have a price, for marketplaces and ERPs"),
        N_("Shopify product CSV (current header dialect): one row per variant sharing the URL handle, then image rows"),
        N_("Every main product field, one row per product, for spreadsheets and ERPs"),
        N_(
            "WooCommerce product CSV (built-in importer): simple products, variable products followed by their "
            "variations"
        ),
        N_("redeliver the failed"),
        N_("password reset"),
        # users and API keys
        N_("1 to 64 letters, digits or . _ @ + - (starting with a letter or digit)"),
        N_("must be 1 to 128 characters"),
        N_("unknown API key"),
        N_("no API key: send the metadata 'authorization: Bearer <key>'"),
        N_("malformed API key (expected pmx_<prefix>_<secret>)"),
        # templates and specs
        N_("a template needs a name"),
        N_("a template needs at least one column"),
        N_("a format is required"),
        N_("a column needs a non-empty header"),
        N_("a column needs exactly one of source, literal or pattern"),
        N_("a column must be an object with a header and a source"),
        N_("source must be a field path"),
        N_("literal must be text, a number or a boolean"),
        N_("pattern must be text"),
        N_("transforms must be a list"),
        N_("pattern has a { or } that does not enclose a field, e.g. {sku}"),
        N_("'on' needs a row mode other than product (rows: variants, ...)"),
        N_("attributes take a name (attributes.color), not an index"),
        N_("mapped takes a platform attribute name (mapped.category, mapped.size)"),
        N_("a rule must be an object with a 'rule' name"),
        N_("'when' applies to rules on a 'column' (checked after the mappings)"),
        N_("min_completeness needs a 'score' between 0 and 100"),
        N_("enum needs a non-empty list 'values'"),
        N_("regex needs a 'pattern'"),
        N_("min_count needs a whole 'count'"),
        N_("must be true or false"),
        N_("must be a list of integers"),
        N_("must be an ISO date or date-time"),
        N_("must be a list of {integration, path}"),
        N_("must be an object {integration, path}"),
        N_("names an integration (1 to 128 characters)"),
        N_("must be a text of at most 1024 characters"),
        N_("must stay inside the destination's folder (no leading / and no ..)"),
        N_("must stay inside the destination's folder (no ..)"),
        N_("must be relative to the destination's folder"),
        N_("must be a number from 0 to 100"),
        N_("length must be at least 1 and longer than the ellipsis"),
        N_("old must not be empty"),
        N_("separator must not be empty"),
        N_("decimals must be between 0 and 6"),
        N_("length must be 8, 12, 13 or 14"),
        N_("give exactly one of key or index"),
        N_("key must be a name or a non-empty list of names"),
        # schedules
        N_("must be an object of export overrides"),
        N_("is required: the name of the template to export"),
        N_("is required (daily HH:MM, weekly DAYS HH:MM, monthly N|last HH:MM, every N minutes|hours, cron EXPR)"),
        N_("paused by request"),
        N_("disabled by request"),
        N_("another manual run was claimed at the same instant; try again"),
        # integrations and connections
        N_("is required"),
        N_("must be a list of texts"),
        N_("set a password or a private_key secret"),
        N_("private_key is encrypted: set the private_key_passphrase secret"),
        N_("private_key: not a readable Ed25519, ECDSA or RSA private key (or the passphrase is wrong)"),
        N_("the connection was closed"),
        N_("no recipients"),
        N_("connecting"),
        N_("Name or service not known"),
        N_("Temporary failure in name resolution"),
        N_("No address associated with hostname"),
        N_("Connection refused"),
        N_("Connection reset by peer"),
        N_("Connection timed out"),
        N_("No route to host"),
        N_("Network is unreachable"),
        N_("Permission denied"),
        N_("No such file or directory"),
        N_("Read-only file system"),
        N_("No space left on device"),
        N_("Disk quota exceeded"),
        N_("timed out"),
        # jobs
        N_("cancelled by request"),
        N_("worker lost: resuming"),
        N_("Redis lost this job: queued again to resume from its checkpoint"),
        N_("must not be negative"),
    }
)

QUOTED = r"'.*'|\".*\""  # a value the engine shows with repr(): kept with its quotes
NUMBER = r"[\d,.]+"


def _p(regex: str, msgid: str) -> tuple[re.Pattern[str], str]:
    return re.compile(regex, re.DOTALL), msgid


PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # the console's own notes in the audit log (stored in English, like every audit entry)
    _p(r"export of (?P<name>.+)", N_("export of %(name)s")),
    _p(r"as job (?P<id>\d+)", N_("as job %(id)s")),
    _p(r"run now as job (?P<id>\d+)", N_("run now as job %(id)s")),
    _p(r"copy of (?P<name>.+) v(?P<version>\d+)", N_("copy of %(name)s v%(version)s")),
    _p(r"ok in (?P<ms>[\d.]+) ms: (?P<message>.+)", N_("ok in %(ms)s ms: %(message)s")),
    _p(r"failed: (?P<message>.+)", N_("failed: %(message)s")),
    _p(r"trusted: (?P<names>.+)", N_("trusted: %(names)s")),
    _p(r"secrets replaced or removed: (?P<names>.+)", N_("secrets replaced or removed: %(names)s")),
    _p(
        r"must not contain control or invisible formatting characters \(such as line breaks or text direction "
        r"overrides\): found (?P<found>.+)",
        N_(
            "must not contain control or invisible formatting characters (such as line breaks or text direction "
            "overrides): found %(found)s"
        ),
    ),
    # --- rule exclusions and warnings (engine/pipeline/validate.py, platform_mappings.py, catalog/gtin.py) ---
    _p(r"(?P<message>.+) \(on the (?P<kind>\w+) row\)", N_("%(message)s (on the %(kind)s row)")),
    _p(
        r"(?P<message>.+) \(required when (?P<field>\S+) under (?P<prefixes>.+)\)",
        N_("%(message)s (required when %(field)s starts with %(prefixes)s)"),
    ),
    _p(
        r"(?P<field>.+?) is missing \(one of (?P<columns>.+) is needed\)",
        N_("%(field)s is missing (one of %(columns)s is needed)"),
    ),
    _p(r"(?P<field>[^:]+?) is missing", N_("%(field)s is missing")),
    _p(
        rf"is (?P<length>{NUMBER}) characters long \(at most (?P<limit>{NUMBER})\)",
        N_("is %(length)s characters long (at most %(limit)s)"),
    ),
    _p(
        rf"(?P<field>[^:]+?) is (?P<length>{NUMBER}) characters long \(at most (?P<limit>{NUMBER})\)",
        N_("%(field)s is %(length)s characters long (at most %(limit)s)"),
    ),
    _p(
        r"(?P<field>[^:]+?) is shorter than (?P<limit>\d+) characters",
        N_("%(field)s is shorter than %(limit)s characters"),
    ),
    _p(r"(?P<field>[^:]+?) must be greater than 0", N_("%(field)s must be greater than 0")),
    _p(rf"EAN (?P<code>{QUOTED}) must contain digits only", N_("EAN %(code)s must contain digits only")),
    _p(
        rf"EAN (?P<code>{QUOTED}) has (?P<digits>\d+) digits \(expected 8, 12, 13 or 14\)",
        N_("EAN %(code)s has %(digits)s digits (expected 8, 12, 13 or 14)"),
    ),
    _p(
        rf"EAN (?P<code>{QUOTED}) has a bad check digit \(expected (?P<digit>\d)\)",
        N_("EAN %(code)s has a bad check digit (expected %(digit)s)"),
    ),
    _p(
        rf"(?P<field>[^:']+?) (?P<value>{QUOTED}) is not one of (?P<allowed>.+)",
        N_("%(field)s %(value)s is not one of %(allowed)s"),
    ),
    _p(rf"(?P<value>{QUOTED}|\S+) is not one of (?P<allowed>.+)", N_("%(value)s is not one of %(allowed)s")),
    _p(r"(?P<field>[^:]+?) does not match (?P<pattern>.+)", N_("%(field)s does not match %(pattern)s")),
    _p(
        r"(?P<field>[^:]+?) has (?P<count>\d+) item\(s\), at least (?P<needed>\d+) needed",
        N_("%(field)s has %(count)s item(s), at least %(needed)s needed"),
    ),
    _p(r"completeness (?P<score>\d+) is below (?P<minimum>\d+)", N_("completeness %(score)s is below %(minimum)s")),
    _p(
        r"channel completeness (?P<score>\d+) is below (?P<minimum>\d+): missing (?P<missing>.+)",
        N_("channel completeness %(score)s is below %(minimum)s: missing %(missing)s"),
    ),
    _p(
        r"no platform category is mapped for its categories \((?P<paths>.+)\): add one to mappings\.categories",
        N_("no platform category is mapped for its categories (%(paths)s): add one to mappings.categories"),
    ),
    _p(
        r"no platform category is mapped for it has no category: add one to mappings\.categories",
        N_("no platform category is mapped: the product has no category; add one to mappings.categories"),
    ),
    _p(
        r"option\(s\) (?P<options>.+) have no platform attribute: add them to mappings\.attributes",
        N_("option(s) %(options)s have no platform attribute: add them to mappings.attributes"),
    ),
    _p(
        r"no variation theme for the options (?P<options>.+) \(platform attributes (?P<attributes>.+)\): "
        r"add one to mappings\.themes",
        N_(
            "no variation theme for the options %(options)s (platform attributes %(attributes)s): add one to "
            "mappings.themes"
        ),
    ),
    # --- template and spec validation (engine/pipeline/spec.py, mapping.py, fields.py, transforms.py...) ---
    _p(
        rf"unknown field (?P<name>{QUOTED}) \(known: (?P<known>.+)\)",
        N_("unknown field %(name)s (known: %(known)s)"),
    ),
    _p(
        rf"unknown transformation (?P<name>{QUOTED}) \(known: (?P<known>.+)\)",
        N_("unknown transformation %(name)s (known: %(known)s)"),
    ),
    _p(rf"unknown rule (?P<name>{QUOTED}) \(known: (?P<known>.+)\)", N_("unknown rule %(name)s (known: %(known)s)")),
    _p(
        r"(?P<name>\w+): argument (?P<arg>'\w+') must be (?P<types>[\w ]+), got (?P<value>.+)",
        N_("%(name)s: argument %(arg)s must be %(types)s, got %(value)s"),
    ),
    _p(r"(?P<name>\w+): argument (?P<arg>'\w+') is required", N_("%(name)s: argument %(arg)s is required")),
    _p(
        r"(?P<name>\w+): unknown argument\(s\) (?P<args>.+)",
        N_("%(name)s: unknown argument(s) %(args)s"),
    ),
    _p(
        r"must be (?P<types>(?:str|int|float|bool|dict|list|null)(?: or \w+)*), got (?P<value>.+)",
        N_("must be %(types)s, got %(value)s"),
    ),
    _p(
        r"(?P<arg>\w+) must be (?P<types>(?:str|int|float|bool|dict|list|null)(?: or \w+)*), got (?P<value>.+)",
        N_("%(arg)s must be %(types)s, got %(value)s"),
    ),
    _p(
        r"duplicate header \(also column (?P<position>\d+)\)",
        N_("duplicate header (also column %(position)s)"),
    ),
    _p(
        rf"source (?P<path>{QUOTED}) is not a field path \(e\.g\. title, images\[0\]\.url\)",
        N_("source %(path)s is not a field path (e.g. title, images[0].url)"),
    ),
    _p(
        rf"field (?P<root>{QUOTED}) has no sub-field (?P<sub>{QUOTED})",
        N_("field %(root)s has no sub-field %(sub)s"),
    ),
    _p(
        rf"(?P<root>{QUOTED}) has no sub-field (?P<sub>{QUOTED}) \(known: (?P<known>.+)\)",
        N_("%(root)s has no sub-field %(sub)s (known: %(known)s)"),
    ),
    _p(
        rf"(?:field )?(?P<root>{QUOTED}) is not a list and cannot be indexed",
        N_("%(root)s is not a list and cannot be indexed"),
    ),
    _p(r"unknown key\(s\) (?P<keys>.+?) \(known: (?P<known>.+)\)", N_("unknown key(s) %(keys)s (known: %(known)s)")),
    _p(r"unknown key\(s\) (?P<keys>.+)", N_("unknown key(s) %(keys)s")),
    _p(
        r"unknown selection criterion \(known: (?P<known>.+)\)",
        N_("unknown selection criterion (known: %(known)s)"),
    ),
    _p(
        rf"unknown status (?P<status>{QUOTED}) \(known: (?P<known>.+)\)",
        N_("unknown status %(status)s (known: %(known)s)"),
    ),
    _p(rf"unknown role (?P<role>{QUOTED}) \(known: (?P<known>.+)\)", N_("unknown role %(role)s (known: %(known)s)")),
    _p(
        r"has (?P<count>\d+) transformations \(at most (?P<limit>\d+)\)",
        N_("has %(count)s transformations (at most %(limit)s)"),
    ),
    _p(rf"at most (?P<limit>{NUMBER}) transformations", N_("at most %(limit)s transformations")),
    _p(rf"at most (?P<limit>{NUMBER}) deliveries", N_("at most %(limit)s deliveries")),
    _p(rf"at most (?P<limit>{NUMBER}) characters", N_("at most %(limit)s characters")),
    _p(
        rf"is (?P<size>{NUMBER}) bytes as JSON \(at most (?P<limit>{NUMBER})\)",
        N_("is %(size)s bytes as JSON (at most %(limit)s)"),
    ),
    _p(rf"is longer than (?P<limit>{NUMBER}) characters", N_("is longer than %(limit)s characters")),
    _p(rf"a template named (?P<name>{QUOTED}) already exists", N_("a template named %(name)s already exists")),
    _p(
        rf"(?P<name>{QUOTED}) is predefined and read-only: copy it to change it",
        N_("%(name)s is predefined and read-only: copy it to change it"),
    ),
    _p(
        rf"no template named (?P<name>{QUOTED}) \(available: (?P<names>.+)\)",
        N_("no template named %(name)s (available: %(names)s)"),
    ),
    _p(rf"no template named (?P<name>{QUOTED})", N_("no template named %(name)s")),
    _p(
        rf"template (?P<name>{QUOTED}) has no version (?P<version>\d+)",
        N_("template %(name)s has no version %(version)s"),
    ),
    _p(r"version (?P<version>\d+) is the current spec already", N_("version %(version)s is the current spec already")),
    _p(r"regex: (?P<reason>.+)", N_("regular expression: %(reason)s")),
    _p(r"bad regular expression: (?P<detail>.+)", N_("bad regular expression: %(detail)s")),
    _p(rf"pattern is longer than (?P<limit>{NUMBER}) characters", N_("pattern is longer than %(limit)s characters")),
    _p(r"separator must be at most (?P<limit>\d+) characters", N_("separator must be at most %(limit)s characters")),
    # --- schedules (engine/services/schedules.py, engine/jobs/recurrence.py; the console's pause reasons) ---
    _p(r"paused by (?P<name>.+)", N_("paused by %(name)s")),
    _p(r"run now by (?P<name>.+)", N_("run now by %(name)s")),
    _p(r"must be (?P<low>\d+) to (?P<high>\d+) characters", N_("must be %(low)s to %(high)s characters")),
    _p(
        rf"(?P<value>{QUOTED}|\S+): must be a whole number between (?P<low>\d+) and (?P<high>\d+)",
        N_("%(value)s: must be a whole number between %(low)s and %(high)s"),
    ),
    _p(
        rf"(?P<value>{QUOTED}|\S+): must be a number between 0 and 100",
        N_("%(value)s: must be a number between 0 and 100"),
    ),
    _p(r"must be between (?P<low>\d+) and (?P<high>\d+)", N_("must be between %(low)s and %(high)s")),
    _p(rf"a schedule named (?P<name>{QUOTED}) exists already", N_("a schedule named %(name)s exists already")),
    _p(rf"no schedule named (?P<name>{QUOTED})", N_("no schedule named %(name)s")),
    _p(
        rf"invalid time (?P<text>{QUOTED}): expected HH:MM \(00:00 to 23:59\)",
        N_("invalid time %(text)s: expected HH:MM (00:00 to 23:59)"),
    ),
    _p(
        rf"invalid cron expression (?P<cron>{QUOTED}): expected 5 fields, got (?P<count>\d+)",
        N_("invalid cron expression %(cron)s: expected 5 fields, got %(count)s"),
    ),
    _p(
        rf"invalid cron expression (?P<cron>{QUOTED}): (?P<part>\w+) must be (?P<low>\d+)-(?P<high>\d+)",
        N_("invalid cron expression %(cron)s: %(part)s must be %(low)s-%(high)s"),
    ),
    _p(rf"invalid cron expression (?P<cron>{QUOTED})", N_("invalid cron expression %(cron)s")),
    _p(rf"cron expression (?P<cron>{QUOTED}) never fires", N_("cron expression %(cron)s never fires")),
    _p(
        rf"invalid days (?P<days>{QUOTED}): use mon,tue,wed,thu,fri,sat,sun",
        N_("invalid days %(days)s: use mon,tue,wed,thu,fri,sat,sun"),
    ),
    _p(
        rf"invalid day of month (?P<day>{QUOTED}): must be 1-31 or last",
        N_("invalid day of month %(day)s: must be 1-31 or last"),
    ),
    _p(
        rf"invalid interval (?P<text>{QUOTED}): expected N minutes or N hours",
        N_("invalid interval %(text)s: expected N minutes or N hours"),
    ),
    _p(
        r"interval of (?P<minutes>\d+) minutes: must be between (?P<low>\d+) minutes and 31 days",
        N_("interval of %(minutes)s minutes: must be between %(low)s minutes and 31 days"),
    ),
    _p(
        rf"invalid frequency (?P<text>{QUOTED}): expected daily HH:MM, weekly DAYS HH:MM, monthly N\|last HH:MM, "
        r"every N minutes\|hours or cron EXPR",
        N_(
            "invalid frequency %(text)s: expected daily HH:MM, weekly DAYS HH:MM, monthly N|last HH:MM, every N "
            "minutes|hours or cron EXPR"
        ),
    ),
    _p(
        rf"unknown time zone (?P<name>{QUOTED}) \(an IANA name such as Europe/Paris\)",
        N_("unknown time zone %(name)s (an IANA name such as Europe/Paris)"),
    ),
    _p(
        r"unknown field\(s\) (?P<fields>.+?) \(known: (?P<known>.+)\)",
        N_("unknown field(s) %(fields)s (known: %(known)s)"),
    ),
    _p(
        r"the previous run \(job (?P<job>\d+)\) is still (?P<status>\w+) \(overlap: skip\)",
        N_("the previous run (job %(job)s) is still %(status)s (overlap: skip)"),
    ),
    _p(
        r"(?P<count>\d+\+?) due time\(s\) missed while no scheduler ran, not caught up \(catch-up: none\)",
        N_("%(count)s due time(s) missed while no scheduler ran, not caught up (catch-up: none)"),
    ),
    _p(
        r"once for (?P<count>\d+) due times missed while no scheduler ran",
        N_("once for %(count)s due times missed while no scheduler ran"),
    ),
    _p(
        r"(?P<count>\d+) consecutive failed runs",
        N_("%(count)s consecutive failed runs"),
    ),
    _p(r"paused itself: (?P<reason>.+)", N_("paused itself: %(reason)s")),
    _p(r"cannot run: (?P<reason>.+)", N_("cannot run: %(reason)s")),
    _p(r"no job was created: (?P<reason>.+)", N_("no job was created: %(reason)s")),
    _p(r"the retry could not start: (?P<reason>.+)", N_("the retry could not start: %(reason)s")),
    _p(
        r"not retried: the schedule is paused \((?P<reason>.+)\)",
        N_("not retried: the schedule is paused (%(reason)s)"),
    ),
    _p(
        r"retry (?P<attempt>\d+) of (?P<count>\d+) after: (?P<reason>.+)",
        N_("retry %(attempt)s of %(count)s after: %(reason)s"),
    ),
    # --- integrations: settings, test results, connection errors (engine/services/integrations.py, destinations) ---
    _p(rf"an integration named (?P<name>{QUOTED}) already exists", N_("an integration named %(name)s already exists")),
    _p(rf"no integration named (?P<name>{QUOTED})", N_("no integration named %(name)s")),
    _p(r"no integration with id (?P<id>\d+)", N_("no integration with id %(id)s")),
    _p(rf"must be a text, got (?P<value>{QUOTED})", N_("must be a text, got %(value)s")),
    _p(r"must be a text", N_("must be a text")),
    _p(rf"must be an integer, got (?P<value>{QUOTED})", N_("must be an integer, got %(value)s")),
    _p(r"must be an integer", N_("must be an integer")),
    _p(rf"must be true or false, got (?P<value>{QUOTED})", N_("must be true or false, got %(value)s")),
    _p(rf"must be at most (?P<limit>{NUMBER}) characters", N_("must be at most %(limit)s characters")),
    _p(rf"must be at least (?P<limit>-?{NUMBER})", N_("must be at least %(limit)s")),
    _p(rf"must be at most (?P<limit>-?{NUMBER})", N_("must be at most %(limit)s")),
    _p(rf"must be one of (?P<choices>.+?), got (?P<value>{QUOTED})", N_("must be one of %(choices)s, got %(value)s")),
    _p(r"must be one of (?P<choices>.+)", N_("must be one of %(choices)s")),
    _p(rf"must be an absolute path, got (?P<folder>{QUOTED})", N_("must be an absolute path, got %(folder)s")),
    _p(r"(?P<folder>/.*) is writable", N_("%(folder)s is writable")),
    _p(r"bucket (?P<bucket>\S+): wrote and deleted (?P<key>.+)", N_("bucket %(bucket)s: wrote and deleted %(key)s")),
    _p(
        r"host key (?P<key>.+) is not trusted yet: check it with the server's owner, then trust it",
        N_("host key %(key)s is not trusted yet: check it with the server's owner, then trust it"),
    ),
    _p(
        r"the server's host key (?P<key>.+) is not trusted yet: run a connection test and trust the key it shows",
        N_("the server's host key %(key)s is not trusted yet: run a connection test and trust the key it shows"),
    ),
    _p(
        r"host key changed: expected (?P<expected>.+), the server presented (?P<presented>.+); nothing was sent "
        r"\(trust the new key only if the server's owner confirms the change\)",
        N_(
            "host key changed: expected %(expected)s, the server presented %(presented)s; nothing was sent (trust "
            "the new key only if the server's owner confirms the change)"
        ),
    ),
    _p(
        r"the server now presents a different (?P<names>.+) than the one shown: not trusted; test the connection "
        r"again and compare",
        N_(
            "the server now presents a different %(names)s than the one shown: not trusted; test the connection "
            "again and compare"
        ),
    ),
    _p(
        r"login refused for user (?P<user>.+) \(authentication failed\)",
        N_("login refused for user %(user)s (authentication failed)"),
    ),
    _p(
        r"login refused for user (?P<user>.+): the server accepts (?P<allowed>.+) only",
        N_("login refused for user %(user)s: the server accepts %(allowed)s only"),
    ),
    _p(r"login refused for user (?P<user>\S+) \((?P<reply>.+)\)", N_("login refused for user %(user)s (%(reply)s)")),
    _p(r"connecting timed out after (?P<seconds>[\d.]+) s", N_("connecting timed out after %(seconds)s s")),
    _p(r"(?P<action>.+) timed out after (?P<seconds>[\d.]+) s", N_("%(action)s timed out after %(seconds)s s")),
    _p(r"timed out after (?P<seconds>[\d.]+) s", N_("timed out after %(seconds)s s")),
    _p(
        r"(?P<action>.+?) failed: connection lost \((?P<reason>.+)\)",
        N_("%(action)s failed: connection lost (%(reason)s)"),
    ),
    _p(r"(?P<action>.+?) failed: TLS error \((?P<detail>.+)\)", N_("%(action)s failed: TLS error (%(detail)s)")),
    _p(r"(?P<action>.+?) failed: no such file or folder", N_("%(action)s failed: no such file or folder")),
    _p(r"(?P<action>.+?) refused: permission denied", N_("%(action)s refused: permission denied")),
    _p(r"(?P<action>.+?) refused by the server: (?P<reason>.+)", N_("%(action)s refused by the server: %(reason)s")),
    _p(r"connection failed: no address found for (?P<host>.+)", N_("connection failed: no address found for %(host)s")),
    _p(r"connection failed: (?P<reason>.+)", N_("connection failed: %(reason)s")),
    _p(
        r"(?P<action>connecting|uploading .+|checking .+|renaming .+|creating the folder .+|logging in as .+) failed: "
        r"(?P<reason>.+)",
        N_("%(action)s failed: %(reason)s"),
    ),
    _p(r"uploading (?P<file>.+)", N_("uploading %(file)s")),
    _p(r"checking the size of (?P<file>.+)", N_("checking the size of %(file)s")),
    _p(r"renaming (?P<file>.+) to its final name", N_("renaming %(file)s to its final name")),
    _p(r"checking (?P<file>.+)", N_("checking %(file)s")),
    _p(r"creating the folder (?P<path>.+)", N_("creating the folder %(path)s")),
    _p(r"logging in as (?P<user>.+)", N_("logging in as %(user)s")),
    _p(r"answered HTTP (?P<status>\d+)", N_("answered HTTP %(status)s")),
    _p(
        r"answered HTTP (?P<status>\d+), sending again will not change it",
        N_("answered HTTP %(status)s, sending again will not change it"),
    ),
    _p(
        r"disabled after (?P<count>\d+) failed deliveries in a row, the last: (?P<message>.+)",
        N_("disabled after %(count)s failed deliveries in a row, the last: %(message)s"),
    ),
    _p(
        rf"integration (?P<name>{QUOTED}) is disabled \((?P<reason>.+)\); a successful "
        r"`pm-exports integrations test (?P<plain>.+)` enables it again",
        N_("integration %(name)s is disabled (%(reason)s); a successful connection test enables it again"),
    ),
    # --- jobs and deliveries (engine/services/jobs.py, deliveries.py, engine/jobs) ---
    _p(
        r"delivery to (?P<name>\S+) held by the publish gate: (?P<reason>.+)",
        N_("delivery to %(name)s held by the publish gate: %(reason)s"),
    ),
    _p(r"delivery to (?P<name>[^:]+?): (?P<message>.+)", N_("delivery to %(name)s: %(message)s")),
    _p(r"held by the publish gate: (?P<reason>.+)", N_("held by the publish gate: %(reason)s")),
    _p(r"job (?P<id>\d+) has no files to deliver", N_("job %(id)s has no files to deliver")),
    _p(
        r"(?P<file>.+) changed on disk since the export wrote it",
        N_("%(file)s changed on disk since the export wrote it"),
    ),
    _p(r"job (?P<id>\d+) is already (?P<status>\w+)", N_("job %(id)s is already %(status)s")),
    _p(
        r"job (?P<id>\d+) is (?P<status>\w+): only failed, cancelled or partial jobs can be retried",
        N_("job %(id)s is %(status)s: only failed, cancelled or partial jobs can be retried"),
    ),
    _p(
        r"job (?P<id>\d+) is (?P<status>\w+): only finished exports with files can be delivered",
        N_("job %(id)s is %(status)s: only finished exports with files can be delivered"),
    ),
    _p(
        r"job (?P<id>\d+) is (?P<status>\w+): (?P<reason>.+); it has no files to download",
        N_("job %(id)s is %(status)s: %(reason)s; it has no files to download"),
    ),
    _p(
        r"job (?P<id>\d+) is (?P<status>\w+); it has no files to download",
        N_("job %(id)s is %(status)s; it has no files to download"),
    ),
    _p(r"job (?P<id>\d+) has no stored files left to deliver", N_("job %(id)s has no stored files left to deliver")),
    _p(r"job (?P<id>\d+) has no such artifact", N_("job %(id)s has no such artifact")),
    _p(r"no export job (?P<id>\d+)", N_("no export job %(id)s")),
    _p(r"no delivery (?P<id>\d+)", N_("no delivery %(id)s")),
    _p(r"delivery (?P<id>\d+) is already (?P<status>\w+)", N_("delivery %(id)s is already %(status)s")),
    _p(
        r"delivery (?P<id>\d+) is (?P<status>\w+), not held: only a held delivery is released",
        N_("delivery %(id)s is %(status)s, not held: only a held delivery is released"),
    ),
    _p(
        r"job (?P<id>\d+) has no failed delivery to send again \(name one with --to\)",
        N_("job %(id)s has no failed delivery to send again"),
    ),
    _p(r"(?P<file>.+) expired on (?P<date>[\d-]+)", N_("%(file)s expired on %(date)s")),
    _p(r"(?P<file>.+) is no longer stored", N_("%(file)s is no longer stored")),
    _p(r"cancelled: (?P<reason>.+)", N_("cancelled: %(reason)s")),
    _p(r"interrupted by (?P<signal>SIG\w+)", N_("interrupted by %(signal)s")),
    _p(r"gave up after retries: (?P<reason>.+)", N_("gave up after retries: %(reason)s")),
    _p(r"will retry: (?P<reason>.+)", N_("will retry: %(reason)s")),
    _p(r"(?P<message>.+); will retry", N_("%(message)s; will retry")),
    _p(
        r"internal error \((?P<kind>\w+)\); see the worker log",
        N_("internal error (%(kind)s); see the worker log"),
    ),
    _p(
        r"lost when Redis restarted empty \(or lost its data\) (?P<count>\d+) times; retry it",
        N_("lost when Redis restarted empty (or lost its data) %(count)s times; retry it"),
    ),
    _p(r"Redis does not answer: (?P<reason>.+); retry later", N_("Redis does not answer: %(reason)s; retry later")),
    _p(r"job (?P<id>\d+) was not retried", N_("job %(id)s was not retried")),
    _p(r"delivering to (?P<name>.+)", N_("delivering to %(name)s")),
    _p(r"delivered to (?P<name>.+)", N_("delivered to %(name)s")),
    _p(r"written to (?P<path>.+)", N_("written to %(path)s")),
    _p(r"(?P<size>\d+) bytes written and renamed", N_("%(size)s bytes written and renamed")),
    _p(
        r"(?P<excluded>[\d,]+) of (?P<total>[\d,]+) selected products excluded \((?P<share>[\d.]+ %); the gate "
        r"allows (?P<limit>[\d.]+ %)\)",
        N_("%(excluded)s of %(total)s selected products excluded (%(share)s; the gate allows %(limit)s)"),
    ),
    _p(
        r"(?P<rows>[\d,]+) rows against (?P<baseline>[\d,]+) at the last delivery \(down (?P<drop>[\d.]+ %); the "
        r"gate allows (?P<limit>[\d.]+ %)\)",
        N_("%(rows)s rows against %(baseline)s at the last delivery (down %(drop)s; the gate allows %(limit)s)"),
    ),
    # --- users and API keys (engine/services/users.py, apikeys.py) ---
    _p(
        r"too many failed logins: this account is locked for (?P<minutes>\d+) more minutes?",
        N_("too many failed logins: this account is locked for %(minutes)s more minute(s)"),
    ),
    _p(
        r"(?P<name>.+) is the last active admin: make another user admin first",
        N_("%(name)s is the last active admin: make another user admin first"),
    ),
    _p(rf"a user named (?P<name>{QUOTED}) already exists", N_("a user named %(name)s already exists")),
    _p(rf"no user named (?P<name>{QUOTED})", N_("no user named %(name)s")),
    _p(r"API key (?P<prefix>\S+) was revoked", N_("API key %(prefix)s was revoked")),
    _p(rf"no API key with id or prefix (?P<ident>{QUOTED})", N_("no API key with id or prefix %(ident)s")),
    _p(
        rf"API key (?P<name>{QUOTED}) has the role (?P<role>\w+); this needs (?P<needed>\w+)",
        N_("API key %(name)s has the role %(role)s; this needs %(needed)s"),
    ),
]

# A frame around another message: used only when that message is known (see the module's docstring).
WRAPPERS: list[tuple[re.Pattern[str], str]] = [
    _p(r"(?P<where>(?:SFTP|FTPS?|SMTP) \S+:\d+): (?P<message>.+)", N_("%(where)s: %(message)s")),
    _p(r"(?P<where>webhook \S+): (?P<message>.+)", N_("%(where)s: %(message)s")),
    _p(r"(?P<where>[^:\n]{1,200}): (?P<message>.+)", N_("%(where)s: %(message)s")),
]

NESTED = frozenset({"message", "reason", "action"})  # groups holding another engine message
MAX_DEPTH = 4

MAX_MESSAGE = 4000  # longer messages are shown as they are (a regex scan over a huge text costs for nothing)


def _values(found: re.Match[str], depth: int) -> tuple[dict[str, str], bool]:
    """The groups' values for the msgid (nested messages translated) and whether a nested one was known."""
    values, known = {}, False
    for name, value in found.groupdict().items():
        value = value or ""
        if name in NESTED and value:
            translated = _translate(value, depth + 1)
            known |= translated != value
            value = translated
        values[name] = value
    return values, known


def _translate(text: str, depth: int) -> str:
    if depth > MAX_DEPTH:
        return text
    if text in EXACT:
        return gettext(text)
    for pattern, msgid in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return gettext(msgid, **_values(found, depth)[0])
    for pattern, msgid in WRAPPERS:
        found = pattern.fullmatch(text)
        if found:
            values, known = _values(found, depth)
            return gettext(msgid, **values) if known else text
    return text


def engine_text(message: object) -> str:
    """`message` in the user's language when it is a known engine message, else as it is."""
    text = "" if message is None else str(message)
    if not text or len(text) > MAX_MESSAGE or str(get_locale() or "en").startswith("en"):
        return text
    return _translate(text, 0)
