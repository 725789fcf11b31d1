import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.features.timeseries import (
    TimeSeriesEncoder,
    time_series_features,
    time_series_windows,
)


def history():
    """Item 0: 30 days, units = 2 * day, promo on days 20..29; item 1 launches on day 25."""
    days0 = np.arange(30)
    days1 = np.arange(25, 30)
    return pd.DataFrame(
        {
            "item_id": np.r_[np.zeros(30, int), np.ones(5, int)],
            "day": np.r_[days0, days1],
            "units_sold": np.r_[2 * days0, np.full(5, 3)],
            "on_promo": np.r_[days0 >= 20, np.zeros(5, bool)],
            "discount": np.r_[np.where(days0 >= 20, 0.2, 0.0), np.zeros(5)],
        }
    )


def test_time_series_features_by_hand():
    f = time_series_features(history(), lags=(1, 7), windows=(7, 28))
    assert list(f.index) == [0, 1]
    row = f.loc[0]
    assert row["lag_1"] == 58 and row["lag_7"] == 46
    assert row["mean_7"] == pytest.approx(52.0)
    assert row["trend_28"] == pytest.approx(2.0)
    assert row["promo_share_28"] == pytest.approx(10 / 28)
    assert row["discount"] == pytest.approx(0.2) and row["n_days"] == 30
    new = f.loc[1]  # 5 days of history: what needs more is nan, never invented
    assert new["lag_1"] == 3 and np.isnan(new["lag_7"]) and np.isnan(new["mean_7"])
    assert np.isnan(new["trend_28"]) and new["n_days"] == 5
    past = time_series_features(history(), lags=(1,), windows=(7,), as_of_day=9)
    assert past.loc[0, "lag_1"] == 18 and past.loc[1, "n_days"] == 0


def test_time_series_bad_history():
    h = history()
    with pytest.raises(ValueError, match="duplicate"):
        time_series_features(pd.concat([h, h.iloc[:1]]))
    with pytest.raises(ValueError, match="contiguous"):
        time_series_features(h.drop(index=5))
    with pytest.raises(ValueError, match="lacks column"):
        time_series_features(h.drop(columns="units_sold"))
    with pytest.raises(ValueError, match="nan"):
        time_series_features(h.assign(units_sold=np.where(h.day == 3, np.nan, 1.0)))
    with pytest.raises(ValueError, match="empty"):
        time_series_features(h.iloc[:0])


def test_time_series_windows_and_encoder():
    w = time_series_windows(history(), window=7)
    assert w.values.shape == (2, 7, 4) and w.channels[-1] == "observed"
    np.testing.assert_array_equal(w.item_ids, [0, 1])
    np.testing.assert_allclose(w.values[0, -1, 0], np.log1p(58))
    np.testing.assert_array_equal(w.values[1, :, 3], [0, 0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(w.values[1, :2], 0)  # before launch: explicit zeros
    x = torch.from_numpy(w.values)
    for kind in ("conv", "gru"):
        torch.manual_seed(0)
        enc = TimeSeriesEncoder(n_channels=4, dim=5, hidden=8, kind=kind)
        assert enc(x).shape == (2, 5)
    with pytest.raises(ValueError, match="shape"):
        enc(x[:, :, :3])
    with pytest.raises(ValueError, match="nan"):
        enc(torch.full((1, 7, 4), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        enc(x[:0])
    with pytest.raises(ValueError, match="kind"):
        TimeSeriesEncoder(4, kind="lstm")
