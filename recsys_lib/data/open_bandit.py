"""The Open Bandit Dataset sample: real logs of two serving policies, with propensities.

Introduced in Chapter 10. ZOZO's fashion shop ZOZOTOWN showed three items per
visit, chosen either uniformly at random or by Bernoulli Thompson sampling,
and logged every impression with its click and the probability with which
the serving policy showed that item at that position (Saito et al., 2021,
"Open Bandit Dataset and Pipeline", NeurIPS Datasets and Benchmarks). The
full data set has about 26 million rows; the Open Bandit Pipeline (``obp``,
Apache-2.0) ships a sample of 10,000 impressions per policy and campaign in
its source distribution on PyPI.

:func:`load_open_bandit` reads that sample. Sources, through the chain of
:mod:`recsys_lib.data.sources`: the cache (``data_dir()/open-bandit/``, every
file sha256-checked), then the ``obp-0.5.7.tar.gz`` source archive from its
PyPI files URL (sha256-pinned), of which only the needed CSV files and the
Thompson-sampling prior are extracted. ``obp`` itself is never installed (its
last release requires Python < 3.11).
"""

from __future__ import annotations

import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..checks import check_choice
from ..config import data_dir
from . import sources
from .sources import DatasetError, fetch_hint

__all__ = [
    "OBP_SDIST_SHA256",
    "OBP_SDIST_URL",
    "OPEN_BANDIT",
    "OPEN_BANDIT_CAMPAIGNS",
    "OPEN_BANDIT_FILES",
    "OPEN_BANDIT_POLICIES",
    "OPEN_BANDIT_SOURCES",
    "OpenBanditSample",
    "load_open_bandit",
]

OPEN_BANDIT = "open-bandit"
OBP_SDIST_URL = (
    "https://files.pythonhosted.org/packages/5c/c8/"
    "3b511884a171091638d00a4255f11a635f33e0600094c255ec820f7a052f/obp-0.5.7.tar.gz"
)
OBP_SDIST_SHA256 = "3060d67fedfcfadf1e7a6f2608987f74412b5eb74d2c567edeb147595c68f2a0"
OPEN_BANDIT_CAMPAIGNS = ("all", "men", "women")
OPEN_BANDIT_POLICIES = ("random", "bts")
OPEN_BANDIT_SOURCES = ("auto", "cache", "pypi")

_ROOT = "obp-0.5.7/obp/"
#: cached file name -> (member of the obp 0.5.7 archive, sha256 of the file).
OPEN_BANDIT_FILES: dict[str, tuple[str, str]] = {
    "random_all.csv": (
        _ROOT + "dataset/obd/random/all/all.csv",
        "7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1",
    ),
    "bts_all.csv": (
        _ROOT + "dataset/obd/bts/all/all.csv",
        "0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106",
    ),
    "random_men.csv": (
        _ROOT + "dataset/obd/random/men/men.csv",
        "ede6d08c6877f99cd3770f7d09e26c738e6aa6de4445ccccfb1356ba5d06b1eb",
    ),
    "bts_men.csv": (
        _ROOT + "dataset/obd/bts/men/men.csv",
        "db6d1f7ed2d591ba521533e45286d4c1fba7fe57a8ad2e80342210335f43c527",
    ),
    "random_women.csv": (
        _ROOT + "dataset/obd/random/women/women.csv",
        "e65f3bd3beb17664fa69cc129bf7bf852a775f8ffa630506e505fc905315bb34",
    ),
    "bts_women.csv": (
        _ROOT + "dataset/obd/bts/women/women.csv",
        "e5d1b49a39b608585a2f3014a3f54970430cd37a495c1b73fceb85cdf428a5b8",
    ),
    "item_context_all.csv": (
        _ROOT + "dataset/obd/random/all/item_context.csv",
        "eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358",
    ),
    "item_context_men.csv": (
        _ROOT + "dataset/obd/random/men/item_context.csv",
        "6d855c2b7e917d0448d71bbe62c023147495882c0fdc8c41e86fef86abf9fe09",
    ),
    "item_context_women.csv": (
        _ROOT + "dataset/obd/random/women/item_context.csv",
        "b1ca4905f97703d196004f2ad4552c1e90c2afad8b50688d333b0d2dc0b33147",
    ),
    "prior_bts.yaml": (
        _ROOT + "policy/conf/prior_bts.yaml",
        "81a54fbdc184021ccc62ab97de81ec35461c032e3d7f99ccaa0a9745f732d251",
    ),
}
_LOG_COLUMNS = ("timestamp", "item_id", "position", "click", "propensity_score")


@dataclass(frozen=True, eq=False, repr=False)
class OpenBanditSample:
    """One campaign of the Open Bandit Dataset sample. Introduced in Chapter 10.

    Attributes:
        random: the impressions served by the uniform-random policy, one row
            each: ``timestamp`` (UTC), ``item_id`` (0-based), ``position``
            (0 = left, 1 = centre, 2 = right; the files count from 1),
            ``click`` (0/1), ``propensity_score`` (probability that the policy
            showed this item at this position), then anonymised
            ``user_feature_*`` and ``user-item_affinity_*`` columns.
        bts: the same for the Bernoulli Thompson-sampling policy.
        item_context: one row per item, anonymised item features.
        bts_prior: ``item_id``, ``alpha``, ``beta``: the Beta parameters of
            the Thompson-sampling policy when the data were collected (the
            ``prior_bts.yaml`` of obp), from which its probabilities can be
            recomputed.
        campaign: ``"all"``, ``"men"`` or ``"women"``.
        source: where the files came from (``"cache"`` or ``"pypi"``).
    """

    random: pd.DataFrame
    bts: pd.DataFrame
    item_context: pd.DataFrame
    bts_prior: pd.DataFrame
    campaign: str
    source: str

    @property
    def n_items(self) -> int:
        return len(self.bts_prior)

    @property
    def n_positions(self) -> int:
        return int(max(self.random["position"].max(), self.bts["position"].max())) + 1

    def __repr__(self) -> str:
        return (
            f"OpenBanditSample(campaign={self.campaign!r}, random={len(self.random)}, "
            f"bts={len(self.bts)}, items={self.n_items}, source={self.source!r})"
        )


def _files(campaign: str) -> list[str]:
    return [
        f"random_{campaign}.csv",
        f"bts_{campaign}.csv",
        f"item_context_{campaign}.csv",
        "prior_bts.yaml",
    ]


def _from_pypi(folder: Path, names: list[str]) -> str:
    """Download the obp archive to a temporary folder; install the needed members."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "obp-0.5.7.tar.gz"
        sources.download(OBP_SDIST_URL, archive, OBP_SDIST_SHA256)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for name in names:
                    member, sha = OPEN_BANDIT_FILES[name]
                    f = tar.extractfile(member)
                    if f is None:
                        raise KeyError(member)
                    sources.install_file(f.read(), folder / name, sha)
        except (KeyError, tarfile.TarError) as exc:
            raise sources.SourceUnavailable(
                f"the obp archive lacks or cannot give {exc}"
            ) from exc
    return "pypi"


def _ensure_files(campaign: str, source: str) -> tuple[Path, str]:
    folder = data_dir() / OPEN_BANDIT
    names = _files(campaign)
    missing = [
        n for n in names if not sources.cached(folder / n, OPEN_BANDIT_FILES[n][1])
    ]
    if not missing:
        return folder, "cache"
    if source == "cache":
        raise DatasetError(
            f"{OPEN_BANDIT} ({campaign}) is not in the cache ({folder}); missing "
            f"{missing}. {fetch_hint(OPEN_BANDIT)}"
        )
    got, _ = sources.run_chain(
        OPEN_BANDIT, [("pypi", lambda: _from_pypi(folder, missing))]
    )
    return folder, got


def _read_log(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, index_col=0)
    absent = [c for c in _LOG_COLUMNS if c not in df.columns]
    if absent:
        raise DatasetError(f"{path.name} lacks the column(s) {absent}")
    df = df.reset_index(drop=True)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df["position"] = df["position"].astype(np.int64) - 1
    df["item_id"] = df["item_id"].astype(np.int64)
    df["click"] = df["click"].astype(np.int64)
    return df


def _read_prior(path: Path, campaign: str) -> pd.DataFrame:
    import yaml

    prior = yaml.safe_load(path.read_text(encoding="utf-8"))[campaign]
    alpha = np.asarray(prior["alpha"], dtype=np.float64)
    beta = np.asarray(prior["beta"], dtype=np.float64)
    return pd.DataFrame(
        {"item_id": np.arange(alpha.size), "alpha": alpha, "beta": beta}
    )


def load_open_bandit(campaign: str = "all", source: str = "auto") -> OpenBanditSample:
    """Load one campaign of the Open Bandit Dataset sample (10,000 rows per policy).

    Introduced in Chapter 10. See the module docstring for the data and the
    sources; cite Saito et al. (2021) when you use it.

    Args:
        campaign: ``"all"`` (80 items), ``"men"`` (34) or ``"women"`` (46).
        source: ``"auto"`` or ``"pypi"`` (fetch what the cache lacks), or
            ``"cache"`` (never download).

    Returns:
        An :class:`OpenBanditSample`.

    Raises:
        ValueError: for an unknown campaign or source.
        DatasetError: if the files are in no source; the message names the
            command that fills the cache.
    """
    check_choice(campaign, "campaign", OPEN_BANDIT_CAMPAIGNS, where="load_open_bandit")
    check_choice(source, "source", OPEN_BANDIT_SOURCES, where="load_open_bandit")
    folder, got = _ensure_files(campaign, source)
    random = _read_log(folder / f"random_{campaign}.csv")
    bts = _read_log(folder / f"bts_{campaign}.csv")
    items = pd.read_csv(folder / f"item_context_{campaign}.csv", index_col=0)
    prior = _read_prior(folder / "prior_bts.yaml", campaign)
    return OpenBanditSample(
        random, bts, items.reset_index(drop=True), prior, campaign, got
    )
