"""A generated, labelled stream of finance headlines with negative-news bursts.

Introduced in Chapter 14. :func:`make_headlines` writes a seeded stream of
headlines by topic and business day, with injected negative-news bursts,
new wordings after a drift date, annotation noise and a price series that
reacts to the news. The phrases (companies, slot fillers, phrasings by topic
and tone) are data, not code: they live in ``headlines.yaml`` next to this
module (installed with the package).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import yaml  # PyYAML (pinned): reads headlines.yaml

__all__ = [
    "COMPANIES",
    "SENTIMENTS",
    "TOPICS",
    "TOPIC_RATES",
    "HeadlineStream",
    "make_headlines",
]

TOPICS = ("earnings", "regulation", "mergers", "products", "management", "macro")
SENTIMENTS = ("negative", "neutral", "positive")


def _load_phrases() -> dict:
    """Companies, slot fillers, phrasings and tails of ``headlines.yaml``."""
    text = resources.files(__package__).joinpath("headlines.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C parser when built
    return yaml.load(text, Loader=loader)  # a safe loader: plain data only


_DATA = _load_phrases()
#: Fictional companies (any likeness to real firms is unintended).
COMPANIES: tuple[str, ...] = tuple(_DATA["companies"])
# Slot fillers; the order of the slots is the order of the draws.
_SLOTS: dict[str, tuple[str, ...]] = {
    slot: tuple(values) for slot, values in _DATA["slots"].items()
}
# (topic, sentiment) -> (phrasings used throughout, phrasings that appear only
# in the later part of the stream: language drifts, and a monitor trained on
# last year's headlines meets new wordings).
_PHRASES: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    (topic, tone): (tuple(p["always"]), tuple(p["later"]))
    for topic, tones in _DATA["phrases"].items()
    for tone, p in tones.items()
}
_TAILS: tuple[str, ...] = tuple(_DATA["tails"])
#: Headlines per business day and topic outside bursts.
TOPIC_RATES = {
    "earnings": 1.2,
    "regulation": 0.6,
    "mergers": 0.5,
    "products": 0.9,
    "management": 0.5,
    "macro": 1.0,
}


@dataclass(frozen=True, eq=False, repr=False)
class HeadlineStream:
    """A generated, labelled stream of finance headlines (see :func:`make_headlines`).

    Attributes:
        headlines: one row per headline -- ``date`` (business day), ``topic``,
            ``company``, ``text``, ``tone`` (the generator's sentiment),
            ``label`` (the annotated sentiment: ``tone`` except for the
            annotation-noise share), ``new_phrasing`` (1 if the wording only
            occurs after ``drift_date``) and ``in_burst`` (1 inside an injected
            burst of its topic). Sorted by date.
        bursts: one row per injected negative-news burst -- ``topic``,
            ``start``, ``end`` (first and last business day), ``days``.
        prices: one row per business day -- ``date``, ``ret`` (log return),
            ``close`` (index level, 100 on day 0).
        split_date: first day of the test period (train before, test from it).
        drift_date: first day on which new phrasings may appear.
        seed: the seed used.
    """

    headlines: pd.DataFrame
    bursts: pd.DataFrame
    prices: pd.DataFrame
    split_date: pd.Timestamp
    drift_date: pd.Timestamp
    seed: int

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.prices["date"])

    @property
    def train(self) -> pd.DataFrame:
        return self.headlines[self.headlines["date"] < self.split_date]

    @property
    def test(self) -> pd.DataFrame:
        return self.headlines[self.headlines["date"] >= self.split_date]

    def __repr__(self) -> str:
        return (
            f"HeadlineStream(days={len(self.prices)}, headlines={len(self.headlines)}, "
            f"bursts={len(self.bursts)}, seed={self.seed})"
        )


def _place_bursts(
    rng: np.random.Generator,
    n_days: int,
    counts: Sequence[tuple[int, int, int]],
    topics: Sequence[str],
    length: tuple[int, int],
    min_gap: int,
) -> list[tuple[str, int, int]]:
    """Place ``n`` bursts inside each day range ``[lo, hi)``; no two bursts of
    the same topic closer than ``min_gap`` days."""
    placed: list[tuple[str, int, int]] = []
    for n, lo, hi in counts:
        for _ in range(n):
            for _attempt in range(1000):
                topic = topics[int(rng.integers(len(topics)))]
                days = int(rng.integers(length[0], length[1] + 1))
                start = int(rng.integers(lo, max(lo + 1, hi - days)))
                ok = all(
                    t != topic or start > e + min_gap or start + days - 1 < s - min_gap
                    for t, s, e in placed
                )
                if ok:
                    placed.append((topic, start, start + days - 1))
                    break
            else:  # pragma: no cover - only with absurd settings
                raise ValueError(
                    "cannot place the bursts; use fewer or a longer stream"
                )
    return sorted(placed, key=lambda b: (b[1], b[0]))


def make_headlines(
    n_days: int = 500,
    *,
    test_fraction: float = 0.4,
    n_bursts: tuple[int, int] = (5, 6),
    burst_days: tuple[int, int] = (4, 8),
    burst_extra: float = 1.5,
    burst_negative: float = 0.75,
    base_mix: tuple[float, float, float] = (0.25, 0.40, 0.35),
    new_phrasing_share: float = 0.4,
    label_noise: float = 0.05,
    price_beta: float = 0.004,
    start: str = "2023-01-02",
    seed: int = 0,
) -> HeadlineStream:
    """Generate a labelled stream of finance headlines with negative-news bursts.

    Introduced in Chapter 14. The story, day by day (business days from
    ``start``):

    1. For each topic in :data:`TOPICS`, the number of headlines is Poisson
       with mean :data:`TOPIC_RATES` (plus ``burst_extra`` inside a burst: a
       news storm adds about the same number of stories to a quiet topic as to
       a busy one).
    2. Each headline's tone is drawn from ``base_mix`` (negative, neutral,
       positive) -- inside a burst of its topic, negative with probability
       ``burst_negative`` and otherwise neutral or positive equally.
    3. The text fills a phrasing of that (topic, tone) with a company, a second
       company, a quarter, a region, a product or an issue, plus an optional
       tail ("- report"). From ``drift_date`` (the first test day) a share
       ``new_phrasing_share`` of headlines use wordings never seen before, when
       the (topic, tone) has some.
    4. The annotated ``label`` equals the tone except for a share
       ``label_noise`` replaced by another class at random (annotators
       disagree; no model can be right on those).
    5. A sector price index moves by ``ret_t = 0.0002 + 0.01 eps_t +
       price_beta (P_t - N_t - m)``, with ``P_t``/``N_t`` the day's positive
       and negative headlines (true tone) and ``m`` their expected difference
       on a day without burst: bad news days tend to be down days.

    Bursts: ``n_bursts = (in train, in test)`` bursts of ``burst_days`` days,
    each on one topic, at least 20 business days from the period edges and 30
    days apart within a topic.

    Returns:
        A :class:`HeadlineStream`.
    """
    if not isinstance(n_days, int) or n_days < 120:
        raise ValueError("n_days must be an int >= 120 (bursts need history)")
    if not 0.1 <= test_fraction <= 0.9:
        raise ValueError("test_fraction must be in [0.1, 0.9]")
    if not np.isclose(sum(base_mix), 1) or min(base_mix) < 0:
        raise ValueError("base_mix must be three probabilities summing to 1")
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days)
    split = int(round(n_days * (1 - test_fraction)))
    edge = 20
    bursts = _place_bursts(
        rng,
        n_days,
        [(n_bursts[0], edge, split - edge), (n_bursts[1], split + edge, n_days - edge)],
        TOPICS,
        burst_days,
        min_gap=30,
    )
    in_burst = np.zeros((n_days, len(TOPICS)), dtype=bool)
    for topic, s, e in bursts:
        in_burst[s : e + 1, TOPICS.index(topic)] = True

    rows = []
    pos_minus_neg = np.zeros(n_days)
    burst_mix = (burst_negative, (1 - burst_negative) / 2, (1 - burst_negative) / 2)
    for d in range(n_days):
        for k, topic in enumerate(TOPICS):
            rate = TOPIC_RATES[topic] + (burst_extra if in_burst[d, k] else 0.0)
            for _ in range(int(rng.poisson(rate))):
                mix = burst_mix if in_burst[d, k] else base_mix
                tone = SENTIMENTS[int(rng.choice(3, p=mix))]
                old, new = _PHRASES[(topic, tone)]
                use_new = d >= split and new and rng.random() < new_phrasing_share
                pool = new if use_new else old
                phrase = pool[int(rng.integers(len(pool)))]
                c1, c2 = rng.choice(len(COMPANIES), size=2, replace=False)
                fill = {s: v[int(rng.integers(len(v)))] for s, v in _SLOTS.items()}
                text = phrase.format(
                    co=COMPANIES[c1],
                    co2=COMPANIES[c2],
                    pct=int(rng.integers(5, 40)),
                    **fill,
                )
                text = (
                    text[0].upper() + text[1:] + _TAILS[int(rng.integers(len(_TAILS)))]
                )
                label = tone
                if rng.random() < label_noise:
                    others = [s for s in SENTIMENTS if s != tone]
                    label = others[int(rng.integers(2))]
                pos_minus_neg[d] += (tone == "positive") - (tone == "negative")
                rows.append(
                    (dates[d], topic, COMPANIES[c1], text, tone, label, int(use_new),
                     int(in_burst[d, k]))
                )  # fmt: skip
    headlines = pd.DataFrame(
        rows,
        columns=[
            "date",
            "topic",
            "company",
            "text",
            "tone",
            "label",
            "new_phrasing",
            "in_burst",
        ],
    )
    usual = sum(TOPIC_RATES.values()) * (
        base_mix[2] - base_mix[0]
    )  # E[P - N] on a quiet day
    ret = (
        0.0002
        + 0.01 * rng.standard_normal(n_days)
        + price_beta * (pos_minus_neg - usual)
    )
    prices = pd.DataFrame(
        {"date": dates, "ret": ret, "close": 100 * np.exp(np.cumsum(ret) - ret[0])}
    )
    burst_table = pd.DataFrame(
        [(t, dates[s], dates[e], e - s + 1) for t, s, e in bursts],
        columns=["topic", "start", "end", "days"],
    )
    return HeadlineStream(
        headlines=headlines,
        bursts=burst_table,
        prices=prices,
        split_date=dates[split],
        drift_date=dates[split],
        seed=seed,
    )
