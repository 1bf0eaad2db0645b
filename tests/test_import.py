"""`catalog import`: CSV and JSON Lines, rejected rows with their physical line, upserts (SQLite + PostgreSQL)."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from engine.catalog.importer import Rejection, detect_encoding, import_file, sniff_delimiter
from engine.catalog.models import Category, Image, Product, ProductSupplier, Variant
from engine.catalog.store import ensure_category_path, ensure_supplier, upsert_product
from engine.cli import main
from engine.db import current_database, database_proxy
from engine.errors import InvalidRequest
from engine.services.catalog import get_product
from engine.settings import Settings

EAN = "3760123456784"
BAD_EAN = "3760123456781"


@pytest.fixture
def catalogue(db):
    ensure_category_path("Maison > Cuisine > Casseroles")
    ensure_supplier("FR001", "Distribution Rhône-Alpes", "FR")
    return db


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


HEADER = (
    "sku;ean;title;price;category;tags;images;attributes.color;supplier_code;supplier_sku;supplier_cost_price;"
    "description\n"
)
CSV_TEXT = (
    HEADER  # line 1
    + "CSV-1;3760123456784;Casserole « Chef », inox;24,90;maison > cuisine > casseroles;inox|induction;"
    "https://cdn.example.com/1.jpg|https://cdn.example.com/2.jpg;rouge;FR001;F-1;10,5\n"  # line 2
    + 'CSV-2;;Deux lignes;12;;;;;;;;"Description sur\ndeux lignes"\n'  # lines 3-4
    + f"CSV-3;{BAD_EAN};Mauvais EAN;5;;;;;;;\n"  # line 5
    + 'CSV-4;;Cité;7;;;;;;;;"Texte ""cité""\r\n\r\navec une ligne vide"\n'  # lines 6-8
    + "CSV-5;;;5;;;;;;;\n"  # line 9
    + "CSV-6;;Inconnue;5;Maison > Salon;;;;;;\n"  # line 10
    + "CSV-7;;Fournisseur;5;;;;;ZZ9;;\n"  # line 11
    + "CSV-8;;Prix;douze;;;;;;;\n"  # line 12
    + "\n"  # line 13: blank, skipped
    + ";;Sans identifiant;5;;;;;;;\n"  # line 14
    + "CSV-9;;Trop de champs;5;;;;;;;;;en trop\n"  # line 15
    + "CSV-10;;Fournisseur sans code;5;;;;;;S-1;\n"  # line 16
    + "CSV-11;;Dernière ligne sans fin de ligne;1"  # line 17 (short row: missing cells are empty)
)


def test_csv_imports_good_rows_and_rejects_bad_ones_with_their_physical_line(catalogue, tmp_path):
    report = import_file(write(tmp_path, "products.csv", CSV_TEXT))
    assert (report.format, report.encoding, report.delimiter) == ("csv", "utf-8-sig", ";")
    assert (report.created, report.updated, report.rejected) == (4, 0, 8)
    assert report.rejections == [
        Rejection(5, "CSV-3", BAD_EAN, f"EAN '{BAD_EAN}' has a bad check digit (expected 4)"),
        Rejection(9, "CSV-5", None, "title is missing"),
        Rejection(10, "CSV-6", None, "unknown category 'Maison > Salon'"),
        Rejection(11, "CSV-7", None, "unknown supplier 'ZZ9'"),
        Rejection(12, "CSV-8", None, "price 'douze' is not a number"),
        Rejection(14, None, None, "a product needs a sku or an ean"),
        Rejection(15, "CSV-9", None, "the row has 13 fields but the header has 12 columns"),
        Rejection(16, "CSV-10", None, "supplier_sku, supplier_cost_price and supplier_stock need a supplier_code"),
    ]
    assert report.rejections[5].key == "-"

    first = Product.get(Product.sku == "CSV-1")
    assert (first.ean, first.title, first.price) == (EAN, "Casserole « Chef », inox", Decimal("24.90"))
    assert first.category.path == "Maison > Cuisine > Casseroles"
    assert (first.tags, first.attributes) == (["inox", "induction"], {"color": "rouge"})
    assert [i.url for i in Image.select().where(Image.product == first.id).order_by(Image.position)] == [
        "https://cdn.example.com/1.jpg",
        "https://cdn.example.com/2.jpg",
    ]
    link = ProductSupplier.get(ProductSupplier.product == first.id)
    assert (link.supplier.code, link.supplier_sku, link.cost_price) == ("FR001", "F-1", Decimal("10.50"))
    assert Product.get(Product.sku == "CSV-2").description == "Description sur\ndeux lignes"
    assert Product.get(Product.sku == "CSV-4").description == 'Texte "cité"\r\n\r\navec une ligne vide'
    assert Product.get(Product.sku == "CSV-11").price == Decimal("1.00")
    assert Product.select().count() == 4


def test_csv_upsert_updates_existing_products_and_clears_given_columns(catalogue, tmp_path):
    existing, _ = upsert_product({"sku": "UP-1", "ean": EAN, "title": "Ancien titre", "brand": "Krüger",
                                  "images": ["https://cdn.example.com/old.jpg"]})  # fmt: skip
    path = write(tmp_path, "update.csv", f"ean,title,images\n{EAN},Nouveau titre,\nNEW-EAN,x,\n")
    report = import_file(path)
    assert (report.delimiter, report.created, report.updated, report.rejected) == (",", 0, 1, 1)
    assert report.rejections == [Rejection(3, None, "NEW-EAN", "EAN 'NEW-EAN' must contain digits only")]
    product = Product.get_by_id(existing.id)
    assert (product.sku, product.title, product.brand) == ("UP-1", "Nouveau titre", "Krüger")  # brand: no column
    assert Image.select().where(Image.product == existing.id).count() == 0  # images column present and empty


def test_csv_with_a_bom_and_tabs(catalogue, tmp_path):
    path = write(tmp_path, "bom.csv", "\ufeffsku\ttitle\tprice\nBOM-1\tCrème brûlée\t3.5\n")
    report = import_file(path)
    assert (report.encoding, report.delimiter, report.created, report.rejected) == ("utf-8-sig", "\t", 1, 0)
    assert Product.get(Product.sku == "BOM-1").title == "Crème brûlée"


@pytest.mark.parametrize(
    ("text", "encoding", "detected"),
    [
        ("sku;title\nISO-1;Pâté de campagne à l'ancienne, façon grand-mère\n", "iso-8859-1", "cp1252"),
        ("sku;title\nISO-1;Bœuf bourguignon à 12 € la portion\n", "cp1252", "cp1252"),
    ],
)
def test_csv_that_is_not_utf8_is_read_as_windows_1252(catalogue, tmp_path, text, encoding, detected):
    path = write(tmp_path, "latin.csv", text, encoding)
    assert detect_encoding(path) == detected
    report = import_file(path)
    assert (report.encoding, report.created) == (detected, 1)
    assert Product.get(Product.sku == "ISO-1").title == text.splitlines()[1].split(";")[1]


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"sku;title\nX;caf\xe9 \x81\n")
    assert detect_encoding(path) == "latin-1"


def test_unknown_columns_reject_the_whole_file_before_importing_anything(catalogue, tmp_path):
    path = write(tmp_path, "bad.csv", "sku;title;colour;Prix TTC;attributes.color\nA;B;red;3;x\n")
    with pytest.raises(InvalidRequest) as caught:
        import_file(path)
    assert str(caught.value).startswith("unknown column(s): colour, Prix TTC (expected product fields")
    assert Product.select().count() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty (no header line)"),
        ("title;price\nA;1\n", "the file needs a sku or an ean column to match products"),
        ("sku;title;SKU\n", "column(s) appear more than once: sku"),
    ],
)
def test_other_whole_file_errors(catalogue, tmp_path, text, message):
    with pytest.raises(InvalidRequest) as caught:
        import_file(write(tmp_path, "x.csv", text))
    assert str(caught.value) == message


def test_trailing_empty_columns_from_spreadsheets_are_tolerated(catalogue, tmp_path):
    path = write(tmp_path, "excel.csv", "sku;title;;\nXL-1;Tableur;;\nXL-2;Tableur;;oups\n")
    report = import_file(path)
    assert (report.created, report.rejections) == (
        1,
        [Rejection(3, "XL-2", None, "column 4 has a value but no header")],
    )


def test_create_categories_creates_missing_paths_and_reuses_existing_ones(catalogue, tmp_path):
    text = (
        "sku;title;category;extra_categories;supplier_code\n"
        "CC-1;Poêle;MAISON > cuisine > Poêles;Jardin > Arrosage|Maison > Cuisine > Casseroles;\n"
        "CC-2;Rejetée;Bricolage > Peinture;;ZZ9\n"  # its new category goes with it
        "CC-3;Sauteuse;Maison > Cuisine > Poêles;;\n"
    )
    path = write(tmp_path, "cats.csv", text)
    without = import_file(path)
    assert [(r.line, r.reason) for r in without.rejections] == [
        (2, "unknown category 'MAISON > cuisine > Poêles'"),
        (3, "unknown category 'Bricolage > Peinture'"),
        (4, "unknown category 'Maison > Cuisine > Poêles'"),
    ]
    report = import_file(path, create_categories=True)
    assert (report.created, report.rejected, report.categories_created) == (2, 1, 3)
    assert report.rejections == [Rejection(3, "CC-2", None, "unknown supplier 'ZZ9'")]
    paths = sorted(c.path for c in Category.select())
    assert paths == [
        "Jardin", "Jardin > Arrosage", "Maison", "Maison > Cuisine", "Maison > Cuisine > Casseroles",
        "Maison > Cuisine > Poêles",
    ]  # fmt: skip
    poeles = Category.get(Category.path == "Maison > Cuisine > Poêles")
    assert (poeles.depth, poeles.parent.path, poeles.slug) == (2, "Maison > Cuisine", "poeles")
    assert {p.category_id for p in Product.select()} == {poeles.id}


JSONL_LINES = [
    orjson.dumps(
        {
            "sku": "J-1",
            "ean": EAN,
            "title": "Théière en fonte",
            "price": 39.9,
            "status": "active",
            "category": "Maison > Cuisine > Casseroles",
            "tags": ["thé", "fonte"],
            "attributes": {"color": "noir"},
            "images": [{"url": "https://cdn.example.com/t.jpg", "alt": "Théière"}],
            "suppliers": [{"code": "FR001", "supplier_sku": "T-1", "cost_price": 15.25, "stock": 4}],
            "variants": [
                {"sku": "J-1-S", "options": {"Contenance": "0,8 L"}},
                {"sku": "J-1-L", "price": 44.9, "options": {"Contenance": "1,2 L"}},
            ],
        }
    ).decode(),  # line 1
    "",  # line 2: blank
    '{"sku": "J-2", "title": "Virgule en trop",}',  # line 3
    '["not", "an", "object"]',  # line 4
    orjson.dumps({"sku": "J-3", "ean": BAD_EAN, "title": "Mauvais EAN"}).decode(),  # line 5
    "   ",  # line 6: blank
    orjson.dumps({"sku": "J-4", "title": "Variante en double", "variants": [{"sku": "J-1-S"}]}).decode(),  # line 7
    orjson.dumps({"ean": EAN, "title": "Théière en fonte émaillée"}).decode(),  # line 8: updates J-1 by EAN
    orjson.dumps({"sku": "J-5", "title": "Champ inconnu", "colour": "red"}).decode(),  # line 9
]


def test_jsonl_imports_good_lines_and_rejects_bad_ones(catalogue, tmp_path):
    path = write(tmp_path, "products.jsonl", "\n".join(JSONL_LINES) + "\n")
    report = import_file(path)
    assert (report.format, report.created, report.updated, report.rejected) == ("jsonl", 1, 1, 5)
    assert [(r.line, r.key, r.reason.split(":")[0]) for r in report.rejections] == [
        (3, "-", "malformed JSON"),
        (4, "-", "a line must be a JSON object, got list"),
        (5, "J-3", f"EAN '{BAD_EAN}' has a bad check digit (expected 4)"),
        (7, "J-4", "variant sku 'J-1-S' already belongs to product 1"),
        (9, "J-5", "unknown field(s)"),
    ]
    assert report.rejections[0].reason == "malformed JSON: trailing comma is not allowed at column 42"
    assert report.rejections[4].reason == "unknown field(s): colour"
    product = Product.get(Product.sku == "J-1")
    assert (product.title, product.price, product.status) == ("Théière en fonte émaillée", Decimal("39.90"), "active")
    assert [(v.sku, v.option1_value, v.price) for v in Variant.select().order_by(Variant.position)] == [
        ("J-1-S", "0,8 L", None),
        ("J-1-L", "1,2 L", Decimal("44.90")),
    ]
    link = ProductSupplier.get(ProductSupplier.product == product.id)
    assert (link.supplier_sku, link.cost_price, link.stock) == ("T-1", Decimal("15.25"), 4)
    assert Image.get(Image.product == product.id).alt == "Théière"


def test_a_row_with_duplicate_variant_skus_is_rejected_and_the_import_goes_on(catalogue, tmp_path):
    lines = [
        {"sku": "D-1", "title": "Deux variantes, une seule référence", "variants": [{"sku": "V"}, {"sku": "V"}]},
        {"sku": "D-2", "title": "Suivant", "variants": [{"sku": "V"}]},
    ]
    path = write(tmp_path, "dup.jsonl", "\n".join(orjson.dumps(line).decode() for line in lines))
    report = import_file(path)
    assert (report.created, report.rejected) == (1, 1)
    (rejection,) = report.rejections
    assert (rejection.line, rejection.sku) == (1, "D-1")
    assert rejection.reason == "two variants have the same sku 'V'"
    assert [p.sku for p in Product.select()] == ["D-2"]
    assert Variant.select().count() == 1


def test_jsonl_with_a_bom_ndjson_extension_and_format_override(catalogue, tmp_path):
    line = orjson.dumps({"sku": "N-1", "title": "Bol"}).decode()
    assert import_file(write(tmp_path, "a.ndjson", "\ufeff" + line + "\n")).created == 1
    assert import_file(write(tmp_path, "b.txt", line), fmt="jsonl").updated == 1
    with pytest.raises(InvalidRequest, match=r"cannot tell the format of 'b\.txt'"):
        import_file(tmp_path / "b.txt")


def test_sniff_delimiter():
    assert sniff_delimiter("sku;title;price\n") == ";"
    assert sniff_delimiter("sku,title,price\n") == ","
    assert sniff_delimiter("sku\ttitle\n") == "\t"
    assert sniff_delimiter("sku\n") == ","


def test_an_explicit_delimiter_wins(catalogue, tmp_path):
    path = write(tmp_path, "pipe.csv", "sku|title\nP-1|Titre, avec; tout\n")
    report = import_file(path, delimiter="|")
    assert (report.created, Product.get(Product.sku == "P-1").title) == (1, "Titre, avec; tout")


# --- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def cli(catalogue: Settings):
    env = {"DATABASE_URL": catalogue.database_url, "PM_EXPORTS_VAR_DIR": str(catalogue.var_dir),
           "PM_EXPORTS_LOG_FORMAT": "text"}  # fmt: skip

    def invoke(*args: str):
        previous, handlers = current_database(), logging.getLogger().handlers[:]
        try:
            return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        finally:
            opened = database_proxy.obj
            if opened is not previous:
                opened.close()
                database_proxy.initialize(previous)
            logging.getLogger().handlers[:] = handlers

    return invoke


def test_cli_lists_rejections_and_exits_1(cli, tmp_path):
    result = cli("catalog", "import", str(write(tmp_path, "products.csv", CSV_TEXT)))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "created: 4, updated: 0, rejected: 8"
    assert lines[1] == f"line 5: CSV-3: EAN '{BAD_EAN}' has a bad check digit (expected 4)"
    assert lines[6] == "line 14: a product needs a sku or an ean"
    assert len(lines) == 9


def test_cli_exits_0_when_everything_is_imported(cli, tmp_path):
    path = write(tmp_path, "ok.tsv", "sku\ttitle\tcategory\nOK-1\tBol\tCuisine > Bols\n")
    result = cli("catalog", "import", str(path), "--format", "csv", "--delimiter", "tab", "--create-categories")
    assert result.exit_code == 0, result.output
    assert result.stdout == "created: 1, updated: 0, rejected: 0, categories created: 2\n"


def test_cli_shows_50_rejections_then_a_count(cli, tmp_path):
    path = write(tmp_path, "many.csv", "sku;title\n" + "".join(f"M-{i};\n" for i in range(60)))
    result = cli("catalog", "import", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "created: 0, updated: 0, rejected: 60"
    assert lines[1] == "line 2: M-0: title is missing"
    assert lines[50] == "line 51: M-49: title is missing"
    assert lines[51:] == ["... and 10 more"]


def test_cli_whole_file_errors_exit_2(cli, tmp_path):
    result = cli("catalog", "import", str(write(tmp_path, "bad.csv", "sku;couleur\n")))
    assert result.exit_code == 2
    assert "error: unknown column(s): couleur" in result.stderr
    bad_delimiter = cli("catalog", "import", str(tmp_path / "bad.csv"), "--delimiter", "::")
    assert bad_delimiter.exit_code == 2
    missing = cli("catalog", "import", str(tmp_path / "missing.csv"))
    assert missing.exit_code == 2


UNCLOSED = "; the lines after it are read as records of their own"
STRAY = "quote the whole value and double the quotes inside it"


@pytest.mark.parametrize(
    ("text", "imported", "rejections"),
    [
        pytest.param(  # the case: the valid rows after the open quote are imported
            'sku;title;price\nOK-1;Bon;5\nX-1;"unterminated;5\nOK-2;Bon;6\nOK-3;Bon;7\n',
            ["OK-1", "OK-2", "OK-3"],
            [(3, f"unclosed quote: the file ends inside it{UNCLOSED}")],
            id="unterminated-quote",
        ),
        pytest.param(  # the case: a quote closed on the next line never merges two products
            'sku;title;price\nA-1;"Titre un;5\nA-2;Titre deux";6\nA-3;Trois;7\n',
            ["A-3"],
            [
                (2, f"unclosed quote: title would span lines 2-3{UNCLOSED}"),
                (3, f"a quote inside the unquoted value of column 2 (title): {STRAY}"),
            ],
            id="quote-closed-on-the-next-line",
        ),
        pytest.param(  # even in a long-text column, a continuation line that is a whole record ends the quote
            'sku;title;description\nD-1;Un;"<p>Un\nDeux</p>"\nD-2;Deux;"ouvert\nD-3;Trois;sept\n',
            ["D-1", "D-3"],
            [(4, f"unclosed quote: the file ends inside it{UNCLOSED}")],
            id="description-then-open-quote",
        ),
        pytest.param(
            'sku;title;description\nD-1;Un;"ouvert\nD-2;Deux;fermé"\n',
            [],
            [
                (2, f"unclosed quote: line 3 reads as a record of its own{UNCLOSED}"),
                (3, f"a quote inside the unquoted value of column 3 (description): {STRAY}"),
            ],
            id="description-quote-closed-on-a-record-line",
        ),
        pytest.param(  # a line break in an extra field (beyond the header) is no long-text column either
            'sku;title\nE-1;Bon;"x\ny"\nE-2;Bon\n',
            ["E-2"],
            [
                (2, f"unclosed quote: column 3 would span lines 2-3{UNCLOSED}"),
                (3, f"a quote inside the unquoted value of column 1 (sku): {STRAY}"),
            ],
            id="line-break-in-an-extra-field",
        ),
        pytest.param(
            'sku;title\nS-1;Bon "marché"\nS-2;"Bien ""cité"""\n',
            ["S-2"],
            [(2, f"a quote inside the unquoted value of column 2 (title): {STRAY}")],
            id="stray-quote",
        ),
        pytest.param(
            'sku;title\nQ-1;"fermé" puis du texte\nQ-2;Bon\n',
            ["Q-2"],
            [(2, "unreadable CSV record: ';' expected after '\"'")],
            id="text-after-a-closing-quote",
        ),
    ],
)
def test_every_physical_line_is_imported_or_rejected_with_its_number(catalogue, tmp_path, text, imported, rejections):
    report = import_file(write(tmp_path, "quotes.csv", text))
    assert [(r.line, r.reason) for r in report.rejections] == rejections
    assert sorted(p.sku for p in Product.select()) == imported
    assert (report.created, report.rejected) == (len(imported), len(rejections))


def test_a_multi_line_description_is_kept(catalogue, tmp_path):
    text = 'sku;title;description\r\nM-1;Un;"<p>Ligne 1</p>\r\n<p>Ligne 2; suite</p>"\r\nM-2;Deux;\r\n'
    report = import_file(write(tmp_path, "multi.csv", text))
    assert (report.created, report.rejected) == (2, 0)
    assert Product.get(Product.sku == "M-1").description == "<p>Ligne 1</p>\r\n<p>Ligne 2; suite</p>"


def test_a_line_over_the_bound_is_rejected_without_being_kept(catalogue, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.catalog.importer.MAX_LINE_CHARS", 64)
    text = "sku;title\nL-1;" + "x" * 200 + '\nL-2;"' + "y" * 100 + '\nL-3;"ouvert\nL-4;ok\n'
    report = import_file(write(tmp_path, "long.csv", text))
    assert [(r.line, r.reason) for r in report.rejections] == [
        (2, "the line is longer than 64 characters"),
        (3, "the line is longer than 64 characters"),
        (4, f"unclosed quote: the file ends inside it{UNCLOSED}"),
    ]
    assert [p.sku for p in Product.select()] == ["L-4"]


def test_a_new_sku_never_takes_another_products_ean(catalogue, tmp_path):
    upsert_product({"sku": "OLD-1", "ean": EAN, "title": "Ancien"})
    upsert_product({"ean": "96385074", "title": "Sans SKU"})
    path = write(tmp_path, "conflict.csv", f"sku;ean;title\nNEW-1;{EAN};Nouveau\nNEW-2;96385074;Reçoit un SKU\n")
    report = import_file(path)
    assert (report.created, report.updated, report.rejected) == (0, 1, 1)
    assert report.rejections == [
        Rejection(
            2,
            "NEW-1",
            EAN,
            f"conflict: ean '{EAN}' belongs to sku 'OLD-1', not to the new sku 'NEW-1' "
            "(match by ean to give that product the sku 'NEW-1')",
        ),
    ]
    assert Product.get(Product.ean == EAN).title == "Ancien"
    assert Product.get(Product.ean == "96385074").sku == "NEW-2"  # that product had no SKU: it gains one

    renamed = import_file(path, match_by="ean")
    assert (renamed.created, renamed.updated, renamed.rejected) == (0, 2, 0)
    assert (Product.get(Product.ean == EAN).sku, Product.select().count()) == ("NEW-1", 2)


def test_the_cli_match_by_option(cli, tmp_path):
    upsert_product({"sku": "OLD-1", "ean": EAN, "title": "Ancien"})
    path = write(tmp_path, "conflict.csv", f"sku;ean;title\nNEW-1;{EAN};Nouveau\n")
    conflict = cli("catalog", "import", str(path))
    assert conflict.exit_code == 1
    assert conflict.stdout.splitlines()[1].startswith(f"line 2: NEW-1: conflict: ean '{EAN}' belongs to sku 'OLD-1'")
    renamed = cli("catalog", "import", str(path), "--match-by", "ean")
    assert (renamed.exit_code, renamed.stdout) == (0, "created: 0, updated: 1, rejected: 0\n")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", "", "the file is empty: no product lines in empty.jsonl"),
        ("blank.jsonl", "\n  \n", "the file is empty: no product lines in blank.jsonl"),
        ("header.csv", "sku;title\n\n", "the file is empty: a header line but no product rows in header.csv"),
        ("nothing.csv", "", "the file is empty (no header line)"),
    ],
)
def test_an_empty_file_says_so_and_exits_2(cli, tmp_path, name, content, message):
    result = cli("catalog", "import", str(write(tmp_path, name, content)))
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"


def test_the_standard_csv_export_reads_back(cli, tmp_path):
    upsert_product({"sku": "STD-1", "ean": EAN, "title": "Casserole", "brand": "Krüger", "price": "24.90",
                    "compare_at_price": "29.90", "weight": "1.25", "width": "20", "status": "active",
                    "category": "Maison > Cuisine > Casseroles", "tags": ["inox", "induction"],
                    "description": "<p>Un\nDeux</p>", "images": ["https://cdn.example.com/1.jpg"]})  # fmt: skip
    exported = cli("export", "--template", "Standard CSV", "--out", str(tmp_path / "out"), "--quiet")
    assert exported.exit_code == 0, exported.output
    (path,) = (tmp_path / "out").glob("*.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfID;SKU;EAN;")
    before = get_product(sku="STD-1")
    Product.update(title="Changé", weight=None, tags=None).where(Product.sku == "STD-1").execute()
    result = cli("catalog", "import", str(path))
    assert (result.exit_code, result.stdout) == (0, "created: 0, updated: 1, rejected: 0\n")
    after = get_product(sku="STD-1")
    ignored = ("updated_at", "completeness", "grade")
    assert {k: v for k, v in after.items() if k not in ignored} == {k: v for k, v in before.items() if k not in ignored}


SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "samples" / "catalogue-sample.csv"


def test_the_documented_sample_file_imports_cleanly(cli):
    result = cli("catalog", "import", str(SAMPLE), "--create-categories")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created: 5, updated: 0, rejected: 0")
    assert "\n" in Product.get(Product.sku == "CAS-24-INOX").description
