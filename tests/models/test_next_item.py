"""Sequential models on next-item data: the loss and the scorer of users."""

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data.loaders import NegativeSampler
from recsys_lib.data.sequences import NextItemBatches, next_item_split
from recsys_lib.eval import evaluate_full
from recsys_lib.models import (
    NextItemScorer,
    SASRec,
    SASRecConfig,
    Scorer,
    evaluate_next_item,
    next_item_scorer,
)
from recsys_lib.models.losses import next_item_loss_fn
from recsys_lib.utils import set_seed

N_ITEMS = 9  # padding id 9


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
    result = evaluate_next_item(
        split, model, "test", max_len=8, k=1, mask_history=False
    )
    assert result["ndcg@1"] == pytest.approx(1.0) and result.n_users == 20
    # The chunked, length-sorted score_fn equals scoring the padded batch at once.
    score = next_item_scorer(split, model, "valid", max_len=8, chunk_size=3).score
    users, seq = split.inputs("valid", 8)
    assert torch.equal(score(users[::-1].copy()), model.score_last(seq.flip(0)))
    small = next_item_split(df[df[USER_COL] < 5], n_users=20, n_items=N_ITEMS)
    with pytest.raises(ValueError, match="no valid target"):
        next_item_scorer(small, model, "valid", 8).score(np.array([7]))


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
        val_fn=lambda m: evaluate_next_item(split, m, "valid", max_len=8, k=3)[
            "ndcg@3"
        ],
        monitor="max",
        show_progress=False,
    )
    assert history.epochs == 2 and 0.0 <= history.best_val <= 1.0
    result = evaluate_next_item(split, model, "test", max_len=8, k=(1, 3))
    assert result.n_users == 12 and set(result.metrics) >= {"ndcg@1", "ndcg@3"}


def test_scorer_is_a_scorer_of_users():
    rng = np.random.default_rng(0)
    rows = [
        (u, int(i), t)
        for u in range(10)
        for t, i in enumerate(rng.permutation(N_ITEMS)[: 3 + u % 4])
    ]
    df = pd.DataFrame(rows, columns=[USER_COL, ITEM_COL, TIMESTAMP_COL])
    split = next_item_split(df, n_users=12, n_items=N_ITEMS)  # users 10, 11: none
    set_seed(0, deterministic=False)
    model = SASRec(SASRecConfig.tiny(n_items=N_ITEMS, max_len=8))
    scorer = next_item_scorer(split, model, "test", max_len=8, chunk_size=2)
    assert isinstance(scorer, NextItemScorer) and isinstance(scorer, Scorer)
    assert (scorer.n_users, scorer.n_items) == (12, N_ITEMS) and "test" in repr(scorer)
    users, seq = split.inputs("test", 8)
    scores = scorer.score(users)
    assert scores.dtype == torch.float32 and scores.shape == (10, N_ITEMS)
    assert torch.allclose(scores, model.score_last(seq), atol=1e-6)
    assert torch.equal(scorer.score(users, items=[3, 0]), scores[:, [3, 0]])
    assert scorer.score(np.array([], dtype=np.int64)).shape == (0, N_ITEMS)
    # evaluation and recommendation take it like any recommender
    history = split.history("test")
    result = evaluate_full(scorer, history, split.targets("test"), k=3)
    same = evaluate_next_item(split, model, "test", max_len=8, k=3)
    assert result.metrics == same.metrics
    assert np.array_equal(result.top_items, same.top_items)
    rec = scorer.recommend(users, k=2, exclude=history)
    seen = set(zip(history[USER_COL], history[ITEM_COL], strict=True))
    assert not any(
        (u, i) in seen for u, row in zip(users, rec.items, strict=True) for i in row
    )
    with pytest.raises(ValueError, match="user 10 has no test target"):
        scorer.score([10])
    with pytest.raises(ValueError, match="holds id 12"):
        scorer.score([12])
    with pytest.raises(TypeError, match="integer ids"):
        scorer.score([0.5])
    with pytest.raises(TypeError, match="does not train"):
        scorer.fit(history, 12, N_ITEMS)
    with pytest.raises(TypeError, match="score_last"):
        NextItemScorer(object(), users, seq, 12, N_ITEMS)
    with pytest.raises(ValueError, match="one left-padded row per user"):
        NextItemScorer(model, users[:3], seq, 12, N_ITEMS)
