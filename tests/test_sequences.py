import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.losses import NegativeSampler
from recsys_lib.models import SASRec, SASRecConfig
from recsys_lib.sequences import (
    NextItemBatches,
    UserSequences,
    build_sequences,
    next_item_loss_fn,
    next_item_split,
    pad_sequences,
)
from recsys_lib.utils import set_seed

N_ITEMS = 9  # padding id 9


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: torch's thread pool only adds overhead (and jitter when busy).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
    with pytest.raises(ValueError, match="min_len"):
        next_item_split(events[events[USER_COL] == 1])


# ---------------------------------------------------------------- batches
def test_batches_train_every_position_with_the_next_item():
    seqs = [np.arange(n) % N_ITEMS for n in (1, 2, 5, 8, 12)]
    batches = NextItemBatches(seqs, N_ITEMS, max_len=6, batch_size=2, seed=0)
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


def test_ce_loss_fn_is_cross_entropy_over_real_positions():
    set_seed(0, deterministic=False)
    model = SASRec(SASRecConfig.tiny(n_items=N_ITEMS, max_len=6))
    seqs = [np.array([1, 2, 3, 4]), np.array([5, 6])]
    batch = next(iter(NextItemBatches(seqs, N_ITEMS, max_len=6, batch_size=2)))
    loss = next_item_loss_fn("ce")(model, batch)
    hidden = model(batch.inputs)
    mask = batch.inputs != N_ITEMS
    logits = model.item_logits(hidden)[mask]  # (4, n_items)
    expected = torch.nn.functional.cross_entropy(logits, batch.targets[mask])
    assert torch.allclose(loss, expected, atol=1e-6)
    assert mask.sum() == 3 + 1


def test_sampled_loss_fns_run_with_a_sampler():
    set_seed(0, deterministic=False)
    model = SASRec(SASRecConfig.tiny(n_items=N_ITEMS, max_len=6))
    seqs = [np.array([1, 2, 3, 4]), np.array([5, 6, 0])]
    frame = pd.DataFrame({USER_COL: [0] * 4 + [1] * 3, ITEM_COL: [1, 2, 3, 4, 5, 6, 0]})
    sampler = NegativeSampler(frame, n_items=N_ITEMS, seed=0)
    batch = next(iter(NextItemBatches(seqs, N_ITEMS, 6, batch_size=2)))
    for kind in ("bce", "sampled_softmax"):
        loss = next_item_loss_fn(kind, sampler, n_negatives=3)(model, batch)
        assert loss.dim() == 0 and torch.isfinite(loss)
        loss.backward()
    with pytest.raises(ValueError, match="NegativeSampler"):
        next_item_loss_fn("bce")
    with pytest.raises(ValueError, match="kind"):
        next_item_loss_fn("hinge")


# ---------------------------------------------------------------- evaluation
class NextInCycle(SASRec):
    """A fake model: the next item is always (last item + 1) mod n_items."""

    def _score_last(self, seq, users=None):
        return torch.nn.functional.one_hot(
            (seq[:, -1] + 1) % self.n_items, self.n_items
        ).float()


def test_evaluate_and_score_fn_on_a_perfect_model():
    rng = np.random.default_rng(0)
    rows = []
    for u in range(20):
        start, n = rng.integers(N_ITEMS), rng.integers(3, 15)
        rows += [(u, (start + t) % N_ITEMS, t) for t in range(n)]
    df = pd.DataFrame(rows, columns=[USER_COL, ITEM_COL, TIMESTAMP_COL])
    split = next_item_split(df, n_users=20, n_items=N_ITEMS)
    model = NextInCycle(SASRecConfig.tiny(n_items=N_ITEMS, max_len=8))
    # Cycles repeat items, so rank every item instead of masking the history.
    result = split.evaluate(model, "test", max_len=8, k=1, mask_history=False)
    assert result["ndcg@1"] == pytest.approx(1.0) and result.n_users == 20
    # The chunked, length-sorted score_fn equals scoring the padded batch at once.
    score = split.score_fn(model, "valid", max_len=8, chunk_size=3)
    users, seq = split.inputs("valid", 8)
    assert torch.equal(score(users[::-1].copy()), model.score_last(seq.flip(0)))
    with pytest.raises(ValueError, match="no valid target"):
        small = next_item_split(df[df[USER_COL] < 5], n_users=20, n_items=N_ITEMS)
        small.score_fn(model, "valid", 8)(np.array([7]))


def test_batches_and_evaluate_plug_into_fit():
    from recsys_lib.training import fit

    set_seed(0, deterministic=False)
    rng = np.random.default_rng(1)
    rows = [
        (u, int(i), t)
        for u in range(12)
        for t, i in enumerate(rng.permutation(N_ITEMS)[:6])
    ]
    df = pd.DataFrame(rows, columns=[USER_COL, ITEM_COL, TIMESTAMP_COL])
    split = next_item_split(df, n_users=12, n_items=N_ITEMS)
    model = SASRec(SASRecConfig.tiny(n_items=N_ITEMS, max_len=8))
    history = fit(
        model,
        split.train_batches(max_len=8, batch_size=4),
        next_item_loss_fn("ce"),
        torch.optim.Adam(model.parameters(), lr=0.01),
        epochs=2,
        val_fn=lambda m: split.evaluate(m, "valid", max_len=8, k=3)["ndcg@3"],
        monitor="max",
        show_progress=False,
    )
    assert history.epochs == 2 and 0.0 <= history.best_val <= 1.0
    result = split.evaluate(model, "test", max_len=8, k=(1, 3))
    assert result.n_users == 12 and set(result.metrics) >= {"ndcg@1", "ndcg@3"}
