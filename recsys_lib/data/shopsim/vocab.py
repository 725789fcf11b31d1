"""ShopSim's vocabulary: event types, shopper groups, and the words of the catalogue.

Introduced in Chapter 2. Plain data: per-category facts (nouns, base price,
season, demographic leanings), material words by quality tier, colour words
from dark to light, two word lists per style direction, title and description
templates, brand syllables, and the shares and weights of shopper segments,
regions, weekdays and hours. :mod:`.catalogue` writes the product texts from
these words, so that the words carry the hidden attributes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "BRAND_HEADS",
    "BRAND_TAILS",
    "CLASS_INFO",
    "COLOURS",
    "EVENT_TYPES",
    "FILLERS",
    "GENDERS",
    "GENDER_SHARE",
    "HOUR_WEIGHTS",
    "MATERIALS",
    "MAX_BRANDS",
    "OPENERS",
    "PROMO_DISCOUNTS",
    "PROMO_DISCOUNT_P",
    "QUALITY_SENTENCES",
    "REGIONS",
    "REGION_PRICE_PREF",
    "REGION_SHARE",
    "SEASON_SENTENCES",
    "SEGMENTS",
    "SEGMENT_PRICE_PREF",
    "SEGMENT_SENSITIVITY",
    "SEGMENT_SHARE",
    "SEGMENT_STYLE",
    "STYLE_AXES",
    "STYLE_SENTENCES",
    "TITLE_TEMPLATES",
    "WEEKDAY_WEIGHTS",
    "ClassInfo",
    "class_info",
]

EVENT_TYPES = ("impression", "click", "add_to_cart", "purchase")
SEGMENTS = ("bargain hunter", "trend seeker", "classic", "premium")
REGIONS = ("North", "South", "East", "West", "Capital")
GENDERS = ("F", "M", "X")


class ClassInfo(NamedTuple):
    nouns: tuple[str, ...]
    base_price: float  # typical regular price in EUR
    group: str  # which material list applies
    season_amp: float  # 0 = all year, 1 = strongly seasonal
    season_peak: int  # day of the year with peak demand
    female: float  # category-taste shift for gender "F"
    male: float  # ... and for gender "M"
    age_slope: float  # shift per 15 years above 40


CLASS_INFO = {
    "T-shirt/top": ClassInfo(("t-shirt", "tee", "top", "crew-neck tee"), 18, "clothing", 0.6, 196, 0.1, 0.1, -0.3),
    "Trouser": ClassInfo(("trousers", "chinos", "pants", "slacks"), 45, "clothing", 0.0, 0, -0.2, 0.3, 0.2),
    "Pullover": ClassInfo(("pullover", "jumper", "sweater", "knit"), 40, "clothing", 0.7, 15, 0.0, 0.0, 0.1),
    "Dress": ClassInfo(("dress", "midi dress", "shift dress", "wrap dress"), 55, "clothing", 0.5, 196, 1.0, -2.0, 0.0),
    "Coat": ClassInfo(("coat", "jacket", "parka", "overcoat"), 110, "clothing", 1.0, 15, 0.0, 0.0, 0.3),
    "Sandal": ClassInfo(("sandals", "sliders", "flip-flops", "strappy sandals"), 35, "footwear", 1.0, 196, 0.4, -0.3, 0.0),
    "Shirt": ClassInfo(("shirt", "blouse", "button-down", "oxford shirt"), 35, "clothing", 0.0, 0, -0.2, 0.4, 0.3),
    "Sneaker": ClassInfo(("sneakers", "trainers", "runners", "low-tops"), 70, "footwear", 0.1, 120, -0.2, 0.5, -0.4),
    "Bag": ClassInfo(("bag", "tote", "backpack", "crossbody bag"), 60, "bags", 0.0, 0, 0.8, -0.8, 0.1),
    "Ankle boot": ClassInfo(("ankle boots", "chelsea boots", "booties", "lace-up boots"), 90, "footwear", 0.8, 15, 0.4, -0.3, 0.1),
}  # fmt: skip

# Materials by quality tier (low, mid, high).
MATERIALS = {
    "clothing": (
        ("polyester", "acrylic", "poly-blend jersey"),
        ("cotton", "viscose", "cotton blend"),
        ("organic cotton", "merino wool", "linen", "silk blend", "cashmere"),
    ),
    "footwear": (
        ("synthetic", "faux leather", "rubber"),
        ("canvas", "suede", "leather"),
        ("full-grain leather", "nubuck", "calf leather"),
    ),
    "bags": (
        ("polyester", "faux leather", "PVC"),
        ("canvas", "nylon", "leather"),
        ("full-grain leather", "waxed canvas", "calf leather"),
    ),
}
QUALITY_SENTENCES = (
    (
        "Great value for everyday wear.",
        "An affordable basic.",
        "A budget-friendly pick.",
    ),
    (
        "A dependable wardrobe staple.",
        "Well made for daily use.",
        "Good quality at a fair price.",
    ),
    (
        "Crafted with meticulous attention to detail.",
        "A premium piece built to last.",
        "Luxurious finish and superb construction.",
    ),
)
# Dark to light: the colour word follows how light the garment's pixels are.
COLOURS = (
    "black", "charcoal", "navy", "burgundy", "forest green", "grey",
    "khaki", "denim blue", "sage", "sand", "cream", "white",
)  # fmt: skip
# One pair of word lists per style direction: (negative pole, positive pole).
STYLE_AXES = (
    (("minimal", "clean", "understated", "simple"), ("bold", "statement", "graphic", "eye-catching")),
    (("slim", "fitted", "tailored", "sleek"), ("relaxed", "oversized", "roomy", "loose")),
    (("classic", "timeless", "traditional", "heritage"), ("modern", "trendy", "contemporary", "fashion-forward")),
    (("soft", "cosy", "gentle", "comfortable"), ("structured", "sharp", "crisp", "polished")),
    (("sporty", "athletic", "active", "casual"), ("elegant", "refined", "dressy", "smart")),
    (("playful", "fun", "quirky", "vibrant"), ("sober", "muted", "discreet", "serious")),
)  # fmt: skip
TITLE_TEMPLATES = (
    "{brand} {style1} {noun}",
    "{style1} {colour} {noun} by {brand}",
    "{brand} {colour} {material} {noun}",
    "The {style1} {noun} - {brand}",
    "{colour} {style1} {noun} | {brand}",
    "{brand} {style2} {material} {noun}",
    "{style1} {material} {noun} ({colour}) - {brand}",
    "{brand} essentials: {style1} {noun} in {colour}",
)
OPENERS = (
    "{item_a} in {colour} {material}.",
    "{this} {style1}, {style2} {noun} {is_} available in {colour}.",
    "{brand} presents {item_a} made from {material}, finished in {colour}.",
    "Made from {material}, {this_l} {noun} {has} {a_style1} look.",
    "Meet our {style1} {noun}: {material}, {colour} and ready to wear.",
    "Our {colour} {noun} in {material} {brings} {a_style1} touch to any outfit.",
)
STYLE_SENTENCES = (
    "Designed for {a_style2} look.",
    "Expect {a_style2} character and easy pairing.",
    "The {style2} cut stands out.",
    "Think {style2}, {style1} and effortless.",
)
SEASON_SENTENCES = {
    "winter": ("Made for cold days.", "Keeps you warm all winter."),
    "summer": ("Light and breezy for warm weather.", "Made for sunny days."),
}
FILLERS = (
    "",
    "",
    "Machine washable.",
    "Free returns within 30 days.",
    "Responsibly sourced.",
    "Limited stock.",
    "Imported.",
)
BRAND_HEADS = ("Nor", "Al", "Ves", "Kal", "Lu", "Mar", "Tor", "Bel", "Sol", "Ev",
                "Ar", "Din", "Ro", "Fen", "Is", "Ka", "Ze", "Ori", "Va", "Hal")  # fmt: skip
BRAND_TAILS = ("vik", "ba", "ta", "ora", "mo", "line", "ero", "dale", "ia", "sen",
                "ford", "ani", "ette", "ux", "wen")  # fmt: skip
MAX_BRANDS = len(BRAND_HEADS) * len(BRAND_TAILS)

# Segment effects: (share, preferred price level, price sensitivity, style mean on the first axes)
SEGMENT_SHARE = np.array([0.3, 0.25, 0.3, 0.15])
SEGMENT_PRICE_PREF = np.array([-0.8, 0.1, 0.0, 0.9])
SEGMENT_SENSITIVITY = np.array([1.0, 0.5, 0.6, 0.25])
SEGMENT_STYLE = np.array(
    [  # bold, relaxed, modern, structured, elegant, sober
        [0.0, 0.3, 0.0, -0.3, -0.5, 0.0],
        [0.8, 0.3, 1.0, 0.0, 0.0, -0.5],
        [-0.5, -0.3, -1.0, 0.3, 0.3, 0.5],
        [-0.3, -0.5, 0.0, 0.6, 0.9, 0.4],
    ]
)
REGION_SHARE = np.array([0.2, 0.2, 0.2, 0.15, 0.25])
REGION_PRICE_PREF = np.array([-0.1, -0.3, 0.0, 0.1, 0.4])
GENDER_SHARE = np.array([0.55, 0.41, 0.04])
WEEKDAY_WEIGHTS = np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.25, 1.3])  # Monday .. Sunday
HOUR_WEIGHTS = np.array([0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.0,
                          1.1, 1.0, 0.9, 0.9, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 0.9, 0.5])  # fmt: skip
PROMO_DISCOUNTS = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
PROMO_DISCOUNT_P = np.array([0.3, 0.3, 0.2, 0.12, 0.08])


def class_info(name: str) -> ClassInfo:
    """Vocabulary for a class; unknown class names get neutral defaults."""
    if name in CLASS_INFO:
        return CLASS_INFO[name]
    return ClassInfo((name.lower(),), 40, "clothing", 0.0, 0, 0.0, 0.0, 0.0)
