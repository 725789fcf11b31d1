"""The example of book/adding_a_model.md runs, and the new model meets the contract."""

import re
from pathlib import Path

from recsys_lib.recommender import Recommender

from .contract import check_recommender

PAGE = Path(__file__).resolve().parents[2] / "book" / "adding_a_model.md"


def test_the_page_example_runs_and_follows_the_protocol(capsys):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) == 2, "the page shows the model, then its use"
    space: dict = {}
    for code in blocks:
        exec(compile(code, str(PAGE), "exec"), space)  # noqa: S102
    model, split, top = space["model"], space["split"], space["top"]
    assert isinstance(model, Recommender)
    assert space["result"].best_params["shrink"] in (100.0, 10.0, 0.0)
    assert top.items.shape == (3, 5)
    seen = split.train.groupby("user_id")["item_id"].apply(set)
    for row, user in zip(top.items, [0, 1, 2], strict=True):
        assert not set(row.tolist()) & seen.get(user, set())
    assert space["candidates"].items.shape == (3, 20)
    assert "ndcg@10" in capsys.readouterr().out
    fresh = type(model)(**model.get_params())  # the contract starts unfitted
    check_recommender(fresh, split.train, space["n_users"], space["n_items"])
