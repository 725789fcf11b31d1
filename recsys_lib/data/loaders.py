"""Training data as ``torch.utils.data`` datasets and loaders, and the negative sampler.

Introduced in Chapter 3 (BPR-MF's training pairs) and Chapter 6 ("The MLP
ranker"), where every loss trains on the same ``(user, item)`` pairs; Chapter 7
trains sequences with the same machinery (:mod:`recsys_lib.data.sequences`).

* :class:`NegativeSampler` -- the one sampler of items a user did *not*
  interact with (uniform or by popularity); it never returns a positive and
  raises a clear error when it cannot draw one, never giving up silently.
* :class:`PairDataset` -- positive ``(user, item)`` pairs (with a value such
  as the rating, and negatives, if asked), indexed a whole batch at a time.
* :class:`ShuffledBatchSampler`, :class:`BucketBatchSampler` -- batches from
  one seeded permutation per epoch (``torch`` or NumPy generator).
* :func:`pair_loader` -- the ``DataLoader`` that puts them together.

Why not ``DataLoader(shuffle=True)``: ``RandomSampler`` draws
``torch.randperm`` twice per epoch (the second for a remainder of length 0),
so its stream differs from the book's one-permutation-per-epoch loops, whose
numbers must not change; :class:`ShuffledBatchSampler` draws exactly one.

**Workers.** ``num_workers=0`` (the default) builds batches in the notebook's
own process: on a CPU a batch here is one indexing operation, and workers
would only add start-up and copying. With ``num_workers > 0``:

* the shuffle still runs in the main process (the batch sampler), so the order
  of the rows is unchanged;
* every worker gets its own *copy* of the dataset, negative sampler included,
  all with the same generator state: without care, workers would draw the same
  negatives. :func:`pair_loader` therefore passes ``worker_init_fn=``
  :func:`seed_worker`, which reseeds each worker's sampler from
  ``torch.utils.data.get_worker_info().seed`` (the loader's base seed plus the
  worker id). Runs are then repeatable for a given ``seed`` and
  ``num_workers``, but their negatives differ from a ``num_workers=0`` run;
* ``negatives_per="epoch"`` draws the epoch's negatives in the main process
  after the shuffle, which workers (started before it) would not see: it needs
  ``num_workers=0``.

A ``DataLoader`` draws its workers' base seed at every epoch from its
``generator`` -- or from the *global* torch generator when none is given,
which would silently move every later random draw of the program. The loaders
here always get a private one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..checks import check_choice, check_id_array, check_int, check_number
from ..config import ITEM_COL, USER_COL
from .frames import require_columns
from .interactions import interactions_to_csr

__all__ = [
    "BucketBatchSampler",
    "NegativeSampler",
    "PairDataset",
    "ShuffledBatchSampler",
    "pair_loader",
    "seed_worker",
]

DISTRIBUTIONS = ("uniform", "popularity")
NEGATIVES_PER = ("batch", "epoch")


# ---------------------------------------------------------------- negatives
class NegativeSampler:
    """Draw items a user did *not* interact with: uniformly or by popularity.

    Introduced in Chapter 6. Sampling is vectorized rejection: draw every
    negative at once, look all ``(user, item)`` pairs up in the sorted keys
    ``user * n_items + item`` of the positives (``torch.searchsorted``), and
    redraw only the hits, until none is left. Draws are with replacement;
    randomness comes only from the sampler's own generator, so the same
    ``seed`` gives the same negatives whatever else the program does. A user
    with no item left to draw, or a rejection that does not finish in
    ``max_rounds``, is an error: a negative is never a positive.

    Args:
        positives: the interactions to avoid: a DataFrame with ``user_id`` /
            ``item_id``, a ``(users, items)`` pair of integer arrays, an
            ``(n, 2)`` integer array or a scipy sparse ``(n_users, n_items)``
            matrix (anything :func:`recsys_lib.data.interactions.interactions_to_csr`
            accepts).
        n_items: catalog size; ids in ``[0, n_items)``.
        n_users: number of users; default ``max user id in positives + 1``.
        distribution: ``"uniform"`` or ``"popularity"`` (probability
            proportional to ``count ** alpha``, counts from ``positives``;
            items never interacted with are then never drawn).
        alpha: popularity exponent; 0.75 is word2vec's choice, between
            uniform (0) and raw popularity (1).
        seed: seed of the sampler's own ``torch.Generator``.
        max_rounds: raise after this many redraw rounds.
        rng: a NumPy ``Generator`` to draw from instead of the sampler's
            ``torch.Generator``. :class:`~recsys_lib.models.BPRMF` shares one
            generator between its shuffling and its negatives, so that one
            seed drives one stream (Chapter 3's numbers).

    Attributes:
        probs: float32 ``(n_items,)`` proposal probabilities (before the
            rejection of positives).
    """

    def __init__(
        self,
        positives,
        n_items: int,
        n_users: int | None = None,
        distribution: str = "uniform",
        alpha: float = 0.75,
        seed: int = 0,
        max_rounds: int = 1000,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.distribution = check_choice(distribution, "distribution", DISTRIBUTIONS)
        n_items = check_int(n_items, "n_items", low=1)
        self.max_rounds = check_int(max_rounds, "max_rounds", low=1)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}"
            )
        csr = interactions_to_csr(
            positives, n_users=n_users, n_items=n_items, name="positives"
        )
        self.n_users, self.n_items = int(csr.shape[0]), n_items
        counts = torch.from_numpy(
            csr.sum(axis=0).A1.astype("float64")
        )  # (n_items,) interactions per item
        if distribution == "uniform":
            weights = torch.ones(n_items, dtype=torch.float64)
        else:
            alpha = check_number(alpha, "alpha", low=0.0)
            weights = counts.pow(alpha) * (counts > 0)
            if weights.sum() == 0:
                raise ValueError("popularity sampling needs at least one interaction")
        self._p64 = (weights / weights.sum()).numpy()  # for a NumPy rng
        self.probs = (weights / weights.sum()).float()  # (n_items,)
        self._support = self.probs > 0
        users = torch.repeat_interleave(
            torch.arange(self.n_users), torch.from_numpy(csr.indptr).diff()
        )
        items = torch.from_numpy(csr.indices.astype("int64"))
        self._keys = users * n_items + items  # sorted: CSR rows are sorted
        # Items each user can draw = support minus the user's positives.
        blocked = torch.zeros(self.n_users, dtype=torch.int64)
        blocked.index_add_(0, users, self._support[items].long())
        self._available = int(self._support.sum()) - blocked  # (n_users,)
        self.rng = rng
        self.generator = torch.Generator().manual_seed(check_int(seed, "seed", low=0))

    def __repr__(self) -> str:
        return (
            f"NegativeSampler({self.distribution}, n_users={self.n_users}, "
            f"n_items={self.n_items}, positives={self._keys.numel()})"
        )

    def reseed(self, seed: int) -> None:
        """Restart the sampler's generator from ``seed`` (e.g. in a loader worker)."""
        seed = check_int(seed, "seed", low=0)
        if self.rng is not None:
            self.rng = np.random.default_rng(seed)
        else:
            self.generator.manual_seed(seed)

    def _draw(self, n: int) -> torch.Tensor:
        if self.rng is not None:
            if self.distribution == "uniform":
                return torch.from_numpy(self.rng.integers(0, self.n_items, size=n))
            return torch.from_numpy(self.rng.choice(self.n_items, size=n, p=self._p64))
        if self.distribution == "uniform":
            return torch.randint(self.n_items, (n,), generator=self.generator)
        return torch.multinomial(
            self.probs, n, replacement=True, generator=self.generator
        )

    def _is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        if self._keys.numel() == 0:
            return torch.zeros_like(items, dtype=torch.bool)
        query = users * self.n_items + items
        pos = torch.searchsorted(self._keys, query).clamp_(max=self._keys.numel() - 1)
        return self._keys[pos] == query

    def sample(self, users, n: int | None = None) -> torch.Tensor:
        """Negatives for each entry of ``users``.

        Args:
            users: int64 tensor or NumPy array (any shape, e.g. ``(B,)`` or
                ``(B, T)``) of user ids in ``[0, n_users)``.
            n: negatives per entry; ``None`` gives one per entry with the
                shape of ``users``, an int gives shape ``users.shape + (n,)``.

        Returns:
            int64 tensor of item ids, none of them a positive of its user.

        Raises:
            TypeError, ValueError: for non-integer or out-of-range users, or a
                user with no item left to draw.
            RuntimeError: if rejection does not finish in ``max_rounds``.
        """
        users = torch.as_tensor(users)
        if users.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"users must be an integer tensor, got dtype {users.dtype}")
        users = users.long()
        if users.numel() and (int(users.min()) < 0 or int(users.max()) >= self.n_users):
            raise ValueError(
                f"user ids must be in [0, {self.n_users}), got range "
                f"[{int(users.min())}, {int(users.max())}]"
            )
        if n is not None:
            n = check_int(n, "n", low=1)
        shape = tuple(users.shape) + (() if n is None else (n,))
        flat_users = users.reshape(-1, 1).expand(-1, n or 1).reshape(-1)
        if flat_users.numel() == 0:
            return torch.empty(shape, dtype=torch.int64)
        starved = self._available[flat_users] < 1
        if bool(starved.any()):
            u = int(flat_users[starved][0])
            raise ValueError(
                f"user {u} has no item left to sample as a negative (they interacted "
                "with every item that can be drawn); drop such users"
            )
        items = self._draw(flat_users.numel())
        bad = self._is_positive(flat_users, items)
        for _ in range(self.max_rounds):
            n_bad = int(bad.sum())
            if n_bad == 0:
                return items.reshape(shape)
            idx = bad.nonzero().squeeze(1)
            items[idx] = self._draw(n_bad)
            bad[idx] = self._is_positive(flat_users[idx], items[idx])
        raise RuntimeError(
            f"negative sampling did not finish in {self.max_rounds} rounds; some users "
            "interacted with nearly every item"
        )

    def log_q(self, items: torch.Tensor) -> torch.Tensor:
        """Log proposal probability of ``items`` (same shape), for the logQ correction.

        It ignores the (small) renormalization caused by rejecting each
        user's positives.
        """
        items = torch.as_tensor(items)
        if items.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"items must be an integer tensor, got dtype {items.dtype}")
        return self.probs[items.long()].log()


# ---------------------------------------------------------------- batch samplers
def _check_generator(generator, seed: int, numpy_ok: bool = True):
    if generator is None:
        return torch.Generator().manual_seed(check_int(seed, "seed", low=0))
    kinds = (torch.Generator, np.random.Generator) if numpy_ok else (torch.Generator,)
    if not isinstance(generator, kinds):
        names = "a torch.Generator" + (
            " or a numpy.random.Generator" if numpy_ok else ""
        )
        raise TypeError(f"generator must be {names}, got {type(generator).__name__}")
    return generator


class ShuffledBatchSampler(Sampler):
    """Batches of row positions: one seeded permutation per epoch, then slices.

    Introduced in Chapter 3. Iterating it once is one epoch: it draws a
    permutation of ``0..n-1`` from ``generator`` (``torch.randperm`` for a
    ``torch.Generator``, ``Generator.permutation`` for a NumPy one), calls
    ``on_epoch(order)`` if given, and yields int64 tensors of ``batch_size``
    positions (the last one smaller unless ``drop_last``).

    Args:
        n: number of rows (>= 1).
        batch_size: rows per batch (>= 1).
        generator: the shuffling generator; default a ``torch.Generator``
            seeded with ``seed``.
        seed: seed of the default generator.
        drop_last: drop a last, smaller batch.
        on_epoch: ``on_epoch(order)`` called with each epoch's permutation
            before its first batch (:class:`PairDataset` draws the epoch's
            negatives there).
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        generator=None,
        *,
        seed: int = 0,
        drop_last: bool = False,
        on_epoch: Callable[[torch.Tensor], None] | None = None,
    ) -> None:
        self.n = check_int(n, "n", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.generator = _check_generator(generator, seed)
        self.drop_last = bool(drop_last)
        self.on_epoch = on_epoch

    def __len__(self) -> int:
        n, size = self.n, self.batch_size
        return n // size if self.drop_last else math.ceil(n / size)

    def __iter__(self):
        if isinstance(self.generator, np.random.Generator):
            order = torch.from_numpy(self.generator.permutation(self.n))
        else:
            order = torch.randperm(self.n, generator=self.generator)
        if self.on_epoch is not None:
            self.on_epoch(order)
        for lo in range(0, len(self) * self.batch_size, self.batch_size):
            yield order[lo : lo + self.batch_size]


class BucketBatchSampler(Sampler):
    """Shuffled batches of rows of similar length (less padding per batch).

    Introduced in Chapter 7. Each epoch shuffles the rows, sorts each window
    of ``bucket_batches`` batches by length (stable), cuts batches and
    shuffles their order; all from one ``torch.Generator``. Rows of similar
    length travel together, so a batch trimmed to its longest row carries
    little padding, and the shuffles keep epochs different. With
    ``sort_by_length=False`` it is a plain shuffle.

    Args:
        lengths: int ``(n,)`` length of every row.
        batch_size: rows per batch.
        generator: a ``torch.Generator`` (default: seeded with ``seed``).
        seed: seed of the default generator.
        sort_by_length: bucket rows by length (see above).
        bucket_batches: batches per sorting window.
        drop_last: drop a last, smaller batch.
    """

    def __init__(
        self,
        lengths,
        batch_size: int,
        generator: torch.Generator | None = None,
        *,
        seed: int = 0,
        sort_by_length: bool = True,
        bucket_batches: int = 4,
        drop_last: bool = False,
    ) -> None:
        self.lengths = torch.as_tensor(lengths)
        if self.lengths.dim() != 1 or self.lengths.numel() == 0:
            raise ValueError(
                f"lengths must be a non-empty 1-D array, got shape {tuple(self.lengths.shape)}"
            )
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.bucket_batches = check_int(bucket_batches, "bucket_batches", low=1)
        self.sort_by_length = bool(sort_by_length)
        self.drop_last = bool(drop_last)
        self.generator = _check_generator(generator, seed, numpy_ok=False)

    def __len__(self) -> int:
        n, size = self.lengths.numel(), self.batch_size
        return n // size if self.drop_last else math.ceil(n / size)

    def __iter__(self):
        order = torch.randperm(self.lengths.numel(), generator=self.generator)
        if self.sort_by_length:
            window = self.batch_size * self.bucket_batches
            parts = []
            for lo in range(0, order.numel(), window):
                chunk = order[lo : lo + window]
                parts.append(
                    chunk[torch.sort(self.lengths[chunk], stable=True).indices]
                )
            order = torch.cat(parts)
        batches = list(order.split(self.batch_size))
        if self.drop_last and batches[-1].numel() < self.batch_size:
            batches.pop()
        if self.sort_by_length:
            shuffle = torch.randperm(len(batches), generator=self.generator).tolist()
            batches = [batches[i] for i in shuffle]
        yield from batches


# ---------------------------------------------------------------- pairs
class PairDataset(Dataset):
    """Positive ``(user, item)`` pairs, indexed a batch at a time.

    Introduced in Chapter 3 (BPR-MF) and Chapter 6. ``dataset[idx]``, for an
    int64 tensor (or array) of row positions, returns the tensors
    ``(users, items[, negatives][, values])`` of those rows: ``negatives``
    with a ``sampler`` (int64 ``(B,)`` or ``(B, n_negatives)``), ``values``
    with ``values`` (float32 ``(B,)``, e.g. ratings for an MSE loss). Each
    input row is one pair, in input order (repeats count as often as they
    appear).

    Args:
        interactions: a DataFrame with ``user_id``/``item_id`` columns or a
            ``(users, items)`` pair of 1-D integer arrays.
        n_users, n_items: id ranges; default ``max id + 1``.
        values: a column name of the DataFrame or a ``(n,)`` array.
        sampler: a :class:`NegativeSampler` drawing each pair's negatives.
        n_negatives: negatives per pair (``None``: one, shape ``(B,)``).
        negatives_per: ``"batch"`` -- drawn for each batch as it is loaded;
            ``"epoch"`` -- drawn for the whole epoch at once in shuffled
            order, by :meth:`start_epoch` (BPR-MF's order of draws, which
            :func:`pair_loader` arranges).

    Raises:
        TypeError, ValueError: for a bad kind of input, non-integer or
            out-of-range ids, or values of the wrong length.
    """

    def __init__(
        self,
        interactions,
        n_users: int | None = None,
        n_items: int | None = None,
        *,
        values=None,
        sampler: NegativeSampler | None = None,
        n_negatives: int | None = None,
        negatives_per: str = "batch",
    ) -> None:
        users, items, values = _pairs(interactions, values)
        if users.size == 0:
            raise ValueError("interactions are empty: there is nothing to train on")
        n_users = (
            int(users.max()) + 1
            if n_users is None
            else check_int(n_users, "n_users", low=1)
        )
        n_items = (
            int(items.max()) + 1
            if n_items is None
            else check_int(n_items, "n_items", low=1)
        )
        check_id_array(users, "user ids", n_users)
        check_id_array(items, "item ids", n_items)
        if sampler is not None and not isinstance(sampler, NegativeSampler):
            raise TypeError(
                f"sampler must be a NegativeSampler, got {type(sampler).__name__}"
            )
        self.n_users, self.n_items = n_users, n_items
        self.users = torch.tensor(users)  # copies: the caller's arrays stay theirs
        self.items = torch.tensor(items)
        self.values = None if values is None else torch.tensor(values)
        self.sampler = sampler
        self.n_negatives = (
            None
            if n_negatives is None
            else check_int(n_negatives, "n_negatives", low=1)
        )
        self.negatives_per = check_choice(negatives_per, "negatives_per", NEGATIVES_PER)
        self._epoch_negatives: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.users.numel()

    def start_epoch(self, order: torch.Tensor) -> None:
        """Draw the negatives of a whole epoch, for the rows in ``order``."""
        if self.sampler is None or self.negatives_per != "epoch":
            return
        order = torch.as_tensor(order)
        neg = self.sampler.sample(self.users[order], self.n_negatives)
        self._epoch_negatives = torch.empty_like(neg)
        self._epoch_negatives[order] = neg  # indexed by row from here on

    def __getitem__(self, idx):
        idx = torch.as_tensor(idx)
        users, items = self.users[idx], self.items[idx]
        out = [users, items]
        if self.sampler is not None:
            if self.negatives_per == "batch":
                out.append(self.sampler.sample(users, self.n_negatives))
            elif self._epoch_negatives is None:
                raise RuntimeError(
                    "negatives_per='epoch' draws negatives in start_epoch(order); "
                    "iterate the dataset through pair_loader (or call start_epoch)"
                )
            else:
                out.append(self._epoch_negatives[idx])
        if self.values is not None:
            out.append(self.values[idx])
        return tuple(out)


def _pairs(interactions, values):
    """``(users, items, values)`` int64/int64/float32 NumPy arrays from the input."""
    if isinstance(interactions, pd.DataFrame):
        named = [values] if isinstance(values, str) else []
        require_columns(interactions, [USER_COL, ITEM_COL, *named], "PairDataset")
        users = interactions[USER_COL].to_numpy()
        items = interactions[ITEM_COL].to_numpy()
        values = interactions[values].to_numpy() if named else values
    elif isinstance(interactions, tuple) and len(interactions) == 2:
        users, items = (np.asarray(a) for a in interactions)
    else:
        raise TypeError(
            "interactions must be a DataFrame with user_id/item_id columns or a "
            f"(users, items) tuple of arrays, got {type(interactions).__name__}"
        )
    users = check_id_array(users, "user ids")
    items = check_id_array(items, "item ids")
    if users.shape != items.shape:
        raise ValueError(
            f"{users.size} user ids but {items.size} item ids; give one user per item"
        )
    if isinstance(values, str):
        raise TypeError("values given by column name need a DataFrame")
    if values is not None:
        values = np.asarray(values)
        if not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
            raise TypeError(f"values must be numbers, got dtype {values.dtype}")
        if values.shape != users.shape:
            raise ValueError(
                f"values has shape {values.shape} but there are {users.size} pairs"
            )
        values = values.astype(np.float32)
    return users, items, values


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` of :func:`pair_loader`: reseed the worker's negative sampler.

    Each worker holds a copy of the dataset; without this, every copy of the
    sampler would draw the same negatives. The seed is the worker's own
    (``get_worker_info().seed``: the loader's base seed + ``worker_id``).
    """
    info = torch.utils.data.get_worker_info()
    sampler = getattr(info.dataset, "sampler", None) if info is not None else None
    if isinstance(sampler, NegativeSampler):
        sampler.reseed(info.seed % 2**63)


def pair_loader(
    interactions,
    n_users: int | None = None,
    n_items: int | None = None,
    *,
    batch_size: int = 1024,
    seed: int = 0,
    generator=None,
    values=None,
    sampler: NegativeSampler | None = None,
    n_negatives: int | None = None,
    negatives_per: str = "batch",
    drop_last: bool = False,
    num_workers: int = 0,
) -> DataLoader:
    """A ``DataLoader`` of shuffled ``(users, items[, negatives][, values])`` batches.

    Introduced in Chapter 6 (and behind :class:`~recsys_lib.models.BPRMF` and
    :class:`~recsys_lib.models.NeuralRecommender`). Every pass over the loader
    is one epoch in a new order, from a seeded generator; re-iterating it
    continues the same stream, so a run is repeated exactly by building the
    loader again with the same ``seed``. It plugs into
    :func:`recsys_lib.training.fit` as ``train_loader``.

    Args:
        interactions, n_users, n_items, values, sampler, n_negatives,
            negatives_per: as in :class:`PairDataset`.
        batch_size: pairs per batch.
        seed: seeds the shuffle (unless ``generator`` is given) and the
            loader's worker seeds.
        generator: the shuffling generator (``torch.Generator`` or NumPy
            ``Generator``); default ``torch.Generator().manual_seed(seed)``.
        drop_last: drop a last, smaller batch.
        num_workers: loader worker processes; 0 (the default) loads in this
            process, which is fastest for these batches on a CPU (see the
            module doc for what changes with workers).

    Returns:
        A ``torch.utils.data.DataLoader`` whose ``dataset`` is the
        :class:`PairDataset` and ``sampler`` the :class:`ShuffledBatchSampler`.
    """
    num_workers = check_int(num_workers, "num_workers", low=0)
    if negatives_per == "epoch" and num_workers > 0:
        raise ValueError(
            "negatives_per='epoch' draws negatives in the main process after the "
            "shuffle, which worker processes would not see; use num_workers=0 or "
            "negatives_per='batch'"
        )
    dataset = PairDataset(
        interactions,
        n_users,
        n_items,
        values=values,
        sampler=sampler,
        n_negatives=n_negatives,
        negatives_per=negatives_per,
    )
    batches = ShuffledBatchSampler(
        len(dataset),
        batch_size,
        generator,
        seed=seed,
        drop_last=drop_last,
        on_epoch=dataset.start_epoch if negatives_per == "epoch" else None,
    )
    return DataLoader(
        dataset,
        sampler=batches,
        batch_size=None,  # the sampler yields whole batches of positions
        num_workers=num_workers,
        worker_init_fn=seed_worker if num_workers > 0 else None,
        generator=torch.Generator().manual_seed(check_int(seed, "seed", low=0)),
    )
