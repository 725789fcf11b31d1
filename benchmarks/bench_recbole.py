"""recsys_lib versus RecBole 1.2.1 on ML-100K next-item prediction, at equal wall time.

Introduced in Chapter 7. Trains the same two models in both libraries on the
same leave-last-out split of MovieLens-100K and evaluates by full ranking:

* **SASRec** with full-softmax cross-entropy (RecBole ``loss_type: CE``);
* **BPR-MF** (pairwise loss, one negative per positive, drawn uniformly among
  the items the user has not interacted with).

Each (library, model) pair runs in its own child process, so the peak memory
(maximum RSS, from ``os.wait4``) is that of one run. Every child trains epoch
by epoch, evaluates validation and test NDCG@10 / Recall@10 after each epoch
(evaluation time counts against the budget in both libraries), and stops at
the first epoch end after ``--budget-seconds``. The report prints, side by
side: best-validation-epoch test metrics, best test NDCG@10 seen, wall time,
peak RSS, and the time each library needed to reach the other's best test
NDCG@10.

**RecBole is never a dependency of the book.** The script runs it from its own
virtual environment, ``.cache/recbole-venv`` (created on first use with
``pip install torch==2.13.0 recbole==1.2.1 "numpy<2" "pandas<3"
"setuptools<81"``), with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` because
RecBole 1.2.1 loads its checkpoints with ``torch.load`` defaults of older
PyTorch versions.

**Same data, same split.** Both sides read RecBole's own copy of ML-100K
(``recbole/dataset_example/ml-100k/ml-100k.inter`` in the wheel): all
100,000 ratings are interactions (the value is ignored). RecBole's
``eval_args {split: {LS: valid_and_test}, order: TO, group_by: user, mode:
full}`` sorts all interactions by timestamp with a *stable* sort and, per
user, keeps the last one for test and the one before for validation; our
:func:`recsys_lib.data.next_item_split` does the same (stable sort, ties
keep the file order), so the targets agree for all users except a handful (5 of 943 for
validation, 4 for test in our check) whose events share a timestamp and
whose ties RecBole orders differently; the report prints the agreement.

**Known differences** (documented, not hidden):

* *History masking.* RecBole masks the user's earlier items in full-ranking
  evaluation for general models (BPR) but **not for sequential models**
  (SASRec). We follow it: BPR masked, SASRec unmasked
  (``mask_history=False``). The Chapter 7 notebook shows that masking nearly
  doubles SASRec's NDCG@10 on ML-100K, so compare like with like.
* *Training examples.* RecBole trains SASRec on one example per prefix
  (data augmentation, the loss only at the last position); recsys_lib trains
  every position of a user's sequence in one row. Batch sizes are therefore
  counted in different units (``--rb-batch`` prefixes vs ``--our-batch``
  users); both use Adam with the same learning rate.
* *Negatives for BPR.* Both sides redraw a negative that the user has
  interacted with (``--bpr-negatives exclude``, the default). With
  ``--bpr-negatives uniform`` ours keeps such draws: about 6 % of them are
  then the user's own items, and test NDCG@10 falls from about 0.070 to
  0.058 (see ``benchmarks/RESULTS_recbole.md``).
* *Ties in evaluation* are broken differently (RecBole: ``torch.topk`` over
  its internal ids; ours: ``torch.topk`` over ours); with continuous scores
  ties are rare.

Recorded runs and what they show: ``benchmarks/RESULTS_recbole.md``.

Run::

    python benchmarks/bench_recbole.py                      # 600 s per run (~40 min total)
    python benchmarks/bench_recbole.py --budget-seconds 30 --models sasrec   # smoke test

Options: ``--help``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "recbole-venv"
RECBOLE_PINS = [
    "torch==2.13.0",
    "recbole==1.2.1",
    "numpy<2",
    "pandas<3",
    "setuptools<81",
]
MODELS = ("sasrec", "bpr")


# ---------------------------------------------------------------- helpers
def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv: Path) -> Path:
    """Create the RecBole venv under .cache/ if it is missing; return its python."""
    py = venv_python(venv)
    ok = (
        py.exists()
        and subprocess.run(
            [str(py), "-c", "import recbole, torch"], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        print(
            f"creating RecBole venv in {venv} (one time, a few minutes) ...", flush=True
        )
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *RECBOLE_PINS], check=True
        )
    return py


def recbole_data_dir(py: Path) -> Path:
    """The ml-100k folder shipped inside the RecBole wheel of the venv."""
    out = subprocess.run(
        [
            str(py),
            "-c",
            "import recbole, os; print(os.path.dirname(recbole.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()) / "dataset_example"


def run_child(python: Path, args: list[str], env: dict | None = None) -> dict:
    """Run this script as a child; return its JSON result plus wall time and peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out_path = f.name
    cmd = [str(python), str(Path(__file__).resolve()), *args, "--out", out_path]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {' '.join(cmd)}")
    result = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    # ru_maxrss is in KiB on Linux, bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    result.update(wall_s=wall, peak_rss_mb=usage.ru_maxrss * scale / 2**20)
    return result


def summarize(log: list[dict]) -> dict:
    """Test metrics at the best validation epoch, and the best test NDCG seen."""
    best = max(log, key=lambda r: r["valid_ndcg"])
    return {
        "epochs": len(log),
        "best_epoch": best["epoch"],
        "test_ndcg@10": best["test_ndcg"],
        "test_recall@10": best["test_recall"],
        "max_test_ndcg@10": max(r["test_ndcg"] for r in log),
        "train_s": log[-1]["elapsed"],
    }


def time_to_reach(log: list[dict], target: float) -> float | None:
    for r in log:
        if r["test_ndcg"] >= target:
            return r["elapsed"]
    return None


# ---------------------------------------------------------------- child: recsys_lib
def child_ours(a) -> dict:
    import pandas as pd
    import torch

    sys.path.insert(0, str(ROOT))
    from recsys_lib import set_seed
    from recsys_lib.data import map_ids, next_item_split
    from recsys_lib.eval import evaluate_full
    from recsys_lib.models import SASRec, SASRecConfig, evaluate_next_item
    from recsys_lib.models.losses import next_item_loss_fn

    torch.set_num_threads(a.threads)
    set_seed(a.seed, deterministic=False)
    raw = pd.read_csv(Path(a.data_dir) / "ml-100k" / "ml-100k.inter", sep="\t")
    raw.columns = [c.split(":")[0] for c in raw.columns]
    raw = raw.astype({"user_id": str, "item_id": str})  # RecBole treats ids as tokens
    df, mapper = map_ids(raw[["user_id", "item_id", "timestamp"]])
    split = next_item_split(df)
    targets = {
        "valid": dict(
            zip(
                mapper.user_ids[split.valid_users],
                mapper.item_ids[split.valid_targets],
                strict=True,
            )
        ),
        "test": dict(
            zip(
                mapper.user_ids[split.test_users],
                mapper.item_ids[split.test_targets],
                strict=True,
            )
        ),
    }
    start = time.perf_counter()
    log = []

    if a.model == "sasrec":
        model = SASRec(
            SASRecConfig(
                n_items=split.n_items,
                max_len=a.max_len,
                dim=a.dim,
                n_layers=2,
                n_heads=2,
                dropout=0.2,
            )
        )
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
        loader = split.train_batches(a.max_len, batch_size=a.our_batch, seed=a.seed)
        loss_fn = next_item_loss_fn("ce")

        def train_epoch():
            model.train()
            for batch in loader:
                opt.zero_grad()
                loss_fn(model, batch).backward()
                opt.step()

        def evaluate(part):
            return evaluate_next_item(
                split, model, part, a.max_len, k=10, mask_history=False
            )  # as RecBole does for sequential models

    else:  # BPR-MF
        train = split.train_frame()
        users = torch.from_numpy(train["user_id"].to_numpy().copy())
        items = torch.from_numpy(train["item_id"].to_numpy().copy())
        P = torch.nn.Embedding(split.n_users, a.dim)
        Q = torch.nn.Embedding(split.n_items, a.dim)
        for emb in (P, Q):
            torch.nn.init.xavier_normal_(emb.weight)
        params = list(P.parameters()) + list(Q.parameters())
        opt = torch.optim.Adam(params, lr=a.lr)
        gen = torch.Generator().manual_seed(a.seed)
        seen = torch.zeros(split.n_users, split.n_items, dtype=torch.bool)
        seen[users, items] = True  # training positives, never drawn as negatives

        def train_epoch():
            order = torch.randperm(users.numel(), generator=gen)
            for idx in order.split(a.bpr_batch):
                u, i = users[idx], items[idx]
                j = torch.randint(0, split.n_items, (idx.numel(),), generator=gen)
                if a.bpr_negatives == "exclude":  # redraw negatives the user has
                    bad = seen[u, j]
                    while bad.any():
                        j[bad] = torch.randint(
                            0, split.n_items, (int(bad.sum()),), generator=gen
                        )
                        bad = seen[u, j]
                pu = P(u)
                diff = (pu * Q(i)).sum(1) - (pu * Q(j)).sum(1)
                loss = -torch.nn.functional.logsigmoid(diff).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

        def evaluate(part):
            def score(user_ids):
                with torch.no_grad():
                    return P.weight[torch.as_tensor(user_ids)] @ Q.weight.T

            history = split.history(part)
            return evaluate_full(
                score,
                history,
                split.targets(part),
                k=10,
                n_items=split.n_items,
                users=split.test_users,
            )

    prep_s = time.perf_counter() - start
    start = time.perf_counter()
    for epoch in range(1, 10**6):
        train_epoch()
        v, t = evaluate("valid"), evaluate("test")
        log.append(
            dict(
                epoch=epoch,
                elapsed=time.perf_counter() - start,
                valid_ndcg=v["ndcg@10"],
                test_ndcg=t["ndcg@10"],
                test_recall=t["recall@10"],
            )
        )
        print(f"[ours {a.model}] {log[-1]}", flush=True)
        if log[-1]["elapsed"] >= a.budget_seconds:
            break
    return {
        "log": log,
        "prep_s": prep_s,
        "targets": {
            k: {str(u): str(i) for u, i in v.items()} for k, v in targets.items()
        },
        "n_users": split.n_users,
        "n_items": split.n_items,
    }


# ---------------------------------------------------------------- child: RecBole
class _Budget(Exception):
    pass


def child_recbole(a) -> dict:
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.general_recommender import BPR
    from recbole.model.sequential_recommender import SASRec as RBSASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    torch.set_num_threads(a.threads)
    common = {
        "data_path": a.data_dir,
        "checkpoint_dir": tempfile.mkdtemp(prefix="recbole-ckpt-"),
        "seed": a.seed,
        "reproducibility": False,
        "device": "cpu",
        "use_gpu": False,
        "epochs": 10**6,
        "stopping_step": 10**6,  # the budget stops training, not early stopping
        "eval_step": 1,
        "learning_rate": a.lr,
        "eval_args": {
            "split": {"LS": "valid_and_test"},
            "order": "TO",
            "group_by": "user",
            "mode": "full",
        },
        "metrics": ["Recall", "NDCG"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        "eval_batch_size": 4096,
        "show_progress": False,
        "log_wandb": False,
    }
    if a.model == "sasrec":
        model_cls, extra = (
            RBSASRec,
            {
                "train_neg_sample_args": None,
                "loss_type": "CE",
                "MAX_ITEM_LIST_LENGTH": a.max_len,
                "hidden_size": a.dim,
                "inner_size": a.dim,
                "n_layers": 2,
                "n_heads": 2,
                "hidden_dropout_prob": 0.2,
                "attn_dropout_prob": 0.0,
                "train_batch_size": a.rb_batch,
            },
        )
    else:
        model_cls, extra = (
            BPR,
            {
                "embedding_size": a.dim,
                "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1},
                "train_batch_size": a.bpr_batch,
            },
        )
    start = time.perf_counter()
    config = Config(model=model_cls, dataset="ml-100k", config_dict={**common, **extra})
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    model = model_cls(config, train_data.dataset)
    trainer = Trainer(config, model)
    prep_s = time.perf_counter() - start

    # the targets, in raw tokens, to check that both sides use the same split
    targets = {}
    for part, data in (("valid", valid_data), ("test", test_data)):
        ds = data.dataset
        u = ds.id2token(ds.uid_field, ds.inter_feat[ds.uid_field].numpy())
        i = ds.id2token(ds.iid_field, ds.inter_feat[ds.iid_field].numpy())
        targets[part] = {str(a_): str(b_) for a_, b_ in zip(u, i, strict=True)}

    log = []
    start = time.perf_counter()

    def callback(epoch_idx, valid_score):
        test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
        log.append(
            dict(
                epoch=epoch_idx + 1,
                elapsed=time.perf_counter() - start,
                valid_ndcg=float(valid_score),
                test_ndcg=float(test["ndcg@10"]),
                test_recall=float(test["recall@10"]),
            )
        )
        print(f"[recbole {a.model}] {log[-1]}", flush=True)
        if log[-1]["elapsed"] >= a.budget_seconds:
            raise _Budget

    try:
        trainer.fit(
            train_data, valid_data, verbose=False, saved=False, callback_fn=callback
        )
    except _Budget:
        pass
    return {
        "log": log,
        "prep_s": prep_s,
        "targets": targets,
        "n_users": dataset.user_num - 1,  # RecBole reserves id 0 for padding
        "n_items": dataset.item_num - 1,
    }


# ---------------------------------------------------------------- parent
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget-seconds", type=float, default=600.0)
    p.add_argument("--models", default="sasrec,bpr", help="comma-separated: sasrec,bpr")
    p.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    p.add_argument("--max-len", type=int, default=200)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--our-batch", type=int, default=64, help="users per SASRec batch")
    p.add_argument(
        "--rb-batch", type=int, default=256, help="RecBole prefixes per batch"
    )
    p.add_argument("--bpr-batch", type=int, default=2048)
    p.add_argument(
        "--bpr-negatives",
        choices=["exclude", "uniform"],
        default="exclude",
        help="ours: redraw negatives the user has (RecBole's sampler) or keep uniform",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--venv", type=Path, default=VENV)
    # internal (child mode)
    p.add_argument("--child", choices=["ours", "recbole"], help=argparse.SUPPRESS)
    p.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args()

    if a.child:
        result = (child_ours if a.child == "ours" else child_recbole)(a)
        Path(a.out).write_text(json.dumps(result))
        return

    models = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            p.error(f"unknown model {m!r}; choose from {MODELS}")
    rb_python = ensure_venv(a.venv)
    data_dir = recbole_data_dir(rb_python)
    shared = [
        "--budget-seconds", str(a.budget_seconds), "--threads", str(a.threads),
        "--max-len", str(a.max_len), "--dim", str(a.dim), "--lr", str(a.lr),
        "--our-batch", str(a.our_batch), "--rb-batch", str(a.rb_batch),
        "--bpr-batch", str(a.bpr_batch), "--seed", str(a.seed),
        "--bpr-negatives", a.bpr_negatives,
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    env_rb = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONPATH": ""}
    print(
        f"ML-100K leave-last-out, full ranking; budget {a.budget_seconds:.0f} s per run, "
        f"{a.threads} torch thread(s), lr {a.lr}, dim {a.dim}, max_len {a.max_len}"
    )
    for m in models:
        ours = run_child(
            Path(sys.executable), ["--child", "ours", "--model", m, *shared]
        )
        rb = run_child(rb_python, ["--child", "recbole", "--model", m, *shared], env_rb)
        same = {
            part: sum(
                ours["targets"][part].get(u) == i
                for u, i in rb["targets"][part].items()
            )
            for part in ("valid", "test")
        }
        s_o, s_r = summarize(ours["log"]), summarize(rb["log"])
        reach_o = time_to_reach(ours["log"], s_r["max_test_ndcg@10"])
        reach_r = time_to_reach(rb["log"], s_o["max_test_ndcg@10"])
        fmt = lambda x: "never" if x is None else f"{x:.1f}"  # noqa: E731
        print(
            f"\n== {m.upper()} ==  users with the same target in both libraries: "
            f"valid {same['valid']}/{len(rb['targets']['valid'])}, "
            f"test {same['test']}/{len(rb['targets']['test'])}"
        )
        rows = [
            ("epochs run", s_o["epochs"], s_r["epochs"]),
            ("best valid epoch", s_o["best_epoch"], s_r["best_epoch"]),
            ("test NDCG@10 (best valid epoch)", f"{s_o['test_ndcg@10']:.4f}", f"{s_r['test_ndcg@10']:.4f}"),
            ("test Recall@10 (best valid epoch)", f"{s_o['test_recall@10']:.4f}", f"{s_r['test_recall@10']:.4f}"),
            ("max test NDCG@10 seen", f"{s_o['max_test_ndcg@10']:.4f}", f"{s_r['max_test_ndcg@10']:.4f}"),
            ("data preparation (s)", f"{ours['prep_s']:.1f}", f"{rb['prep_s']:.1f}"),
            ("training + evaluation (s)", f"{s_o['train_s']:.1f}", f"{s_r['train_s']:.1f}"),
            ("child wall time (s)", f"{ours['wall_s']:.1f}", f"{rb['wall_s']:.1f}"),
            ("peak RSS (MiB)", f"{ours['peak_rss_mb']:.0f}", f"{rb['peak_rss_mb']:.0f}"),
            ("time to reach the other's max NDCG@10 (s)", fmt(reach_o), fmt(reach_r)),
        ]  # fmt: skip
        print(f"{'':44s}{'recsys_lib':>12s}{'RecBole':>12s}")
        for name, x, y in rows:
            print(f"{name:44s}{x!s:>12s}{y!s:>12s}")
        if m == "sasrec":
            print("(SASRec: history NOT masked on both sides, RecBole's convention)")


if __name__ == "__main__":
    main()
