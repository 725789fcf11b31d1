import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data.sequences import (
    NextItemBatches,
    NextItemDataset,
    UserSequences,
    build_sequences,
    next_item_split,
    pad_sequences,
)

N_ITEMS = 9  # padding id 9


@pytest.fixture
def events():
    """User 0: 0,1,2,3,4 (shuffled rows, one time tie); user 1: 5,6; user 3: 7,8,6,5."""
    return pd.DataFrame(
        {
            USER_COL: [0, 3, 0, 0, 1, 0, 3, 1, 0, 3, 3],
            ITEM_COL: [3, 7, 1, 2, 5, 0, 8, 6, 4, 6, 5],
            TIMESTAMP_COL: [30, 1, 10, 20, 5, 0, 2, 6, 30, 3, 4],
        }
    )


# ---------------------------------------------------------------- sequences
def test_build_sequences_orders_by_time_and_keeps_ties_in_row_order(events):
    seqs = build_sequences(events, n_users=4, n_items=N_ITEMS)
    assert isinstance(seqs, UserSequences) and seqs.pad_id == N_ITEMS
    assert [s.tolist() for s in seqs.sequences] == [
        [0, 1, 2, 3, 4],
        [5, 6],
        [],
        [7, 8, 6, 5],
    ]
    assert seqs.lengths.tolist() == [5, 2, 0, 4]
    by_rows = build_sequences(events, time_col=None)
    assert by_rows.sequences[0].tolist() == [3, 1, 2, 0, 4]
    assert by_rows.n_users == 4 and by_rows.n_items == N_ITEMS


def test_build_sequences_bad_input(events):
    with pytest.raises(TypeError, match="DataFrame"):
        build_sequences(events.to_numpy())
    with pytest.raises(ValueError, match="empty"):
        build_sequences(events.iloc[:0])
    with pytest.raises(ValueError, match="not found"):
        build_sequences(events.drop(columns=[ITEM_COL]))
    with pytest.raises(ValueError, match="negative"):
        build_sequences(events.assign(**{ITEM_COL: events[ITEM_COL] - 1}))
    with pytest.raises(TypeError, match="integer"):
        build_sequences(events.assign(**{USER_COL: events[USER_COL] + 0.5}))
    with pytest.raises(ValueError, match="out of range"):
        build_sequences(events, n_items=8)


def test_pad_sequences_left_pads_and_keeps_the_newest():
    seqs = [np.array([1, 2, 3, 4, 5]), np.array([7]), np.array([2, 3])]
    out = pad_sequences(seqs, max_len=3, pad_id=N_ITEMS)
    assert out.dtype == torch.int64
    assert out.tolist() == [[3, 4, 5], [9, 9, 7], [9, 2, 3]]
    assert pad_sequences(seqs[1:], max_len=3, pad_id=9).shape == (2, 2)  # trimmed
    assert pad_sequences(seqs[1:], 3, 9, width=3).tolist() == [[9, 9, 7], [9, 2, 3]]
    with pytest.raises(ValueError, match="sequence 1 is empty"):
        pad_sequences([np.array([1]), np.array([], dtype=np.int64)], 3, 9)
    with pytest.raises(ValueError, match="no sequences"):
        pad_sequences([], 3, 9)
    with pytest.raises(ValueError, match="larger"):
        pad_sequences(seqs, 3, 9, width=4)


# ---------------------------------------------------------------- split
def test_next_item_split_holds_out_the_last_two(events):
    split = next_item_split(events, n_users=4, n_items=N_ITEMS)
    assert split.valid_users.tolist() == [0, 3] == split.test_users.tolist()
    assert split.valid_targets.tolist() == [3, 6] and split.test_targets.tolist() == [
        4,
        5,
    ]
    assert [s.tolist() for s in split.train] == [[0, 1, 2], [5, 6], [], [7, 8]]
    assert [s.tolist() for s in split.input_sequences("valid")] == [[0, 1, 2], [7, 8]]
    assert [s.tolist() for s in split.input_sequences("test")] == [
        [0, 1, 2, 3],
        [7, 8, 6],
    ]
    users, seq = split.inputs("test", max_len=3)
    assert seq.tolist() == [[1, 2, 3], [7, 8, 6]]
    test_hist = split.history("test")
    assert test_hist[test_hist[USER_COL] == 3][ITEM_COL].tolist() == [7, 8, 6]
    valid_hist = split.history("valid")  # every training item, user 1 included
    assert len(valid_hist) == 7 and set(valid_hist[USER_COL]) == {0, 1, 3}
    assert split.targets("valid").to_dict("list") == {
        USER_COL: [0, 3],
        ITEM_COL: [3, 6],
    }
    with pytest.raises(ValueError, match="part"):
        split.inputs("train", 3)
    assert split.train_frame().equals(valid_hist)
    assert "valid=2" in repr(split)
    with pytest.raises(ValueError, match="min_len"):
        next_item_split(events[events[USER_COL] == 1])


# ---------------------------------------------------------------- batches
def test_batches_train_every_position_with_the_next_item():
    seqs = [np.arange(n) % N_ITEMS for n in (1, 2, 5, 8, 12)]
    batches = NextItemBatches(seqs, N_ITEMS, max_len=6, batch_size=2, seed=0)
    assert isinstance(batches, DataLoader)
    assert isinstance(batches.dataset, NextItemDataset) and len(batches.dataset) == 4
    assert len(batches) == 2  # user 0 (one item) has nothing to predict
    assert batches.n_positions == 1 + 4 + 6 + 6  # truncated to max_len positions
    seen = []
    for users, inputs, targets in batches:
        pad = inputs == N_ITEMS
        assert torch.equal(pad, targets == N_ITEMS)  # padding carries no target
        assert not pad.all(0).any()  # trimmed: no column of padding only
        for row, u in enumerate(users.tolist()):
            full = seqs[u][-(6 + 1) :]
            real = inputs[row][~pad[row]].tolist()
            assert real == full[:-1].tolist()
            assert targets[row][~pad[row]].tolist() == full[1:].tolist()
        seen += users.tolist()
    assert sorted(seen) == [1, 2, 3, 4]


def test_batches_are_seeded_and_reshuffled_each_epoch():
    seqs = [np.arange(n) % N_ITEMS for n in range(2, 30)]

    def epoch_users(loader):
        return [b.users.tolist() for b in loader]

    a = NextItemBatches(seqs, N_ITEMS, 8, batch_size=4, seed=3, sort_by_length=False)
    b = NextItemBatches(seqs, N_ITEMS, 8, batch_size=4, seed=3, sort_by_length=False)
    first = epoch_users(a)
    assert first == epoch_users(b)
    assert first != epoch_users(a)  # a new order next epoch
    sorted_loader = NextItemBatches(seqs, N_ITEMS, 8, batch_size=4, seed=3)
    for batch in sorted_loader:  # bucketing: rows of a batch have close lengths
        lengths = (batch.inputs != N_ITEMS).sum(1)
        assert int(lengths.max() - lengths.min()) <= 16
    with pytest.raises(ValueError, match="2 or more"):
        NextItemBatches([np.array([1])], N_ITEMS, 8)
    with pytest.raises(ValueError, match="outside"):
        NextItemBatches([np.array([1, N_ITEMS])], N_ITEMS, 8)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        NextItemBatches(seqs, N_ITEMS, 8, batch_size=0)


def test_batches_leave_the_global_rng_alone():
    seqs = [np.arange(n) % N_ITEMS for n in range(2, 12)]
    before = torch.random.get_rng_state()
    for _ in range(2):
        list(NextItemBatches(seqs, N_ITEMS, 8, batch_size=3, seed=1))
    assert torch.equal(torch.random.get_rng_state(), before)
