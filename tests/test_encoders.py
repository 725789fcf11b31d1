import importlib.util
import os
import sys
import types

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib import encoders
from recsys_lib.encoders import (
    MINILM_DIM,
    MINILM_INSTALL,
    MINILM_PACKAGE,
    MiniLMTextEncoder,
    SmallCNN,
    TfidfTextEncoder,
    TimeSeriesEncoder,
    embed_images,
    minilm_model_path,
    time_series_features,
    time_series_windows,
    train_image_encoder,
)

HAVE_MINILM = importlib.util.find_spec(MINILM_PACKAGE) is not None

TEXTS = [
    "Slim black wool coat with a classic collar",
    "Relaxed cream cotton t-shirt for summer",
    "Bold red leather ankle boots",
    "Classic black wool overcoat, slim fit",
]


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: torch's thread pool only adds overhead (and jitter on a busy machine).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------ TF-IDF
def test_tfidf_fit_transform_and_svd():
    enc = TfidfTextEncoder(ngram_range=(1, 1))
    X = enc.fit_transform(TEXTS)
    assert X.shape == (4, enc.dim) and X.dtype == np.float32
    assert "wool" in enc.vocabulary
    sims = X @ X.T
    assert sims[0, 3] > sims[0, 1]  # the two wool coats share words
    Y = enc.transform(["a wool coat", "completely unseen words"])
    assert Y.shape == (2, enc.dim) and Y[1].sum() == 0  # unseen words are ignored
    lsa = TfidfTextEncoder(svd_dim=2).fit(TEXTS)
    assert lsa.transform(TEXTS).shape == (4, 2) and lsa.dim == 2


def test_tfidf_bad_input():
    with pytest.raises(RuntimeError, match="not fitted"):
        TfidfTextEncoder().transform(TEXTS)
    with pytest.raises(TypeError, match="single string"):
        TfidfTextEncoder().fit("one text")
    with pytest.raises(TypeError, match=r"texts\[1\] is None"):
        TfidfTextEncoder().fit(["ok", None])
    with pytest.raises(TypeError, match=r"texts\[0\] is nan"):
        TfidfTextEncoder().fit(pd.Series([np.nan, "x"]))
    with pytest.raises(ValueError, match="empty"):
        TfidfTextEncoder().fit([])
    with pytest.raises(ValueError, match="svd_dim"):
        TfidfTextEncoder(svd_dim=500).fit(TEXTS)


# ------------------------------------------------------------------ MiniLM
def test_minilm_missing_package_gives_pip_command(monkeypatch):
    monkeypatch.setattr(encoders, "_MODELS", {})
    monkeypatch.setitem(sys.modules, MINILM_PACKAGE, None)  # import now fails
    enc = MiniLMTextEncoder()
    with pytest.raises(ImportError) as info:
        enc.encode(["a dress"])
    assert MINILM_INSTALL in str(info.value)
    assert "torch==2.13.0" in str(info.value)


def test_minilm_incomplete_package_is_an_error_not_a_download(monkeypatch, tmp_path):
    fake = types.ModuleType(MINILM_PACKAGE)
    fake.get_model_path = lambda: tmp_path  # an empty folder
    monkeypatch.setattr(encoders, "_MODELS", {})
    monkeypatch.setitem(sys.modules, MINILM_PACKAGE, fake)
    with pytest.raises(RuntimeError, match="model.safetensors"):
        minilm_model_path()
    with pytest.raises(RuntimeError, match="reinstall"):
        MiniLMTextEncoder().encode(["a dress"])


@pytest.mark.skipif(
    not HAVE_MINILM,
    reason=f"needs the pretrained model package: {MINILM_INSTALL}",
)
def test_minilm_real_model_paraphrases_deterministic_cached():
    enc = MiniLMTextEncoder(batch_size=4, cache=True)
    texts = [
        "A woman is wearing a red summer dress.",
        "A lady wears a red dress for the summer.",
        "The quarterly earnings report was delayed.",
    ]
    E = enc.encode(texts)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert E.shape == (3, MINILM_DIM) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, rtol=1e-5)
    sims = E @ E.T
    assert sims[0, 1] > 0.7 > 0.3 > sims[0, 2]
    assert sims[0, 1] > sims[0, 2] + 0.4 and sims[1, 0] > sims[1, 2] + 0.4
    # cache: each distinct text encoded once, repeated calls identical
    assert enc.cache_size == 3
    np.testing.assert_array_equal(enc.encode([texts[2], texts[0]]), E[[2, 0]])
    # determinism without the cache
    fresh = MiniLMTextEncoder(batch_size=4, cache=False)
    np.testing.assert_array_equal(fresh.encode(texts), fresh.encode(texts))
    np.testing.assert_allclose(fresh.encode(texts), E, atol=1e-5)


# ------------------------------------------------------------------ images
def fake_images(n_per_class=20, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    template = rng.integers(0, 200, (n_classes, 28, 28))
    images = template[labels] + rng.integers(0, 56, (labels.size, 28, 28))
    return images.astype(np.uint8), labels


def test_small_cnn_shapes_and_bad_input():
    torch.manual_seed(0)
    net = SmallCNN(embedding_dim=8, n_classes=4)
    images, _ = fake_images(2)
    assert net.embed(images).shape == (8, 8)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 4)
    with pytest.raises(ValueError, match="shape"):
        net(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="nan"):
        net(torch.full((1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        net(torch.rand(0, 28, 28))
    with pytest.raises(TypeError, match="uint8"):
        net(torch.ones(1, 28, 28, dtype=torch.int64))


def test_train_image_encoder_learns_and_is_deterministic():
    images, labels = fake_images()
    a = train_image_encoder(
        images, labels, epochs=10, seed=3, embedding_dim=8, batch_size=16
    )
    b = train_image_encoder(
        images, labels, epochs=10, seed=3, embedding_dim=8, batch_size=16
    )
    assert a.embeddings.shape == (len(labels), 8) and a.embeddings.dtype == np.float32
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert a.train_accuracy > 0.9  # four very different templates
    assert a.history.epochs == 10 and not a.model.training
    again = embed_images(a.model, images, batch_size=7)
    np.testing.assert_allclose(again, a.embeddings, atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        train_image_encoder(images, labels[:-1])
    with pytest.raises(ValueError, match="single class"):
        train_image_encoder(images, np.zeros_like(labels))


# ------------------------------------------------------------------ time series
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


def test_minilm_weights_other_than_the_published_ones_are_refused(monkeypatch):
    pytest.importorskip(MINILM_PACKAGE)
    monkeypatch.setattr(encoders, "_VERIFIED", set())
    monkeypatch.setattr(encoders, "_MODELS", {})
    monkeypatch.setattr(encoders, "MINILM_SAFETENSORS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="sha256 .* expected 0{64}"):
        minilm_model_path()
