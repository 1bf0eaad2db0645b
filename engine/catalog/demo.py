"""Deterministic demo catalogue: realistic French/English products bulk-inserted in chunks (`demo seed`).

The same (n, seed) always gives the same rows and ids, timestamps included, so exports of a demo catalogue
are byte-identical from one machine to the next. Rows are generated in Python and written with
`executemany` (SQLite) or `execute_values` (PostgreSQL), one transaction per chunk of products, so seeding
100,000 products takes seconds and memory stays flat whatever `n` is.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from peewee import Database, OperationalError, PostgresqlDatabase, ProgrammingError

from engine.catalog import completeness
from engine.catalog.gtin import gtin_check_digit
from engine.catalog.models import (
    Category,
    Image,
    Product,
    ProductCategory,
    ProductSupplier,
    Supplier,
    Variant,
)
from engine.catalog.text import slugify
from engine.db import current_database
from engine.errors import ConfigError, InvalidRequest

CHUNK_SIZE = 1000  # products per transaction
BASE_DATE = dt.datetime(2023, 1, 2, 8, 0, 0)  # created_at = BASE_DATE + a random offset: no now() anywhere
SHOP = "https://shop.example.com"
CDN = "https://cdn.example.com"

# --- reference data -----------------------------------------------------------------------------------------

# Category tree, two spaces per level. A leaf carries "| English product noun"; its French product noun is
# the singular of its name (see _singular). Products go into leaves only.
CATEGORY_TREE = """
Maison
  Cuisine
    Casseroles | Saucepan
    Poêles | Frying pan
    Couteaux | Kitchen knife
    Ustensiles | Kitchen utensil
    Planches à découper | Chopping board
    Petit électroménager
      Cafetières | Coffee maker
      Bouilloires | Kettle
      Grille-pain | Toaster
      Mixeurs | Blender
  Salle de bain
    Serviettes | Bath towel
    Tapis de bain | Bath mat
    Miroirs | Mirror
    Porte-savons | Soap dish
  Décoration
    Bougies parfumées | Scented candle
    Cadres photo | Photo frame
    Vases | Vase
    Coussins | Cushion
    Horloges | Wall clock
  Linge de maison
    Draps | Bed sheet
    Couettes | Duvet
    Nappes | Tablecloth
    Plaids | Throw blanket
  Rangement
    Boîtes | Storage box
    Étagères | Shelf
    Paniers | Basket
    Porte-manteaux | Coat rack
Jardin
  Outillage de jardin
    Sécateurs | Pruning shears
    Bêches | Spade
    Râteaux | Rake
    Brouettes | Wheelbarrow
  Mobilier de jardin
    Tables de jardin | Garden table
    Chaises longues | Sun lounger
    Parasols | Parasol
    Hamacs | Hammock
  Arrosage
    Tuyaux d'arrosage | Garden hose
    Arrosoirs | Watering can
    Programmateurs | Water timer
  Plantes & graines
    Graines potagères | Vegetable seeds
    Bulbes | Flower bulbs
    Terreaux | Potting soil
    Pots de fleurs | Flower pot
  Barbecue & plancha
    Barbecues charbon | Charcoal barbecue
    Planchas | Griddle
    Accessoires de barbecue | Barbecue accessory
High-Tech
  Audio
    Casques audio | Headphones
    Enceintes | Speaker
    Écouteurs | Earbuds
    Platines vinyle | Turntable
  Informatique
    Claviers | Keyboard
    Souris | Mouse
    Écrans | Monitor
    Webcams | Webcam
    Stockage
      Disques durs | Hard drive
      Clés USB | USB flash drive
      Cartes mémoire | Memory card
  Téléphonie
    Coques | Phone case
    Chargeurs | Charger
    Câbles | Cable
    Batteries externes | Power bank
  Photo & vidéo
    Appareils photo | Camera
    Objectifs | Lens
    Trépieds | Tripod
  Maison connectée
    Ampoules connectées | Smart bulb
    Prises connectées | Smart plug
    Caméras de surveillance | Security camera
    Thermostats | Thermostat
Mode
  Femme
    Robes | Dress
    Chemisiers | Blouse
    Pulls | Jumper
    Jupes | Skirt
    Manteaux | Coat
  Homme
    Chemises | Shirt
    Pantalons | Trousers
    Vestes | Jacket
    Polos | Polo shirt
  Enfant
    Bodys | Bodysuit
    Pyjamas | Pyjamas
    Blousons | Bomber jacket
  Chaussures
    Baskets | Trainers
    Bottes | Boots
    Sandales | Sandals
    Chaussons | Slippers
  Accessoires de mode
    Sacs à main | Handbag
    Ceintures | Belt
    Écharpes | Scarf
    Bijoux
      Colliers | Necklace
      Bracelets | Bracelet
      Boucles d'oreilles | Earrings
Sport & Loisirs
  Vélo
    Casques de vélo | Bike helmet
    Éclairage | Bike light
    Antivols | Bike lock
    Pièces détachées
      Chambres à air | Inner tube
      Freins | Brake
      Chaînes | Chain
  Randonnée
    Sacs à dos | Backpack
    Bâtons de marche | Walking pole
    Gourdes | Water bottle
  Fitness
    Haltères | Dumbbell
    Tapis de yoga | Yoga mat
    Élastiques | Resistance band
  Natation
    Maillots de bain | Swimsuit
    Lunettes de natation | Swimming goggles
    Bonnets de bain | Swim cap
  Camping
    Tentes | Tent
    Sacs de couchage | Sleeping bag
    Réchauds | Camping stove
    Lampes frontales | Head torch
Épicerie fine
  Café & thé
    Cafés en grains | Coffee beans
    Thés verts | Green tea
    Infusions | Herbal tea
  Chocolat & confiserie
    Tablettes de chocolat | Chocolate bar
    Pralinés | Praline
    Bonbons | Sweets
    Calissons | Calisson
  Condiments
    Huiles d'olive | Olive oil
    Vinaigres | Vinegar
    Moutardes | Mustard
    Épices | Spice
  Conserves
    Pâtés | Pâté
    Terrines | Terrine
    Confitures | Jam
  Vins & spiritueux
    Vins rouges | Red wine
    Vins blancs | White wine
    Champagnes | Champagne
    Cognacs | Cognac
Beauté & santé
  Soins du visage
    Crèmes hydratantes | Moisturiser
    Sérums | Serum
    Masques | Face mask
  Parfums
    Eaux de toilette | Eau de toilette
    Eaux de parfum | Eau de parfum
  Cheveux
    Shampooings | Shampoo
    Après-shampooings | Conditioner
    Brosses | Hairbrush
  Bien-être
    Huiles essentielles | Essential oil
    Diffuseurs | Diffuser
    Bougies de massage | Massage candle
Bricolage
  Outillage électrique
    Perceuses | Drill
    Visseuses | Screwdriver
    Ponceuses | Sander
    Scies
      Scies sauteuses | Jigsaw
      Scies circulaires | Circular saw
  Quincaillerie
    Vis | Screw set
    Chevilles | Wall plug
    Charnières | Hinge
  Peinture
    Peintures murales | Wall paint
    Pinceaux | Paintbrush
    Rouleaux | Paint roller
  Électricité
    Ampoules LED | LED bulb
    Interrupteurs | Switch
    Rallonges | Extension lead
  Plomberie
    Robinets | Tap
    Joints | Seal
    Raccords | Fitting
Enfants & jouets
  Jeux de société
    Jeux de stratégie | Strategy game
    Jeux d'ambiance | Party game
    Puzzles | Jigsaw puzzle
  Jouets d'éveil
    Hochets | Rattle
    Tapis d'éveil | Play mat
    Cubes | Building blocks
  Loisirs créatifs
    Pâtes à modeler | Modelling clay
    Feutres | Felt pen
    Perles | Beads
  Peluches
    Ours en peluche | Teddy bear
    Doudous | Comforter
Animalerie
  Chien
    Croquettes pour chien | Dog food
    Laisses | Lead
    Paniers pour chien | Dog bed
  Chat
    Litières | Cat litter
    Arbres à chat | Cat tree
    Jouets pour chat | Cat toy
  Oiseaux
    Graines pour oiseaux | Bird seed
    Cages | Bird cage
  Aquariophilie
    Aquariums | Aquarium
    Filtres | Aquarium filter
Papeterie & bureau
  Écriture
    Stylos plume | Fountain pen
    Crayons | Pencil
    Surligneurs | Highlighter
  Cahiers & carnets
    Cahiers | Exercise book
    Carnets | Notebook
    Agendas | Diary
  Mobilier de bureau
    Fauteuils de bureau | Office chair
    Bureaux | Desk
    Lampes de bureau | Desk lamp
"""


BAD_EAN_EVERY = 211  # product ids with a wrong EAN check digit
LONG_TITLE_EVERY = 173  # product ids with a title over 200 characters
LONG_TITLE_TAIL = (
    "édition spéciale collection permanente, finitions soignées, garantie étendue, livraison offerte et retour "
    "gratuit sous trente jours, idéal pour offrir à toutes les occasions de l'année"
)  # over 200 characters with any title


@dataclass(frozen=True)
class Department:
    """What a top-level category implies for its products."""

    code: str  # SKU prefix
    price: tuple[int, int]  # euros
    tax_rate: Decimal
    option: str  # variant option besides Couleur: Taille, Pointure, Contenance, Dimensions, Finition
    materials: tuple[str, ...]
    extra_attributes: tuple[str, ...]  # attribute names that make sense here besides color/material/size


DEPARTMENTS: dict[str, Department] = {
    "Maison": Department("MAI", (8, 260), Decimal("20"), "Dimensions",
                         ("acier inoxydable", "céramique", "chêne massif", "lin lavé", "verre soufflé", "bambou"),
                         ("origin", "warranty", "style")),
    "Jardin": Department("JAR", (5, 480), Decimal("20"), "Dimensions",
                         ("acier galvanisé", "résine tressée", "teck", "aluminium", "frêne", "polyéthylène"),
                         ("origin", "warranty", "power")),
    "High-Tech": Department("HTC", (9, 900), Decimal("20"), "Finition",
                            ("aluminium brossé", "plastique recyclé", "silicone", "verre trempé", "nylon tressé"),
                            ("warranty", "power", "connectivity")),
    "Mode": Department("MOD", (12, 320), Decimal("20"), "Taille",
                       ("coton bio", "laine mérinos", "lin", "cuir tanné végétal", "soie", "denim brut"),
                       ("origin", "style", "care")),
    "Sport & Loisirs": Department("SPO", (6, 650), Decimal("20"), "Taille",
                                  ("polyester recyclé", "néoprène", "aluminium", "nylon ripstop", "caoutchouc"),
                                  ("origin", "warranty", "care")),
    "Épicerie fine": Department("EPI", (3, 95), Decimal("5.5"), "Contenance",
                                ("bocal en verre", "boîte métal", "sachet kraft", "bouteille verre"),
                                ("origin", "capacity", "label")),
    "Beauté & santé": Department("BEA", (5, 140), Decimal("20"), "Contenance",
                                 ("flacon verre", "tube recyclé", "pot en aluminium", "bois de hêtre"),
                                 ("origin", "capacity", "label")),
    "Bricolage": Department("BRI", (2, 520), Decimal("20"), "Dimensions",
                            ("acier trempé", "laiton", "fibre de verre", "PVC", "zinc"),
                            ("power", "warranty", "origin")),
    "Enfants & jouets": Department("ENF", (6, 120), Decimal("20"), "Finition",
                                   ("bois de hêtre", "coton bio", "carton recyclé", "plastique sans BPA"),
                                   ("age", "origin", "label")),
    "Animalerie": Department("ANI", (4, 210), Decimal("20"), "Dimensions",
                             ("coton", "nylon", "bois", "polaire", "sisal"),
                             ("origin", "care")),
    "Papeterie & bureau": Department("PAP", (2, 450), Decimal("20"), "Finition",
                                     ("papier recyclé", "cuir", "laiton", "hêtre", "métal laqué"),
                                     ("origin", "style")),
}  # fmt: skip

BRANDS = (
    "Lumière & Fils", "Maison Dupré", "Atelier Noël", "Château Verdier", "Krüger", "Le Creuset Doré", "Brümmel",
    "Côté Sud", "Éclat", "Fjällgården", "Òrbita", "Bœuf & Cie", "Les Ateliers Réunis", "Arôme d'Antan", "Zéphyr",
    "Nordlys", "Vélocité", "Crème de la Crème", "Ô Jardin", "Saint-Aubin", "Müller Technik", "Soleá", "Ibérica",
    "Bastide", "Pâtisserie Gaëlle", "Forêt Noire", "Hélios", "Astéria", "Kaffeehaus", "Belle-Île", "Naïa",
    "Cuisinière Française", "Tchoupi & Co", "Rivière", "Gaïa Bio", "Lyonnaise du Bricolage", "Bretagne Outdoor",
    "Montagnard", "Électro Plus", "Æsir", "Ørsted Living", "Piñata", "Sérénité", "Paris Élégance", "Provençal",
    "Volcan d'Auvergne", "Écorce", "Hirondelle", "Pêche Mignon", "Toulousaine", "Ombre & Lumière", "Griffon",
    "Mistral", "Azur", "Doña Flor", "Saveurs d'Antoine", "Cœur de Lin", "Studio Béton", "Günther & Söhne",
    "@Home Déco",
)  # fmt: skip

SUPPLIERS = (
    ("Distribution Rhône-Alpes", "FR"), ("Grossiste Méditerranée", "FR"), ("Comptoir Lyonnais", "FR"),
    ("Négoce de l'Ouest", "FR"), ("Centrale d'Achats Île-de-France", "FR"), ("Bretagne Diffusion", "FR"),
    ("Alsace Fournitures", "FR"), ("Sud-Ouest Logistique", "FR"), ("Normandie Import", "FR"),
    ("Müller Großhandel GmbH", "DE"), ("Bayerische Warenhandel", "DE"), ("Hanse Import KG", "DE"),
    ("Ibérica Suministros S.L.", "ES"), ("Distribuciones Andalucía", "ES"), ("Fornitura Italia S.r.l.", "IT"),
    ("Tessile Comense", "IT"), ("Benelux Trading BV", "NL"), ("Vlaamse Groothandel", "BE"),
    ("Wallonie Distribution", "BE"), ("Nordic Supply AB", "SE"), ("Dansk Engros A/S", "DK"),
    ("Polska Hurt Sp. z o.o.", "PL"), ("Lisboa Comércio Lda", "PT"), ("Helvetia Handel AG", "CH"),
    ("Shenzhen Bright Electronics", "CN"), ("Ningbo Homeware Co.", "CN"), ("Saigon Textile", "VN"),
    ("Istanbul Tekstil A.Ş.", "TR"), ("Atlas Maroc Export", "MA"), ("Tunis Céramique", "TN"),
    ("British Home Supplies Ltd", "GB"), ("Dublin Wholesale", "IE"), ("Österreich Vertrieb", "AT"),
    ("Praha Obchod s.r.o.", "CZ"), ("Budapest Kereskedelmi", "HU"), ("Athènes Trading", "GR"),
    ("Québec Importations", "CA"), ("Pacific Rim Traders", "US"), ("Kyoto Crafts", "JP"),
    ("Mumbai Handlooms", "IN"),
)  # fmt: skip

COLORS = ("rouge", "bleu marine", "vert sauge", "jaune moutarde", "noir", "blanc cassé", "gris anthracite",
          "terracotta", "bordeaux", "beige lin", "rose poudré", "bleu canard", "écru", "kaki")  # fmt: skip
COLORS_EN = ("red", "navy", "sage green", "mustard", "black", "off-white", "charcoal", "terracotta", "burgundy",
             "linen beige", "dusty pink", "teal", "ecru", "khaki")  # fmt: skip
COLLECTIONS = ("Série Étoile", "Collection Éphémère", "Gamme Côté Sud", "Édition Noël", "Modèle Alizé",
               "Ligne Crème brûlée", "Collection Forêt", "Série Atelier", "Gamme Prestige", "Modèle Météore",
               "Collection Bohème", "Série Übergröße", "Gamme Naïade", "Modèle Cévennes")  # fmt: skip
QUOTED_NAMES = ("Grand Chef", "L'Essentiel", "Belle Époque", "Petit Prince", "Haute Couture", "Pro Série")
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SHOE_SIZES = ("36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46")
CAPACITIES = ("50 ml", "100 ml", "250 g", "500 g", "1 kg", "75 cl", "1,5 L")
DIMENSIONS = ("20 × 20 cm", "30 × 40 cm", "40 × 60 cm", "50 × 70 cm", "Ø 24 cm", "Ø 28 cm", "120 × 80 cm")
FINISHES = ("Mat", "Brillant", "Satiné", "Brossé", "Laqué", "Naturel")

INTROS_FR = (
    "Conçu pour un usage quotidien, ce produit allie élégance et durabilité.",
    "Fabriqué en France dans notre atelier de Besançon, il a été pensé pour durer.",
    "Son design épuré s'intègre à tous les intérieurs, du loft parisien à la maison de campagne.",
    "Idéal pour les cœurs gourmands &amp; les amateurs de déco.",
    "Testé et approuvé par nos équipes, il répond aux exigences des plus pointilleux.",
    "Une pièce façonnée à la main, où chaque détail compte.",
    "Léger, robuste et facile d'entretien : le compagnon idéal de vos journées.",
)  # fmt: skip
INTROS_EN = (
    "Designed for everyday use, this piece combines elegance &amp; durability.",
    "A café-style classic with a naïve charm, made to last.",
    "Inspired by crème brûlée afternoons in Provence, it brings warmth to any room.",
    "Über-resistant: lab-tested 10,000 times before it reached your door.",
    "Light, sturdy and easy to care for &mdash; your everyday companion.",
)  # fmt: skip
FEATURES_FR = (
    "Garantie 2 ans, pièces détachées disponibles", "Livré avec sa housse de protection",
    "Résiste à l'eau jusqu'à 30 °C", "Entretien : lavage à 40 °C, séchage à l'air libre",
    "Compatible lave-vaisselle", "Emballage 100 % recyclable", "Certifié Œko-Tex",
    "Assemblage facile, notice illustrée fournie", "Produit à Besançon, Franche-Comté",
    "Matériaux issus de forêts gérées durablement", "Testé dermatologiquement", "Sans BPA ni phtalates",
)  # fmt: skip
FEATURES_EN = (
    "2-year warranty, spare parts available", "Comes with a protective cover", "Dishwasher safe",
    "100% recyclable packaging", "Œko-Tex certified", "Easy assembly, illustrated manual included",
    "Made from sustainably managed forests",
)  # fmt: skip
CLOSINGS_FR = (
    "Livraison offerte dès 49 € d'achat.", "Retours gratuits sous 30 jours &amp; service client à l'écoute.",
    "Un cadeau parfait pour la fête des pères, Noël ou un anniversaire.", "Vendu à l'unité.",
)  # fmt: skip
SHORT_FR = (
    "{noun} en {material}, {color}.", "{noun} : praticité et élégance au quotidien.",
    "Notre best-seller : {noun_lower} en {material}.", "{noun} de conception française, garantie 2 ans.",
    "{noun} « {quoted} », l'incontournable de la saison.",
)  # fmt: skip
SHORT_EN = ("{noun} in {color}, made to last.", "Our best-selling {noun_lower}, café-style.")
TAGS = ("nouveauté", "promo", "éco-responsable", "fabriqué en France", "best-seller", "édition limitée",
        "cadeau", "bio", "made in Europe", "exclusivité web", "fête des mères", "rentrée", "soldes d'été",
        "zéro déchet")  # fmt: skip
FORMULA_TITLES = ("={noun} {collection}", "+2 offerts : {noun}", "-20 % sur {noun_lower}", "@Maison {noun}",
                  "=SOMME(A1:A9) {noun}", "=HYPERLINK(\"https://example.com\";\"{noun}\")")  # fmt: skip
FORMULA_SHORTS = ("=1+1", "-Remise immédiate en caisse", "+33 1 23 45 67 89 : service client",
                  "@marque_officielle sur Instagram", "=cmd|' /C calc'!A0")  # fmt: skip
FORMULA_TAGS = ("-20%", "+promo", "=vente", "@soldes")
ORIGINS = ("France", "Allemagne", "Italie", "Espagne", "Portugal", "Chine", "Viêt Nam", "Turquie", "Maroc")
STYLES = ("contemporain", "rétro", "bohème", "scandinave", "industriel", "champêtre")

STATUS_WEIGHTS = (("active", 75), ("draft", 9), ("inactive", 7), ("archived", 5), ("trash", 4))
_STATUS_TABLE = tuple(status for status, weight in STATUS_WEIGHTS for _ in range(weight))

# --- parsed reference data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CategoryNode:
    id: int
    name: str
    path: str
    parent_id: int | None
    depth: int
    department: str
    noun_fr: str | None  # leaves only
    noun_en: str | None


_INVARIABLE = {"souris", "vis", "tapis", "ours", "lunettes", "bas", "pyjamas", "grille-pain", "porte-savons"}
_STOP_WORDS = {"à", "de", "en", "pour", "du", "des", "&"}


def _singular(plural: str) -> str:
    """French product noun from a plural category name ("Vins rouges" -> "Vin rouge", "Sacs à dos" -> "Sac à dos")."""
    out = []
    stopped = False  # after a preposition the words keep their number ("Sac à dos", "Huile d'olive")
    for word in plural.split(" "):
        lower = word.lower()
        stopped = stopped or lower in _STOP_WORDS or lower.startswith(("d'", "l'"))
        if stopped or word.isupper() or lower in _INVARIABLE:
            out.append(word)
        elif (lower.endswith("x") and lower[:-1].endswith(("au", "eu", "ou"))) or (
            lower.endswith("s") and not lower.endswith("ss")
        ):
            out.append(word[:-1])
        else:
            out.append(word)
    return " ".join(out)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def parse_category_tree(text: str = CATEGORY_TREE) -> list[_CategoryNode]:
    """The category tree as nodes with ids 1..N in reading order."""
    nodes: list[_CategoryNode] = []
    stack: list[_CategoryNode] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        depth = (len(raw) - len(raw.lstrip(" "))) // 2
        name, _, english = (part.strip() for part in raw.partition("|"))
        del stack[depth:]
        parent = stack[-1] if stack else None
        node = _CategoryNode(
            id=len(nodes) + 1, name=name, path=f"{parent.path} > {name}" if parent else name,
            parent_id=parent.id if parent else None, depth=depth,
            department=stack[0].name if stack else name,
            noun_fr=_singular(name) if english else None, noun_en=english or None,
        )  # fmt: skip
        nodes.append(node)
        stack.append(node)
    return nodes


# --- row generation -----------------------------------------------------------------------------------------

PRODUCT_COLUMNS = tuple(f.column_name for f in Product._meta.sorted_fields)
VARIANT_COLUMNS = tuple(f.column_name for f in Variant._meta.sorted_fields)
IMAGE_COLUMNS = tuple(f.column_name for f in Image._meta.sorted_fields)
LINK_COLUMNS = tuple(f.column_name for f in ProductSupplier._meta.sorted_fields)
PRODUCT_CATEGORY_COLUMNS = tuple(f.column_name for f in ProductCategory._meta.sorted_fields)
_JSON_COLUMNS = ("tags", "attributes", "bullet_points")


def _money(cents: int) -> Decimal:
    return Decimal(f"{cents // 100}.{cents % 100:02d}")


def _ean13(prefix: str, number: int) -> str:
    body = f"{prefix}{number:010d}"
    return body + str(gtin_check_digit(body))


@dataclass
class _Counters:
    products: int = 0
    variants: int = 0
    images: int = 0
    supplier_links: int = 0
    extra_categories: int = 0


@dataclass
class _Chunk:
    products: list[tuple[Any, ...]] = field(default_factory=list)
    variants: list[tuple[Any, ...]] = field(default_factory=list)
    images: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    extra_categories: list[tuple[Any, ...]] = field(default_factory=list)


class DemoGenerator:
    """Generates the demo rows for products 1..n from one seeded random stream (no database access)."""

    # Multipliers coprime with 10**10 turn a sequence number into a scattered yet unique 10-digit EAN body.
    _EAN_MULTIPLIER = 7_919_393

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.categories = parse_category_tree()
        self.leaves = [c for c in self.categories if c.noun_fr]
        self.product_ean_offset = self.rng.randrange(10**10)
        self.variant_ean_offset = self.rng.randrange(10**10)
        self.counters = _Counters()
        self._product_columns = itemgetter(*PRODUCT_COLUMNS)

    # one product and its relations ---------------------------------------------------------------------------

    def chunk(self, first_id: int, last_id: int) -> _Chunk:
        """Rows of products first_id..last_id; call with consecutive ranges from 1 (one random stream)."""
        out = _Chunk()
        for product_id in range(first_id, last_id + 1):
            self._product(product_id, out)
        return out

    def _product(self, pid: int, out: _Chunk) -> None:
        rng = self.rng
        r = rng.random
        leaf = rng.choice(self.leaves)
        dept = DEPARTMENTS[leaf.department]
        english = r() < 0.2
        noun = (leaf.noun_en if english else leaf.noun_fr) or leaf.name
        material = rng.choice(dept.materials)
        color_index = rng.randrange(len(COLORS))
        color = (COLORS_EN if english else COLORS)[color_index]
        collection = rng.choice(COLLECTIONS)
        brand: str | None = rng.choice(BRANDS) if r() >= 0.04 else None
        title = self._title(noun, leaf.name, english, material, color, collection)

        ident = r()
        ean = None if ident < 0.08 else _ean13("37", (pid * self._EAN_MULTIPLIER + self.product_ean_offset) % 10**10)
        if ean is not None and pid % BAD_EAN_EVERY == 0:  # a wrong check digit on purpose: the gtin rules fire
            ean = ean[:12] + str((int(ean[12]) + 1) % 10)
        sku = None if 0.08 <= ident < 0.09 else f"{dept.code}-{pid:06d}"

        price_cents: int | None = None
        if r() >= 0.05:
            low, high = dept.price
            price_cents = int(rng.triangular(low, high, low + (high - low) * 0.2) * 100) // 10 * 10 + 9
        compare_cents = sale_cents = None
        if price_cents is not None:
            if r() < 0.15:
                compare_cents = price_cents * rng.choice((115, 120, 125, 130, 150)) // 1000 * 10 + 9
            if r() < 0.1:
                sale_cents = price_cents * rng.choice((70, 80, 85, 90)) // 1000 * 10 + 9

        suppliers = rng.sample(range(1, len(SUPPLIERS) + 1), k=0 if r() < 0.03 else rng.choice((1, 1, 1, 2)))
        base_cost = (price_cents or rng.randrange(300, 20000)) * rng.uniform(0.38, 0.65)
        links = []
        for position, supplier_id in enumerate(suppliers, start=1):
            cost = int(base_cost * rng.uniform(0.95, 1.08))
            links.append((supplier_id, position, f"{supplier_id:02d}-{rng.randrange(10**7):07d}", _money(cost),
                          rng.randrange(0, 800) if r() < 0.7 else None))  # fmt: skip
        cost_price = links[0][3] if links and r() < 0.85 else None

        image_count = 0 if r() < 0.1 else rng.choice((1, 1, 2, 2, 3, 3, 4, 5))
        slug = slugify(f"{noun} {collection}")[:60]
        image_urls = [f"{CDN}/products/{pid:06d}/{slug}-{k}.jpg" for k in range(1, image_count + 1)]

        description = None if r() < 0.05 else self._description(english, noun, material, color, brand)
        short = None
        if r() >= 0.08:
            template = rng.choice(SHORT_EN if english else SHORT_FR)
            short = template.format(noun=noun, noun_lower=_lower_first(noun), material=material, color=color,
                                    quoted=rng.choice(QUOTED_NAMES))  # fmt: skip
        tags = rng.sample(TAGS, k=rng.choice((0, 1, 1, 2, 2, 3, 4))) or None
        formula = r()
        if formula < 0.01:
            title = rng.choice(FORMULA_TITLES).format(noun=noun, noun_lower=_lower_first(noun), collection=collection)
        elif formula < 0.02:
            short = rng.choice(FORMULA_SHORTS)
        elif formula < 0.03:
            tags = [rng.choice(FORMULA_TAGS), *(tags or [])]

        if pid % LONG_TITLE_EVERY == 0:  # a title longer than marketplaces take, on purpose: max_length fires
            title = f"{title} – {LONG_TITLE_TAIL}"
        attributes: dict[str, str] | None = None
        if r() >= 0.1:
            attributes = {"color": color, "material": material}
            if leaf.department == "Mode":  # what Google requires of apparel (gender, age group)
                path = leaf.path
                attributes["gender"] = "femme" if "> Femme" in path else "homme" if "> Homme" in path else "mixte"
                attributes["age_group"] = "enfant" if "> Enfant" in path else "adulte"
            if dept.option in {"Taille", "Dimensions"} or r() < 0.3:
                attributes["size"] = rng.choice(SHOE_SIZES if "Chaussures" in leaf.path else
                                                SIZES if dept.option == "Taille" else DIMENSIONS)  # fmt: skip
            for name in rng.sample(dept.extra_attributes, k=rng.randrange(0, 3)):
                attributes[name] = self._attribute_value(name)
            attributes["url"] = f"{SHOP}/p/{slug}-{pid}"  # the product page (Google Shopping's `link`)
        bullets = None
        if r() < 0.7:
            bullets = rng.sample(FEATURES_EN if english else FEATURES_FR, k=rng.randrange(2, 6))
        seo_title = seo_description = None
        if r() < 0.4:
            seo_title = f"{title.splitlines()[0]} | {brand or 'PM Store'}"[:70]
            seo_description = (short or f"Découvrez {_lower_first(noun)} au meilleur prix.")[:160]

        weight = Decimal(rng.randrange(20, 25000)).scaleb(-3) if r() < 0.85 else None
        dims = r() < 0.6
        created = BASE_DATE + dt.timedelta(seconds=rng.randrange(730 * 86400))
        updated = created + dt.timedelta(seconds=rng.randrange(120 * 86400))

        extra: list[int] = []
        if r() < 0.3:
            extra = [c.id for c in rng.sample(self.leaves, k=rng.choice((1, 1, 1, 2))) if c.id != leaf.id]

        row: dict[str, Any] = {
            "id": pid, "sku": sku, "ean": ean, "upc": None, "gtin": None,
            "mpn": f"{dept.code}{rng.randrange(10**6):06d}-{rng.choice('ABCDEFGHJK')}" if r() < 0.5 else None,
            "asin": "B0" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=8)) if r() < 0.3 else None,
            "title": title, "description": description, "short_description": short, "brand": brand,
            "status": rng.choice(_STATUS_TABLE),
            "price": _money(price_cents) if price_cents is not None else None,
            "compare_at_price": _money(compare_cents) if compare_cents else None,
            "sale_price": _money(sale_cents) if sale_cents else None,
            "cost_price": cost_price, "currency": "EUR",
            "tax_rate": Decimal("20") if leaf.path.startswith("Épicerie fine > Vins") else dept.tax_rate,
            "stock": 0 if r() < 0.1 else rng.randrange(1, 500),
            "weight": weight,
            "width": Decimal(rng.randrange(50, 2000)).scaleb(-1) if dims else None,
            "height": Decimal(rng.randrange(50, 2000)).scaleb(-1) if dims else None,
            "depth": Decimal(rng.randrange(10, 1000)).scaleb(-1) if dims else None,
            "tags": tags, "attributes": attributes, "bullet_points": bullets,
            "seo_title": seo_title, "seo_description": seo_description,
            "category_id": leaf.id if r() >= 0.03 else None,
            "created_at": created, "updated_at": updated,
        }  # fmt: skip
        row["completeness"], row["grade"] = completeness.score(row, image_count=image_count, supplier_count=len(links))
        for name in _JSON_COLUMNS:
            if row[name] is not None:
                row[name] = orjson.dumps(row[name]).decode()
        out.products.append(self._product_columns(row))

        counters = self.counters
        counters.products += 1
        for position, url in enumerate(image_urls, start=1):
            counters.images += 1
            alt = None if r() < 0.2 else title.splitlines()[0]
            out.images.append((counters.images, pid, position, url, alt, position == 1, None, None))
        for supplier_id, position, supplier_sku, link_cost, stock in links:
            counters.supplier_links += 1
            out.links.append((counters.supplier_links, pid, supplier_id, position, supplier_sku, link_cost, stock))
        for category_id in extra:
            counters.extra_categories += 1
            out.extra_categories.append((counters.extra_categories, pid, category_id))
        if r() < 0.2:
            self._variants(pid, sku or f"{dept.code}-{pid:06d}", leaf, dept, price_cents, image_urls, out)

    def _title(self, noun: str, plural: str, english: bool, material: str, color: str, collection: str) -> str:
        rng = self.rng
        shape = rng.random()
        if english:
            if shape < 0.05:
                return f"{noun}, {color}, {collection}"
            if shape < 0.08:
                return f'{noun} "{rng.choice(QUOTED_NAMES)}" – {color}'
            return f"{noun} {collection} – {color}"
        if shape < 0.06:
            return f"Lot de {rng.randrange(2, 7)} {_lower_first(plural)}, coloris assortis"
        if shape < 0.1:
            return f"{noun} en {material}, {color}"
        if shape < 0.13:
            return f'{noun} "{rng.choice(QUOTED_NAMES)}" {rng.choice(DIMENSIONS)}'
        if shape < 0.15:
            return f"Coffret {_lower_first(noun)}\n{collection}"
        if shape < 0.55:
            return f"{noun} {collection} en {material}"
        return f"{noun} en {material} {color} – {collection}"

    def _description(self, english: bool, noun: str, material: str, color: str, brand: str | None) -> str:
        rng = self.rng
        if english:
            features = rng.sample(FEATURES_EN, k=3)
            return (f"<p>{rng.choice(INTROS_EN)}</p><ul>"
                    + "".join(f"<li>{f}</li>" for f in features)
                    + f"</ul><p><strong>{noun}</strong> by {brand or 'our workshop'}, in {color}.</p>")  # fmt: skip
        features = rng.sample(FEATURES_FR, k=rng.randrange(2, 5))
        parts = [
            f"<p>{rng.choice(INTROS_FR)}</p>",
            f"<ul><li><strong>Matière :</strong> {material}</li><li><strong>Coloris :</strong> {color}</li>",
            *(f"<li>{f}</li>" for f in features),
            "</ul>",
            f"<p>{rng.choice(CLOSINGS_FR)}</p>",
        ]
        if brand:
            parts.append(f"<p>Une création <strong>{brand.replace('&', '&amp;')}</strong>.</p>")
        return "".join(parts)

    def _attribute_value(self, name: str) -> str:
        rng = self.rng
        if name == "origin":
            return rng.choice(ORIGINS)
        if name == "warranty":
            return f"{rng.choice((1, 2, 3, 5))} ans"
        if name == "capacity":
            return rng.choice(CAPACITIES)
        if name == "power":
            return f"{rng.choice((5, 10, 18, 40, 60, 800, 1200, 2000))} W"
        if name == "age":
            return f"{rng.choice((0, 3, 6, 8, 12))} ans et +"
        if name == "connectivity":
            return rng.choice(("Bluetooth 5.3", "Wi-Fi", "USB-C", "Zigbee", "filaire"))
        if name == "care":
            return rng.choice(("lavage à 30 °C", "lavage à la main", "nettoyage à sec", "éponge humide"))
        if name == "label":
            return rng.choice(("AB", "Cosmos Organic", "Label Rouge", "Ecocert", "Nature & Progrès"))
        return rng.choice(STYLES)

    def _variants(
        self, pid: int, base_sku: str, leaf: _CategoryNode, dept: Department, price_cents: int | None,
        image_urls: list[str], out: _Chunk,
    ) -> None:  # fmt: skip
        rng = self.rng
        count = rng.randrange(2, 7)
        option = "Pointure" if "Chaussures" in leaf.path else dept.option
        values = {"Taille": SIZES, "Pointure": SHOE_SIZES, "Contenance": CAPACITIES,
                  "Dimensions": DIMENSIONS, "Finition": FINISHES}[option]  # fmt: skip
        with_color = rng.random() < 0.6
        combos = [(c, v) for c in (rng.sample(COLORS, k=3) if with_color else [None]) for v in values]
        for position, (color, value) in enumerate(sorted(rng.sample(combos, k=min(count, len(combos))),
                                                         key=lambda cv: combos.index(cv)), start=1):  # fmt: skip
            counters = self.counters
            counters.variants += 1
            vid = counters.variants
            ean = None
            if rng.random() < 0.9:
                ean = _ean13("36", (vid * self._EAN_MULTIPLIER + self.variant_ean_offset) % 10**10)
            price = None
            if price_cents is not None and rng.random() < 0.3:
                price = _money(price_cents + rng.choice((-500, -200, 200, 500, 1000)) if price_cents > 1000 else
                               price_cents + 100 * position)  # fmt: skip
            names = (("Couleur", color), (option, value)) if color else ((option, value),)
            opts: list[str | None] = [part for pair in names for part in pair]
            opts += [None] * (6 - len(opts))
            out.variants.append((
                vid, pid, position, f"{base_sku}-{position}", ean, *opts, price,
                rng.randrange(0, 120),
                Decimal(rng.randrange(20, 5000)).scaleb(-3) if rng.random() < 0.5 else None,
                rng.choice(image_urls) if image_urls and rng.random() < 0.5 else None,
            ))  # fmt: skip


# --- writing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    products: int
    variants: int
    images: int
    supplier_links: int
    extra_categories: int
    categories: int
    suppliers: int
    brands: int
    seconds: float


class _BulkInserter:
    """Plain DB-API bulk inserts: sqlite3 `executemany`, psycopg2 `execute_values` (one statement a page)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.postgres = isinstance(db, PostgresqlDatabase)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = self.db.cursor()
        if self.postgres and type(cursor).__module__.startswith("psycopg2"):
            from psycopg2.extras import execute_values

            execute_values(cursor, f'INSERT INTO "{table}" ({names}) VALUES %s', rows, page_size=len(rows))
        else:
            marks = ", ".join([self.db.param] * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)

    def reset_sequences(self, tables: Sequence[str]) -> None:
        """After explicit ids, move PostgreSQL's serial sequences past them (SQLite needs nothing)."""
        if not self.postgres:
            return
        for table in tables:
            self.db.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table}"'
            )


def _check_empty(db: Database) -> None:
    try:
        with db.atomic():
            counts = {
                "products": Product.select().count(),
                "categories": Category.select().count(),
                "suppliers": Supplier.select().count(),
            }
    except (OperationalError, ProgrammingError):  # no such table (table_exists() ignores search_path)
        raise ConfigError("the database has no schema yet: run `pm-exports db upgrade` first") from None
    filled = [f"{count} {name}" for name, count in counts.items() if count]
    if filled:
        raise InvalidRequest(
            f"the catalogue is not empty ({', '.join(filled)}): the demo catalogue is seeded into an empty "
            f"database only — point DATABASE_URL or PM_EXPORTS_VAR_DIR at a new one and run `db upgrade`"
        )


def seed_demo(n: int, seed: int = 42, progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Fill an empty catalogue with `n` demo products; `progress` is called with each chunk's product count."""
    if n < 1:
        raise InvalidRequest("the number of products must be at least 1", field="products")
    started = time.perf_counter()
    db = current_database()
    _check_empty(db)
    writer = _BulkInserter(db)
    generator = DemoGenerator(seed)
    with db.atomic():
        writer.insert(
            Category._meta.table_name,
            ("id", "name", "slug", "parent_id", "path", "depth"),
            [(c.id, c.name, slugify(c.name), c.parent_id, c.path, c.depth) for c in generator.categories],
        )
        writer.insert(
            Supplier._meta.table_name,
            ("id", "code", "name", "country"),
            [(i, f"{country}{i:03d}", name, country) for i, (name, country) in enumerate(SUPPLIERS, start=1)],
        )
    for first in range(1, n + 1, CHUNK_SIZE):
        last = min(first + CHUNK_SIZE - 1, n)
        chunk = generator.chunk(first, last)
        with db.atomic():
            writer.insert(Product._meta.table_name, PRODUCT_COLUMNS, chunk.products)
            writer.insert(Variant._meta.table_name, VARIANT_COLUMNS, chunk.variants)
            writer.insert(Image._meta.table_name, IMAGE_COLUMNS, chunk.images)
            writer.insert(ProductSupplier._meta.table_name, LINK_COLUMNS, chunk.links)
            writer.insert(ProductCategory._meta.table_name, PRODUCT_CATEGORY_COLUMNS, chunk.extra_categories)
        if progress is not None:
            progress(last - first + 1)
    with db.atomic():
        writer.reset_sequences([m._meta.table_name for m in (Category, Supplier, Product, Variant, Image,
                                                               ProductSupplier, ProductCategory)])  # fmt: skip
    c = generator.counters
    return DemoSummary(
        products=c.products, variants=c.variants, images=c.images, supplier_links=c.supplier_links,
        extra_categories=c.extra_categories, categories=len(generator.categories), suppliers=len(SUPPLIERS),
        brands=len(BRANDS), seconds=time.perf_counter() - started,
    )  # fmt: skip
