"""Training the ranker on several processes with PyTorch DistributedDataParallel.

Introduced in Chapter 12 ("Serving and scaling out"). When one machine is too
slow, training goes to an existing engine, not a home-made one. This module
is a ``torchrun`` script: every process holds a replica of the feature
ranker (Chapter 6), takes its share of each **global** batch, and
:class:`torch.nn.parallel.DistributedDataParallel` averages the gradients
after every backward pass (gloo backend: CPUs, no GPU needed). Because the
loss is a mean over examples (binary cross-entropy, no dropout), ``P``
processes with ``B / P`` examples each compute exactly the gradient of one
process with the whole batch of ``B``: the loss curves agree up to float
rounding, which the chapter checks.

One machine, 2 processes::

    torchrun --standalone --nproc_per_node=2 -m recsys_lib.serving.distributed \\
        --data train.npz --out result.json

A cluster of ``N`` machines (run the same command on each)::

    torchrun --nnodes=N --nproc_per_node=P --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29500 --rdzv-id=ranker1 \\
        -m recsys_lib.serving.distributed --data train.npz --out result.json

:func:`save_training_data` writes the ``--data`` file (data only: no
pickles); rank 0 writes ``--out``: the loss of every epoch, the time per
epoch and the world size.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch

from ..checks import check_int, check_number
from ..models import FeatureMLPRanker, RankerConfig
from ..models.losses import bce_loss

__all__ = ["save_training_data", "train_ranker_ddp"]

_ARRAYS = ("users", "items", "labels", "user_table", "item_table")


def save_training_data(
    path, users, items, labels, user_table, item_table, config
) -> Path:
    """Write the ranker's training data for :func:`train_ranker_ddp` (``.npz``).

    Introduced in Chapter 12.

    Args:
        path: the file to write.
        users, items: int ``(n,)`` ids of the labelled pairs.
        labels: float ``(n,)`` 0/1 clicks.
        user_table, item_table: float feature tables ``(n_users, Fu)``,
            ``(n_items, Fi)``.
        config: the :class:`recsys_lib.models.RankerConfig` (its ``dropout``
            is set to 0 for training: dropout masks would differ between
            processes and break the equivalence).

    Raises:
        TypeError, ValueError: for a bad config or arrays of different lengths.
    """
    if not isinstance(config, RankerConfig):
        raise TypeError(f"config must be a RankerConfig, got {type(config).__name__}")
    arrays = dict(
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.float32),
        user_table=np.asarray(user_table, dtype=np.float32),
        item_table=np.asarray(item_table, dtype=np.float32),
    )
    n = arrays["users"].shape[0]
    if arrays["items"].shape != (n,) or arrays["labels"].shape != (n,) or n == 0:
        raise ValueError(
            "users, items and labels must be non-empty 1-D arrays of one length, got "
            f"{arrays['users'].shape}, {arrays['items'].shape}, {arrays['labels'].shape}"
        )
    cfg = {**config.__dict__, "hidden": list(config.hidden), "dropout": 0.0}
    path = Path(path)
    np.savez(path, config=np.array(json.dumps(cfg)), **arrays)
    return path


def _load(path: Path):
    with np.load(path, allow_pickle=False) as f:
        cfg = RankerConfig(**json.loads(str(f["config"])))
        data = {k: torch.from_numpy(f[k]) for k in _ARRAYS}
    return cfg, data


def train_ranker_ddp(
    data_path,
    epochs: int = 2,
    global_batch: int = 2048,
    lr: float = 2e-3,
    seed: int = 0,
) -> dict:
    """Train the ranker in this process group; return the curve (on every rank).

    Introduced in Chapter 12. Called in each process started by ``torchrun``
    (the process group is initialised from its environment, gloo backend,
    5-minute timeout); without ``torchrun`` it is one process and trains the
    plain model, which is what DDP with one process computes. Every rank draws the same
    permutation per epoch, cuts it into global batches (the last, incomplete
    one is dropped so that every process has the same number of examples) and
    trains on rows ``rank, rank + P, ...`` of each batch.

    Returns:
        ``{"world_size", "epoch_loss" (list), "epoch_seconds" (list),
        "steps_per_epoch"}``; the loss of an epoch is the mean over its
        steps of the global batch's mean loss.

    Raises:
        ValueError: a global batch that the processes cannot share evenly,
            or larger than the data.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    epochs = check_int(epochs, "epochs", low=1)
    global_batch = check_int(global_batch, "global_batch", low=1)
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    # torchrun sets RANK; a plain `python` run (or a notebook) is one process and
    # needs no process group: DDP with one process is the plain model.
    distributed = dist.is_initialized() or "RANK" in os.environ
    started_here = distributed and not dist.is_initialized()
    if started_here:
        dist.init_process_group("gloo", timeout=timedelta(minutes=5))
    try:
        rank, world = (
            (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
        )
        if global_batch % world:
            raise ValueError(
                f"global_batch={global_batch} cannot be shared evenly by {world} processes"
            )
        cfg, data = _load(Path(data_path))
        n = data["users"].shape[0]
        steps = n // global_batch
        if steps == 0:
            raise ValueError(
                f"global_batch={global_batch} is larger than the data ({n} rows)"
            )
        torch.manual_seed(seed)  # the same initial weights on every rank
        model = FeatureMLPRanker(cfg).set_feature_tables(
            data["user_table"], data["item_table"]
        )
        net = DistributedDataParallel(model) if distributed else model
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)  # the same order on every rank
        curve, seconds = [], []
        for _ in range(epochs):
            if distributed:
                dist.barrier()
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen)
            total = torch.zeros(1, dtype=torch.float64)
            net.train()
            for s in range(steps):
                local = perm[s * global_batch : (s + 1) * global_batch][rank::world]
                opt.zero_grad()
                loss = bce_loss(
                    net(data["users"][local], data["items"][local]),
                    data["labels"][local],
                )
                loss.backward()  # DDP averages the gradients of all ranks here
                opt.step()
                total += loss.detach().double()
            if distributed:
                dist.all_reduce(total)  # sum over ranks of the local means
            curve.append(float(total) / world / steps)
            seconds.append(time.perf_counter() - t0)
        return {
            "world_size": world,
            "epoch_loss": curve,
            "epoch_seconds": seconds,
            "steps_per_epoch": steps,
        }
    finally:
        if started_here:
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="torchrun ... -m recsys_lib.serving.distributed",
        description="Train the feature ranker with DistributedDataParallel (gloo).",
    )
    parser.add_argument("--data", required=True, help="file from save_training_data")
    parser.add_argument("--out", required=True, help="JSON result, written by rank 0")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--global-batch", type=int, default=2048)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per process"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = train_ranker_ddp(
        args.data, args.epochs, args.global_batch, args.lr, args.seed
    )
    if int(os.environ.get("RANK", "0")) == 0:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
