import math

import matplotlib

matplotlib.use("Agg")  # tests only: no display; notebooks keep the inline backend

import pytest
import torch
from torch import nn

from recsys_lib.training import History, fit, plot_history
from recsys_lib.utils import set_seed


def _regression(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)
    return x, y


def _loader(x, y, batch=32):
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]


def _mse(model, batch):
    xb, yb = batch
    return nn.functional.mse_loss(model(xb).squeeze(-1), yb)


def test_fit_learns_and_records_history():
    set_seed(0)
    x, y = _regression()
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def val(m):
        return _mse(m, (x, y)).item()

    hist = fit(
        model, _loader(x, y), _mse, opt, epochs=20, val_fn=val, show_progress=False
    )
    assert hist.epochs == 20 and len(hist.val) == 20 and len(hist.epoch_seconds) == 20
    assert hist.train_loss[-1] < hist.train_loss[0] / 10
    assert hist.best_val == min(hist.val) < 0.05
    assert hist.val[hist.best_epoch - 1] == hist.best_val
    assert not model.training  # left in eval mode


def test_fit_is_deterministic_with_a_seed():
    x, y = _regression()
    runs = []
    for _ in range(2):
        set_seed(5)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        runs.append(
            fit(
                model, _loader(x, y), _mse, opt, epochs=3, show_progress=False
            ).train_loss
        )
    assert runs[0] == runs[1]


def test_validation_runs_in_eval_mode_without_grad():
    x, y = _regression(64)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    seen = {}

    def val(m):
        seen["training"] = m.training
        seen["grad"] = torch.is_grad_enabled()
        return 0.0

    fit(
        model,
        _loader(x, y),
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.01),
        1,
        val_fn=val,
        show_progress=False,
    )
    assert seen == {"training": False, "grad": False}


def test_early_stopping_and_restore_best():
    x, y = _regression(64)
    model = nn.Linear(3, 1)
    values = iter([5.0, 3.0, 4.0, 4.0, 4.0, 1.0])
    snapshots = []

    def val(m):
        snapshots.append(m.weight.detach().clone())
        return next(values)

    hist = fit(
        model,
        _loader(x, y),
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.05),
        6,
        val_fn=val,
        patience=2,
        show_progress=False,
    )
    assert hist.stopped_early and hist.epochs == 4
    assert hist.best_epoch == 2 and hist.best_val == 3.0
    torch.testing.assert_close(model.weight.detach(), snapshots[1])


def test_monitor_max():
    x, y = _regression(64)
    model = nn.Linear(3, 1)
    values = iter([0.1, 0.3, 0.2])
    hist = fit(
        model,
        _loader(x, y),
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.01),
        3,
        val_fn=lambda m: next(values),
        monitor="max",
        show_progress=False,
    )
    assert hist.best_epoch == 2 and hist.best_val == 0.3


def test_tensorboard_logging(tmp_path):
    x, y = _regression(64)
    model = nn.Linear(3, 1)
    fit(
        model,
        _loader(x, y),
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.01),
        2,
        val_fn=lambda m: 1.0,
        log_dir=tmp_path,
        show_progress=False,
    )
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())


def test_nan_loss_is_reported():
    x, y = _regression(64)
    y[10] = float("nan")
    model = nn.Linear(3, 1)
    with pytest.raises(FloatingPointError, match="epoch 1, batch 1"):
        fit(
            model,
            _loader(x, y),
            _mse,
            torch.optim.SGD(model.parameters(), lr=0.01),
            1,
            show_progress=False,
        )


def _ok_args():
    model = nn.Linear(3, 1)
    x, y = _regression(32)
    return dict(
        model=model,
        train_loader=_loader(x, y),
        loss_fn=_mse,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=1,
        show_progress=False,
    )


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"model": "not a model"}, TypeError, "torch.nn.Module"),
        ({"optimizer": None}, TypeError, "torch.optim.Optimizer"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 2.0}, TypeError, "epochs must be an int"),
        ({"epochs": True}, TypeError, "epochs must be an int"),
        ({"monitor": "up"}, ValueError, "monitor"),
        ({"patience": 2}, ValueError, "needs a val_fn"),
        ({"patience": 0, "val_fn": lambda m: 0.0}, ValueError, "patience must be"),
        ({"patience": 1.5, "val_fn": lambda m: 0.0}, TypeError, "patience must be"),
        ({"min_delta": -1.0}, ValueError, "min_delta"),
        ({"train_loader": []}, ValueError, "yielded no batches"),
        (
            {"loss_fn": lambda m, b: torch.ones(2, requires_grad=True)},
            TypeError,
            "scalar tensor",
        ),
    ],
)
def test_bad_arguments(change, error, match):
    args = _ok_args()
    args.update(change)
    with pytest.raises(error, match=match):
        fit(**args)


def test_plot_history():
    hist = History(train_loss=[3.0, 2.0], val=[0.1, 0.2], best_epoch=2, best_val=0.2)
    ax = plot_history(hist, val_label="NDCG@10")
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "training loss"
    ax = plot_history(History(train_loss=[1.0]))
    assert len(ax.get_lines()) == 1
    with pytest.raises(ValueError, match="at least one epoch"):
        plot_history(History())
    assert math.isnan(History().best_val)


def test_progress_bar_shows_the_epoch_where_training_stopped(capsys):
    x, y = _regression(64)
    model = nn.Linear(3, 1)
    values = iter([1.0, 2.0, 3.0, 4.0])
    fit(
        model,
        _loader(x, y),
        _mse,
        torch.optim.SGD(model.parameters(), lr=0.01),
        10,
        val_fn=lambda m: next(values),
        patience=2,
        desc="demo",
    )
    last = capsys.readouterr().err.split("\r")[-1]
    assert "demo" in last and "3/10" in last


# ---------------------------------------------------------------- epoch callbacks (Chapter 9)
def _fit_linear(epochs=4, **kwargs):
    x, y = _regression()
    set_seed(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return fit(
        model,
        _loader(x, y),
        _mse,
        opt,
        epochs=epochs,
        val_fn=lambda m: _mse(m, (x, y)).item(),
        show_progress=False,
        **kwargs,
    )


def test_on_epoch_records_extra_values_and_sees_eval_mode():
    calls = []

    def on_epoch(epoch, model, history):
        calls.append((epoch, model.training, torch.is_grad_enabled(), len(history.val)))
        return {"twice_val": 2 * history.val[-1], "tensor": torch.tensor(1.5)}

    hist = _fit_linear(on_epoch=on_epoch)
    assert calls == [(e, False, False, e) for e in range(1, 5)]
    assert hist.extra["twice_val"] == pytest.approx([2 * v for v in hist.val])
    assert hist.extra["tensor"] == [1.5] * 4
    # the callback changes nothing else: same losses as without it
    assert hist.train_loss == _fit_linear().train_loss


def test_on_epoch_exception_stops_training():
    class Stop(Exception):
        pass

    def stop_at_two(epoch, model, history):
        if epoch == 2:
            raise Stop("enough")

    seen = []
    with pytest.raises(Stop, match="enough"):
        _fit_linear(on_epoch=lambda e, m, h: seen.append(e) or stop_at_two(e, m, h))
    assert seen == [1, 2]


def test_epoch_callback_context_reaches_inner_fits_and_nests():
    from recsys_lib.training import epoch_callback

    outer, inner = [], []
    with epoch_callback(lambda e, m, h: outer.append(e)):
        _fit_linear(epochs=2)
        with epoch_callback(lambda e, m, h: inner.append(e)):
            _fit_linear(epochs=3, on_epoch=lambda e, m, h: inner.append(-e))
    _fit_linear(epochs=2)  # outside the block: no callback
    assert outer == [1, 2, 1, 2, 3]
    assert inner == [-1, 1, -2, 2, -3, 3]  # the explicit on_epoch first


def test_bad_callbacks():
    from recsys_lib.training import epoch_callback

    with pytest.raises(TypeError, match="on_epoch must be a function"):
        _fit_linear(on_epoch=3)
    with pytest.raises(TypeError, match="callback must be a function"):
        with epoch_callback("print"):
            pass
    with pytest.raises(TypeError, match="return None or a dict"):
        _fit_linear(on_epoch=lambda e, m, h: [1.0])
    with pytest.raises(ValueError, match="finite"):
        _fit_linear(on_epoch=lambda e, m, h: {"bad": math.nan})


def test_on_epoch_values_reach_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    hist = _fit_linear(log_dir=tmp_path, on_epoch=lambda e, m, h: {"extra/e": e})
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert {"loss/train", "val", "extra/e"} <= set(acc.Tags()["scalars"])
    assert [s.value for s in acc.Scalars("extra/e")] == [1.0, 2.0, 3.0, 4.0]
    assert [s.value for s in acc.Scalars("val")] == pytest.approx(hist.val)
