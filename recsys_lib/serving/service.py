"""The recommender behind the web service: two stages, business rules, stage timings.

Introduced in Chapter 12 ("Serving and scaling out"). :class:`ShopService`
answers one request, ``recommend(user_id, k)``, with the two-stage design of
Chapter 8:

1. **retrieval**: the two-tower model's nearest items (an exact or faiss
   index over its item vectors, :class:`recsys_lib.retrieval.TwoTowerRetriever`)
   merged with popular items; a user without history -- or an id the models
   have never seen -- takes the **cold-start path**: popular items only;
2. **ranking**: the feature ranker of Chapters 6 and 8 scores the
   candidates (cold-start ids keep the popularity order: the ranker has no
   embedding for them);
3. **rules**: never an item the user bought, nothing out of stock, at most
   ``max_per_category`` items of one category
   (:func:`recsys_lib.retrieval.apply_business_rules`).

Every stage is timed, so that the service can report where a request's time
goes. A click updates the user's history at once (:meth:`ShopService.record_click`):
the two-tower computes user vectors from histories, so the next request
already follows the click, without retraining.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..checks import check_int
from ..models import FeatureMLPRanker
from ..models.base import inference
from ..retrieval import (
    MergedRetriever,
    PopularityRetriever,
    TwoTowerModel,
    TwoTowerRetriever,
    apply_business_rules,
)

__all__ = ["STAGES", "Catalog", "Served", "ShopService"]

#: the stages of a request, in order (the web app adds serialization).
STAGES: tuple[str, ...] = ("retrieval", "ranking", "rules")


@dataclass
class Catalog:
    """What the shop shows about its products. Introduced in Chapter 12.

    Attributes:
        titles: one title per product.
        prices: float ``(n_items,)``.
        categories: int ``(n_items,)`` category ids.
        category_names: name of each category id.
        images: uint8 ``(n_items, H, W)`` grey-scale pictures (ShopSim's
            Fashion-MNIST images).
        in_stock: bool ``(n_items,)`` (default: everything).
    """

    titles: list[str]
    prices: np.ndarray
    categories: np.ndarray
    category_names: list[str]
    images: np.ndarray
    in_stock: np.ndarray | None = None

    def __post_init__(self) -> None:
        if isinstance(self.titles, str) or not all(
            isinstance(t, str) for t in self.titles
        ):
            raise TypeError("titles must be a list of strings")
        self.titles = list(self.titles)
        n = len(self.titles)
        if n == 0:
            raise ValueError("the catalog is empty")
        self.prices = np.asarray(self.prices, dtype=np.float64)
        self.categories = np.asarray(self.categories)
        self.images = np.asarray(self.images)
        if self.in_stock is None:
            self.in_stock = np.ones(n, dtype=bool)
        self.in_stock = np.asarray(self.in_stock)
        if not np.issubdtype(self.categories.dtype, np.integer):
            raise TypeError(f"categories must be integers, got {self.categories.dtype}")
        if self.images.dtype != np.uint8 or self.images.ndim != 3:
            raise TypeError(
                f"images must be uint8 (n_items, H, W), got {self.images.dtype} "
                f"{self.images.shape}"
            )
        if self.in_stock.dtype != bool:
            raise TypeError(f"in_stock must be bool, got {self.in_stock.dtype}")
        for name in ("prices", "categories", "images", "in_stock"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} rows but there are "
                    f"{n} titles"
                )
        if not np.isfinite(self.prices).all() or (self.prices < 0).any():
            raise ValueError("prices must be finite and >= 0")
        self.category_names = [str(c) for c in self.category_names]
        if self.categories.min() < 0 or self.categories.max() >= len(
            self.category_names
        ):
            raise ValueError(
                f"categories must lie in [0, {len(self.category_names)}) "
                "(one name per category id)"
            )

    @property
    def n_items(self) -> int:
        return len(self.titles)

    @classmethod
    def from_shop(cls, shop) -> Catalog:
        """The catalog of a ShopSim shop (:func:`recsys_lib.data.generate_shop`)."""
        products = shop.products.sort_values("item_id")
        if not np.array_equal(products["item_id"].to_numpy(), np.arange(len(products))):
            raise ValueError("the shop's item ids must be 0..n_items-1")
        names = (
            products.drop_duplicates("category_id")
            .set_index("category_id")["category"]
            .sort_index()
        )
        return cls(
            titles=products["title"].astype(str).tolist(),
            prices=products["price"].to_numpy(),
            categories=products["category_id"].to_numpy().astype(np.int64),
            category_names=[
                str(names.get(c, f"category {c}")) for c in range(names.index.max() + 1)
            ],
            images=np.asarray(shop.images, dtype=np.uint8),
        )


@dataclass
class Served:
    """One answer of :meth:`ShopService.recommend`. Introduced in Chapter 12.

    Attributes:
        user_id: the user asked for.
        items: int64 ``(<= k,)`` recommended ids, best first.
        scores: float32, their ranker scores (popularity scores on the
            cold-start path).
        cold_start: True when the user had no history or an unknown id.
        stage_ms: milliseconds per stage (:data:`STAGES`).
    """

    user_id: int
    items: np.ndarray
    scores: np.ndarray
    cold_start: bool
    stage_ms: dict[str, float] = field(default_factory=dict)


class ShopService:
    """Two-stage recommendations for one user at a time. Introduced in Chapter 12.

    Args:
        two_tower: a trained :class:`recsys_lib.retrieval.TwoTowerModel` with
            its serving histories set.
        ranker: a trained :class:`recsys_lib.models.FeatureMLPRanker` with its
            feature tables stored and no per-request context
            (``context_dim == 0``); ``None`` keeps the retrieval order.
        catalog: a :class:`Catalog` of the same ``n_items``.
        popularity: float ``(n_items,)``, the cold-start order.
        n_candidates: candidates the ranker scores per request.
        max_per_category: rule: at most this many items of one category.
        index: ``"exact"`` or a faiss kind (``"hnsw"``, ``"ivf"``) for the
            two-tower's nearest-neighbour search.
        popularity_share: share of the candidates popularity contributes for
            warm users (the rest comes from the two-tower).

    Raises:
        TypeError, ValueError: for models of the wrong kind or sizes that do
            not match.
    """

    def __init__(
        self,
        two_tower: TwoTowerModel,
        ranker: FeatureMLPRanker | None,
        catalog: Catalog,
        popularity,
        *,
        n_candidates: int = 100,
        max_per_category: int = 3,
        index: str = "exact",
        popularity_share: float = 0.2,
    ) -> None:
        if not isinstance(two_tower, TwoTowerModel):
            raise TypeError(
                f"two_tower must be a TwoTowerModel, got {type(two_tower).__name__}"
            )
        if ranker is not None:
            if not isinstance(ranker, FeatureMLPRanker):
                raise TypeError(
                    f"ranker must be a FeatureMLPRanker or None, got {type(ranker).__name__}"
                )
            if ranker.cfg.context_dim:
                raise ValueError(
                    "the served ranker must not need per-request context "
                    f"(context_dim={ranker.cfg.context_dim})"
                )
            if (ranker.n_users, ranker.n_items) != (
                two_tower.n_users,
                two_tower.n_items,
            ):
                raise ValueError(
                    f"ranker is for {ranker.n_users} users x {ranker.n_items} items, "
                    f"two_tower for {two_tower.n_users} x {two_tower.n_items}"
                )
        if not isinstance(catalog, Catalog):
            raise TypeError(f"catalog must be a Catalog, got {type(catalog).__name__}")
        if catalog.n_items != two_tower.n_items:
            raise ValueError(
                f"catalog has {catalog.n_items} items, the models {two_tower.n_items}"
            )
        pop = np.asarray(popularity, dtype=np.float32)
        if pop.shape != (catalog.n_items,) or not np.isfinite(pop).all():
            raise ValueError(
                f"popularity must be finite with shape ({catalog.n_items},), got "
                f"{pop.shape}"
            )
        self.n_candidates = check_int(
            n_candidates, "n_candidates", low=1, high=catalog.n_items
        )
        self.max_per_category = check_int(max_per_category, "max_per_category", low=1)
        if not 0.0 <= float(popularity_share) < 1.0:
            raise ValueError(
                f"popularity_share must be in [0, 1), got {popularity_share}"
            )
        self.two_tower, self.ranker, self.catalog = two_tower, ranker, catalog
        self.popularity = pop
        self.popularity_share = float(popularity_share)
        self.n_users, self.n_items = two_tower.n_users, two_tower.n_items
        self.index = index
        self._lock = threading.Lock()
        self._has_history = np.array(
            two_tower.has_history, dtype=bool
        )  # mutated on clicks
        self.popular = PopularityRetriever(pop)
        self.retriever = MergedRetriever(
            {
                "two_tower": TwoTowerRetriever(two_tower, index=index),
                "popularity": self.popular,
            },
            quotas={
                "two_tower": 1.0 - float(popularity_share),
                "popularity": float(popularity_share),
            },
            fallback="popularity",
            has_history=self._has_history,
        )

    def __repr__(self) -> str:
        return (
            f"ShopService({self.n_users:,} users, {self.n_items:,} items, "
            f"{self.n_candidates} candidates, index={self.index!r}, "
            f"ranker={'yes' if self.ranker is not None else 'no'})"
        )

    def is_known(self, user_id: int) -> bool:
        """True if the models have an id for this user (else: cold start)."""
        return 0 <= user_id < self.n_users

    def has_history(self, user_id: int) -> bool:
        """True for a known user with at least one item in her history."""
        return self.is_known(user_id) and bool(self._has_history[user_id])

    def recommend(self, user_id: int, k: int, exclude=()) -> Served:
        """Up to ``k`` items for one user, with the time of every stage.

        Args:
            user_id: any id ``>= 0``; ids the models do not know get the
                cold-start path.
            k: list length, ``1 <= k <= n_items``.
            exclude: item ids never to show (e.g. the user's purchases).

        Raises:
            TypeError, ValueError: for a bad id, ``k`` or ``exclude``.
        """
        user = check_int(user_id, "user_id", low=0)
        k = check_int(k, "k", low=1, high=self.n_items)
        excl = np.unique(np.asarray(list(exclude), dtype=np.int64))
        if excl.size and (excl.min() < 0 or excl.max() >= self.n_items):
            raise ValueError(f"exclude holds ids outside [0, {self.n_items})")
        cold = not self.has_history(user)
        n_cand = max(self.n_candidates, k)
        t0 = time.perf_counter()
        if cold:
            cand = self.popular.retrieve(np.array([0]), n_cand, [excl], on_short="pad")
        else:
            cand = self.retriever.retrieve(
                np.array([user]), n_cand, [excl], on_short="pad"
            )
        items, scores = cand.items, cand.scores
        t1 = time.perf_counter()
        if not cold and self.ranker is not None:
            scores = self._rank(user, items)
            order = np.argsort(-scores, axis=1, kind="stable")
            items = np.take_along_axis(items, order, axis=1)
            scores = np.take_along_axis(scores, order, axis=1)
        t2 = time.perf_counter()
        items, scores = apply_business_rules(
            items,
            scores,
            in_stock=self.catalog.in_stock,
            exclude=[excl],
            item_categories=self.catalog.categories,
            max_per_category=self.max_per_category,
            k=k,
            on_short="pad",
        )
        keep = items[0] >= 0
        t3 = time.perf_counter()
        return Served(
            user_id=user,
            items=items[0][keep].astype(np.int64),
            scores=scores[0][keep].astype(np.float32),
            cold_start=cold,
            stage_ms={
                "retrieval": (t1 - t0) * 1e3,
                "ranking": (t2 - t1) * 1e3,
                "rules": (t3 - t2) * 1e3,
            },
        )

    def _rank(self, user: int, items: np.ndarray) -> np.ndarray:
        valid = items[0] >= 0
        out = np.full(items.shape, -np.inf, dtype=np.float32)
        ids = torch.from_numpy(items[0][valid].copy())
        with inference(self.ranker):
            s = self.ranker(torch.full_like(ids, user), ids)
        out[0, valid] = s.numpy()
        return out

    def record_click(self, user_id: int, item_id: int) -> None:
        """Append ``item_id`` to a known user's serving history (newest last).

        The two-tower reads histories at request time, so the next
        recommendation already follows this click. Unknown ids are ignored
        (the models have no row for them; the event store still keeps the
        click for the next training round).
        """
        user = check_int(user_id, "user_id", low=0)
        item = check_int(item_id, "item_id", low=0, high=self.n_items - 1)
        if not self.is_known(user):
            return
        with self._lock:  # one writer at a time; readers see the old or new table
            h = self.two_tower.histories.clone()
            h[user] = torch.cat([h[user, 1:], torch.tensor([item])])  # drop the oldest
            self.two_tower.histories = h
            self._has_history[user] = True

    def history(self, user_id: int) -> np.ndarray:
        """A known user's serving history, oldest first, without padding."""
        user = check_int(user_id, "user_id", low=0, high=self.n_users - 1)
        row = self.two_tower.histories[user].numpy()
        return row[row < self.n_items].astype(np.int64)

    def items_frame(self, items) -> pd.DataFrame:
        """Title, category and price of some items (for tables and pages)."""
        ids = np.asarray(items, dtype=np.int64)
        c = self.catalog
        return pd.DataFrame(
            {
                "item_id": ids,
                "title": [c.titles[i] for i in ids],
                "category": [c.category_names[c.categories[i]] for i in ids],
                "price": c.prices[ids],
            }
        )
