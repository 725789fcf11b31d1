"""Tests of recsys_lib.serving.distributed: DDP training of the ranker (gloo, CPU)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from recsys_lib.models import RankerConfig
from recsys_lib.serving.distributed import save_training_data, train_ranker_ddp

N_USERS, N_ITEMS, N = 20, 15, 640


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    cfg = RankerConfig.tiny(N_USERS, N_ITEMS, context_dim=0, dropout=0.1)
    return save_training_data(
        tmp_path / "train.npz",
        rng.integers(0, N_USERS, N),
        rng.integers(0, N_ITEMS, N),
        rng.random(N) < 0.3,
        rng.normal(size=(N_USERS, 3)),
        rng.normal(size=(N_ITEMS, 5)),
        cfg,
    )


def test_one_process_run_is_reproducible(data):
    a = train_ranker_ddp(data, epochs=2, global_batch=128, seed=1)
    b = train_ranker_ddp(data, epochs=2, global_batch=128, seed=1)
    assert a["world_size"] == 1 and a["steps_per_epoch"] == N // 128
    assert a["epoch_loss"] == b["epoch_loss"]
    assert a["epoch_loss"][1] < a["epoch_loss"][0]  # it learns


def test_two_processes_follow_the_one_process_curve(data, tmp_path):
    one = train_ranker_ddp(data, epochs=2, global_batch=128, seed=0)
    out = tmp_path / "two.json"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        "--nproc_per_node=2", "-m", "recsys_lib.serving.distributed",
        "--data", str(data), "--out", str(out), "--epochs", "2",
        "--global-batch", "128", "--seed", "0",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    two = json.loads(out.read_text())
    assert two["world_size"] == 2
    np.testing.assert_allclose(two["epoch_loss"], one["epoch_loss"], atol=1e-6)


def test_bad_input(data, tmp_path):
    with pytest.raises(ValueError, match="larger than the data"):
        train_ranker_ddp(data, global_batch=N + 1)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        train_ranker_ddp(data, epochs=0)
    with pytest.raises(TypeError, match="config must be a RankerConfig"):
        save_training_data(tmp_path / "x.npz", [0], [0], [1.0], [[0.0]], [[0.0]], {})
    cfg = RankerConfig.tiny(N_USERS, N_ITEMS, context_dim=0)
    with pytest.raises(ValueError, match="one length"):
        save_training_data(
            tmp_path / "x.npz", [0, 1], [0], [1.0], [[0.0]], [[0.0]], cfg
        )
