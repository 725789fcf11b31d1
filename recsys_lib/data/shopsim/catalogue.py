"""Stage 1 of ShopSim: the catalogue -- pictures, style, brands, prices, texts.

Introduced in Chapter 2 (see :mod:`recsys_lib.data.shopsim`, "1. Catalogue").
Each product gets a real Fashion-MNIST picture; its hidden *style* is read
from the picture's pixels (PCA within its class), and its title and
description are written from templates with words that carry the hidden
attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...config import CATEGORY_COL, ITEM_COL, PRICE_COL
from .. import fashion_mnist
from ..fashion_mnist import FASHION_MNIST_CLASSES
from .numeric import article, inverse_cdf_rows, standardise, top_eigenvectors
from .vocab import (
    BRAND_HEADS,
    BRAND_TAILS,
    COLOURS,
    FILLERS,
    MATERIALS,
    OPENERS,
    QUALITY_SENTENCES,
    SEASON_SENTENCES,
    STYLE_AXES,
    STYLE_SENTENCES,
    TITLE_TEMPLATES,
    class_info,
)

__all__ = ["Catalogue", "make_catalogue", "resolve_images"]


def resolve_images(images, labels, class_names):
    if images is None and labels is None:
        data = fashion_mnist.load_fashion_mnist()  # Chapter 2's pictures
        images, labels = data.images, data.labels
        if class_names is None:
            class_names = data.class_names
    elif images is None or labels is None:
        raise ValueError(
            "pass both images and labels, or neither (to load Fashion-MNIST)"
        )

    images = np.asarray(images)
    if images.ndim != 3 or min(images.shape) < 1:
        raise ValueError(
            f"images must have shape (n_images, height, width), got {images.shape}"
        )
    if images.dtype != np.uint8:
        raise TypeError(
            f"images must be uint8 pixels (0..255), got dtype {images.dtype}"
        )
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels must have shape ({images.shape[0]},) to match images, got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    class_names = tuple(FASHION_MNIST_CLASSES if class_names is None else class_names)
    if not class_names or not all(isinstance(c, str) and c for c in class_names):
        raise ValueError("class_names must be a non-empty list of non-empty strings")
    if len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must be unique, got {class_names}")
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(
            f"labels must lie in [0, {len(class_names)}) to index class_names, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    return images, labels.astype(np.int64), class_names


@dataclass
class Catalogue:
    products: pd.DataFrame
    images: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    quality: np.ndarray
    style: np.ndarray
    popularity: np.ndarray  # standardised log popularity
    pop_weight: np.ndarray  # Zipf weight used by the logging policy
    price_level: np.ndarray
    list_price: np.ndarray
    launch_day: np.ndarray
    brand_tier: np.ndarray
    style_mean: np.ndarray
    style_components: np.ndarray
    style_scale: np.ndarray


def make_catalogue(cfg, rng, text_rng, images, labels, class_names) -> Catalogue:
    n, n_classes, d = cfg.n_products, len(class_names), cfg.style_dim
    height, width = images.shape[1:]
    if d > height * width:
        raise ValueError(
            f"style_dim={d} exceeds the number of pixels per image ({height * width})"
        )
    infos = [class_info(name) for name in class_names]

    # categories and pictures
    present = np.unique(labels)
    category = rng.choice(present, size=n, p=rng.dirichlet(np.full(present.size, 20.0)))
    source = np.empty(n, dtype=np.int64)
    for c in present:  # a loop over classes, not products
        rows = np.flatnonzero(category == c)
        if rows.size:
            pool = np.flatnonzero(labels == c)
            source[rows] = rng.choice(
                pool, size=rows.size, replace=rows.size > pool.size
            )
    shop_images = np.ascontiguousarray(images[source])

    # style = standardised projection of the within-class pixel deviations (PCA)
    pixels = shop_images.reshape(n, -1).astype(np.float64) / 255.0
    class_mean = np.zeros((n_classes, pixels.shape[1]))
    for c in np.unique(category):
        class_mean[c] = pixels[category == c].mean(axis=0)
    resid = pixels - class_mean[category]
    if n < resid.shape[1]:  # fewer products than pixels: use the smaller Gram matrix
        components = resid.T @ top_eigenvectors(resid @ resid.T, d, rng)
        components /= np.maximum(np.linalg.norm(components, axis=0), 1e-12)
    else:
        components = top_eigenvectors(resid.T @ resid, d, rng)
    flip = np.sign(components[np.abs(components).argmax(axis=0), np.arange(d)])
    components *= np.where(
        flip == 0, 1.0, flip
    )  # fix the arbitrary sign of each direction
    raw_style = resid @ components
    scale = raw_style.std(axis=0)
    scale[scale == 0] = 1.0
    style = raw_style / scale

    # lightness of the garment -> colour word (with noise)
    ink = pixels > 0.12
    lightness = (pixels * ink).sum(1) / np.maximum(ink.sum(1), 1)
    quantile = (
        np.argsort(np.argsort(lightness, kind="stable"), kind="stable") + 0.5
    ) / n
    quantile = np.clip(
        quantile + cfg.text_noise * 0.5 * rng.standard_normal(n), 0, 0.999
    )
    colour = np.asarray(COLOURS)[(quantile * len(COLOURS)).astype(int)]

    # brands: popularity (Zipf) x specialisation in categories
    b = cfg.n_brands
    all_names = [h + t for h in BRAND_HEADS for t in BRAND_TAILS]
    brand_names = np.asarray(all_names)[
        rng.choice(len(all_names), size=b, replace=False)
    ]
    brand_tier = rng.standard_normal(b)
    brand_pop = (1.0 / np.arange(1, b + 1) ** 0.8)[rng.permutation(b)]
    mix = (
        rng.dirichlet(np.full(n_classes, 0.7), size=b) * brand_pop[:, None]
    )  # (b, classes)
    brand = inverse_cdf_rows((mix / mix.sum(axis=0))[:, category].T, rng)

    # quality, price, launch, popularity
    quality = standardise(0.6 * brand_tier[brand] + 0.8 * rng.standard_normal(n))
    base = np.array([info.base_price for info in infos], dtype=float) * cfg.price_scale
    log_price = (
        np.log(base[category])
        + cfg.price_quality_coef * quality
        + 0.15 * brand_tier[brand]
        + cfg.price_noise * rng.standard_normal(n)
    )
    list_price = np.maximum(np.round(np.exp(log_price)) - 0.01, 0.99)
    price_level = standardise(np.log(list_price) - np.log(base[category]))
    is_new = rng.random(n) < cfg.new_product_fraction
    launch_day = np.where(
        is_new, rng.integers(1, cfg.n_days, n), -rng.integers(0, 730, n)
    )
    score = (
        0.8 * standardise(np.log(brand_pop[brand]))
        + 0.5 * quality
        + rng.standard_normal(n)
    )
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, n + 1)
    pop_weight = rank.astype(float) ** -cfg.popularity_skew
    popularity = standardise(np.log(pop_weight))

    # words that carry the hidden attributes
    tier = np.digitize(
        quality + cfg.text_noise * 2.0 * rng.standard_normal(n), [-0.5, 0.6]
    )
    titles, descriptions, materials = _write_texts(
        cfg, text_rng, infos, category, brand_names[brand], colour, tier, style
    )

    products = pd.DataFrame(
        {
            ITEM_COL: np.arange(n, dtype=np.int64),
            "title": titles,
            "description": descriptions,
            CATEGORY_COL: np.asarray(class_names, dtype=object)[category],
            "category_id": category.astype(np.int64),
            "brand": brand_names[brand],
            "brand_id": brand.astype(np.int64),
            "colour": colour,
            "material": materials,
            PRICE_COL: list_price,
            "launch_day": launch_day.astype(np.int64),
            "image_index": np.arange(n, dtype=np.int64),
            "source_image_index": source,
        }
    )
    return Catalogue(
        products=products,
        images=shop_images,
        category=category.astype(np.int64),
        brand=brand.astype(np.int64),
        quality=quality,
        style=style,
        popularity=popularity,
        pop_weight=pop_weight,
        price_level=price_level,
        list_price=list_price,
        launch_day=launch_day.astype(np.int64),
        brand_tier=brand_tier,
        style_mean=class_mean,
        style_components=components,
        style_scale=scale,
    )


def _write_texts(cfg, rng, infos, category, brand, colour, tier, style):
    """Titles and descriptions from templates; one short Python pass over products."""
    n, d = style.shape
    n_axes = min(d, len(STYLE_AXES))
    # the two most pronounced style directions are the ones the copywriter mentions
    order = np.argsort(-np.abs(style[:, :n_axes]), axis=1, kind="stable")
    ax1 = order[:, 0]
    ax2 = order[:, 1] if n_axes > 1 else order[:, 0]
    rows = np.arange(n)
    pole1 = (style[rows, ax1] > 0) ^ (rng.random(n) < cfg.text_noise)
    pole2 = (style[rows, ax2] > 0) ^ (rng.random(n) < cfg.text_noise)
    # with probability text_noise a style word comes from a random direction instead
    rand_ax = rng.random(n) < cfg.text_noise
    ax1 = np.where(rand_ax, rng.integers(0, len(STYLE_AXES), n), ax1)
    w1, w2 = rng.integers(0, 4, n), rng.integers(0, 4, n)
    w2 = np.where((ax1 == ax2) & (pole1 == pole2) & (w1 == w2), (w2 + 1) % 4, w2)

    k = cfg.text_template_variety
    t_title = rng.integers(0, k, n)
    t_open = rng.integers(0, min(k, len(OPENERS)), n)
    t_style = rng.integers(0, min(k, len(STYLE_SENTENCES)), n)
    t_quality = rng.integers(0, 3, n)
    t_filler = rng.integers(0, len(FILLERS), n)
    t_season = rng.integers(0, 2, n)
    noun_pick = rng.integers(0, 1 << 30, n)
    mat_pick = rng.integers(0, 1 << 30, n)

    titles, descriptions, materials = [], [], []
    for j in range(n):
        info = infos[category[j]]
        noun = info.nouns[noun_pick[j] % len(info.nouns)]
        mats = MATERIALS[info.group][tier[j]]
        material = mats[mat_pick[j] % len(mats)]
        style1 = STYLE_AXES[ax1[j]][int(pole1[j])][w1[j]]
        style2 = STYLE_AXES[ax2[j]][int(pole2[j])][w2[j]]
        plural = noun.endswith("s") and not noun.endswith("ss")
        words = {
            "brand": brand[j],
            "noun": noun,
            "colour": colour[j],
            "material": material,
            "style1": style1,
            "style2": style2,
            "item_a": f"{style1} {noun}"
            if plural
            else f"{article(style1)} {style1} {noun}",
            "a_style1": f"{article(style1)} {style1}",
            "a_style2": f"{article(style2)} {style2}",
            "this": "These" if plural else "This",
            "this_l": "these" if plural else "this",
            "is_": "are" if plural else "is",
            "has": "have" if plural else "has",
            "brings": "bring" if plural else "brings",
        }
        title = TITLE_TEMPLATES[t_title[j]].format(**words)
        sentences = [
            OPENERS[t_open[j]].format(**words),
            STYLE_SENTENCES[t_style[j]].format(**words),
            QUALITY_SENTENCES[tier[j]][t_quality[j]],
        ]
        if info.season_amp >= 0.5:
            kind = "winter" if abs(info.season_peak - 15) < 60 else "summer"
            sentences.append(SEASON_SENTENCES[kind][t_season[j]])
        sentences.append(FILLERS[t_filler[j]])
        titles.append(title[:1].upper() + title[1:])
        descriptions.append(" ".join(s[:1].upper() + s[1:] for s in sentences if s))
        materials.append(material)
    return titles, descriptions, materials
