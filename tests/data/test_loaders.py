import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from recsys_lib.config import ITEM_COL, RATING_COL, USER_COL
from recsys_lib.data.interactions import interactions_to_csr
from recsys_lib.data.loaders import (
    BucketBatchSampler,
    NegativeSampler,
    PairDataset,
    ShuffledBatchSampler,
    pair_loader,
    seed_worker,
)


# ---------------------------------------------------------------- sampler
@pytest.fixture
def positives():
    # User 0 saw items 0..7 of 10, user 1 saw 9, user 2 nothing.
    return pd.DataFrame({USER_COL: [0] * 8 + [1], ITEM_COL: list(range(8)) + [9]})


def test_sampler_never_returns_a_positive(positives):
    sampler = NegativeSampler(positives, n_items=10, n_users=3, seed=0)
    users = torch.tensor([0, 1, 2] * 200)
    neg = sampler.sample(users, 5)  # (600, 5)
    assert neg.shape == (600, 5) and neg.dtype == torch.int64
    assert set(neg[users == 0].unique().tolist()) == {8, 9}
    assert 9 not in neg[users == 1].tolist()
    assert set(neg[users == 2].unique().tolist()) == set(range(10))
    assert sampler.sample(torch.zeros(4, 3, dtype=torch.long)).shape == (4, 3)


def test_sampler_is_seeded(positives):
    users = torch.tensor([0, 1, 2] * 10)
    a = NegativeSampler(positives, 10, n_users=3, seed=1).sample(users, 4)
    b = NegativeSampler(positives, 10, n_users=3, seed=1).sample(users, 4)
    c = NegativeSampler(positives, 10, n_users=3, seed=2).sample(users, 4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_popularity_sampler_follows_counts():
    # Items 0, 1, 2 seen 1, 3, 6 times by users 1..; user 0 saw nothing.
    items = [0] + [1] * 3 + [2] * 6
    df = pd.DataFrame({USER_COL: np.arange(1, 11), ITEM_COL: items})
    sampler = NegativeSampler(
        df, n_items=4, distribution="popularity", alpha=1.0, seed=0
    )
    neg = sampler.sample(torch.zeros(20_000, dtype=torch.long))
    freq = torch.bincount(neg, minlength=4).float() / neg.numel()
    assert freq[3] == 0  # never interacted with: never drawn
    assert torch.allclose(freq[:3], torch.tensor([0.1, 0.3, 0.6]), atol=0.02)
    assert torch.allclose(
        sampler.log_q(torch.tensor([2])), torch.tensor([math.log(0.6)])
    )


def test_sampler_errors(positives):
    full = pd.DataFrame({USER_COL: [0] * 3, ITEM_COL: [0, 1, 2]})
    sampler = NegativeSampler(full, n_items=3)
    with pytest.raises(ValueError, match="no item left"):
        sampler.sample(torch.tensor([0]))
    sampler = NegativeSampler(positives, n_items=10)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        sampler.sample(torch.tensor([5]))
    with pytest.raises(TypeError, match="integer"):
        sampler.sample(torch.tensor([0.0]))
    with pytest.raises(ValueError, match="distribution"):
        NegativeSampler(positives, 10, distribution="zipf")
    with pytest.raises(ValueError, match="n_items"):
        NegativeSampler(positives, n_items=5)  # item 9 out of range


def test_sampler_raises_instead_of_giving_up():
    # user 0 can draw only item 9 of 10: rejection needs many rounds
    almost = pd.DataFrame({USER_COL: [0] * 9, ITEM_COL: list(range(9))})
    sampler = NegativeSampler(almost, n_items=10, seed=0, max_rounds=1)
    with pytest.raises(RuntimeError, match="did not finish in 1 rounds"):
        sampler.sample(torch.zeros(200, dtype=torch.long))
    patient = NegativeSampler(almost, n_items=10, seed=0)
    assert set(patient.sample(torch.zeros(200, dtype=torch.long)).tolist()) == {9}
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        NegativeSampler(almost, n_items=10, rng=0)
    with pytest.raises(TypeError, match="n must be an int"):
        patient.sample(torch.tensor([0]), n=2.0)


def test_sampler_with_a_numpy_generator_follows_its_stream(positives):
    # BPRMF draws negatives from the NumPy generator that shuffles its pairs:
    # the first draw is rng.integers over the catalog, hits are redrawn in order.
    users = np.repeat([0, 1, 2], 300)
    rng = np.random.default_rng(3)
    sampler = NegativeSampler(positives, 10, n_users=3, rng=rng)
    neg = sampler.sample(torch.from_numpy(users))
    assert set(neg[users == 0].tolist()) == {8, 9} and 9 not in neg[users == 1]
    ref = np.random.default_rng(3).integers(0, 10, size=users.size)
    fine = ~np.isin(ref, range(8)) | (users != 0)
    fine &= ~((users == 1) & (ref == 9))
    assert np.array_equal(neg.numpy()[fine], ref[fine])  # kept where not a positive
    sampler.reseed(3)
    assert torch.equal(sampler.sample(torch.from_numpy(users)), neg)


# ---------------------------------------------------------------- batch samplers
def test_shuffled_batches_draw_one_permutation_per_epoch():
    gen = torch.Generator().manual_seed(5)
    seen = []
    sampler = ShuffledBatchSampler(10, 4, gen, on_epoch=seen.append)
    epoch = list(sampler)
    assert [b.numel() for b in epoch] == [4, 4, 2] and len(sampler) == 3
    ref = torch.Generator().manual_seed(5)
    first = torch.randperm(10, generator=ref)
    assert torch.equal(torch.cat(epoch), first) and torch.equal(seen[0], first)
    assert torch.equal(torch.cat(list(sampler)), torch.randperm(10, generator=ref))
    numpy_order = ShuffledBatchSampler(10, 4, np.random.default_rng(1), drop_last=True)
    batches = list(numpy_order)
    assert len(batches) == len(numpy_order) == 2
    expected = np.random.default_rng(1).permutation(10)[:8]
    assert torch.cat(batches).tolist() == expected.tolist()
    with pytest.raises(TypeError, match="generator must be a torch.Generator or a numpy"):
        ShuffledBatchSampler(10, 4, generator=3)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        ShuffledBatchSampler(10, 0)


def test_bucket_batches_group_similar_lengths():
    lengths = torch.arange(40) % 13
    sampler = BucketBatchSampler(lengths, 5, seed=2, bucket_batches=8)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 8
    assert sorted(torch.cat(batches).tolist()) == list(range(40))
    spread = max(int(lengths[b].max() - lengths[b].min()) for b in batches)
    assert spread <= 4  # 40 rows in one window: sorted, then cut
    again = BucketBatchSampler(lengths, 5, seed=2, bucket_batches=8)
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))
    dropped = BucketBatchSampler(lengths, 6, seed=2, drop_last=True)
    assert len(dropped) == 6 and all(b.numel() == 6 for b in dropped)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        BucketBatchSampler(torch.zeros(0), 4)
    with pytest.raises(TypeError, match="torch.Generator"):
        BucketBatchSampler(lengths, 4, np.random.default_rng(0))


# ---------------------------------------------------------------- pairs
@pytest.fixture
def ratings():
    return pd.DataFrame(
        {
            USER_COL: [0, 0, 1, 2, 2, 2],
            ITEM_COL: [1, 2, 0, 3, 1, 1],
            RATING_COL: [5, 4, 3, 2, 1, 5],
        }
    )


def test_pair_dataset_returns_batches_of_rows(ratings):
    ds = PairDataset(ratings, 3, 5, values=RATING_COL)
    assert len(ds) == 6 and (ds.n_users, ds.n_items) == (3, 5)
    users, items, values = ds[torch.tensor([5, 0])]
    assert users.tolist() == [2, 0] and items.tolist() == [1, 1]
    assert values.dtype == torch.float32 and values.tolist() == [5.0, 5.0]
    users, items = PairDataset((np.array([3, 1]), np.array([0, 4])))[[1]]
    assert users.tolist() == [1] and items.tolist() == [4]


def test_pair_dataset_negatives_per_batch_and_per_epoch(ratings):
    sampler = NegativeSampler(ratings, 5, seed=0)
    users, items, neg = PairDataset(ratings, sampler=sampler, n_negatives=3)[
        torch.arange(6)
    ]
    assert neg.shape == (6, 3)
    seen = interactions_to_csr(ratings, 3, 5).toarray().astype(bool)
    assert not seen[users[:, None], neg].any()
    epoch = PairDataset(ratings, sampler=sampler, negatives_per="epoch")
    with pytest.raises(RuntimeError, match="start_epoch"):
        epoch[torch.tensor([0])]
    order = torch.tensor([3, 1, 0, 2, 5, 4])
    epoch.start_epoch(order)
    users, _, neg = epoch[torch.arange(6)]
    assert neg.shape == (6,) and not seen[users, neg].any()


def test_pair_dataset_bad_input(ratings):
    with pytest.raises(TypeError, match="DataFrame with user_id/item_id"):
        PairDataset(ratings.to_numpy())
    with pytest.raises(ValueError, match=r"PairDataset: column\(s\) \['item_id'\]"):
        PairDataset(ratings.drop(columns=[ITEM_COL]))
    with pytest.raises(TypeError, match="integer ids"):
        PairDataset(ratings.astype({USER_COL: float}))
    with pytest.raises(ValueError, match="only 3 exist"):
        PairDataset(ratings, n_items=3)
    with pytest.raises(ValueError, match="empty"):
        PairDataset(ratings.iloc[:0])
    with pytest.raises(ValueError, match=r"\['stars'\] not found"):
        PairDataset(ratings, values="stars")
    with pytest.raises(ValueError, match="values has shape"):
        PairDataset(ratings, values=np.ones(2))
    with pytest.raises(TypeError, match="NegativeSampler"):
        PairDataset(ratings, sampler="uniform")
    with pytest.raises(ValueError, match="negatives_per"):
        PairDataset(ratings, negatives_per="step")


def test_pair_loader_is_a_seeded_dataloader(ratings):
    before = torch.random.get_rng_state()
    loader = pair_loader(ratings, batch_size=4, seed=1)
    assert isinstance(loader, DataLoader) and len(loader) == 2
    epoch1 = [tuple(t.tolist() for t in b) for b in loader]
    epoch2 = [tuple(t.tolist() for t in b) for b in loader]
    assert epoch1 != epoch2  # a new order every epoch
    again = pair_loader(ratings, batch_size=4, seed=1)
    assert [tuple(t.tolist() for t in b) for b in again] == epoch1
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG untouched
    # the order is Chapter 6's hand-written loop: torch.randperm from Generator(seed)
    order = torch.randperm(6, generator=torch.Generator().manual_seed(1))
    assert epoch1[0][0] == ratings[USER_COL].to_numpy()[order[:4]].tolist()
    with pytest.raises(ValueError, match="num_workers=0"):
        pair_loader(
            ratings,
            sampler=NegativeSampler(ratings, 5),
            negatives_per="epoch",
            num_workers=1,
        )


def test_epoch_negatives_follow_the_shuffle_in_one_numpy_stream(ratings):
    # BPRMF's order of draws: the permutation, then every negative of the epoch.
    rng = np.random.default_rng(0)
    sampler = NegativeSampler(ratings, 5, rng=rng)
    loader = pair_loader(
        ratings,
        batch_size=4,
        generator=rng,
        sampler=sampler,
        negatives_per="epoch",
    )
    (u1, i1, n1), (u2, i2, n2) = list(loader)
    ref = np.random.default_rng(0)
    order = ref.permutation(6)
    ref_sampler = NegativeSampler(ratings, 5, rng=ref)
    expected = ref_sampler.sample(torch.from_numpy(ratings[USER_COL].to_numpy()[order]))
    assert torch.cat([n1, n2]).tolist() == expected.tolist()
    assert torch.cat([u1, u2]).tolist() == ratings[USER_COL].to_numpy()[order].tolist()


def test_workers_get_their_own_negatives(ratings):
    sampler = NegativeSampler(ratings, 5, seed=0)
    loader = pair_loader(ratings, batch_size=2, sampler=sampler, num_workers=2, seed=3)
    assert loader.worker_init_fn is seed_worker
    first = [tuple(t.tolist() for t in b) for b in loader]
    again = pair_loader(
        ratings,
        batch_size=2,
        sampler=NegativeSampler(ratings, 5),
        num_workers=2,
        seed=3,
    )
    assert [tuple(t.tolist() for t in b) for b in again] == first  # repeatable
    seen = interactions_to_csr(ratings, 3, 5).toarray().astype(bool)
    for users, _, neg in first:
        assert not seen[users, neg].any()
    seed_worker(0)  # outside a worker: nothing to do
