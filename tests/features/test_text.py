import importlib.util
import os
import sys
import types

import numpy as np
import pandas as pd
import pytest

from recsys_lib.features import text
from recsys_lib.features.text import (
    MINILM_DIM,
    MINILM_INSTALL,
    MINILM_PACKAGE,
    MiniLMTextEncoder,
    TfidfTextEncoder,
    minilm_model_path,
)

HAVE_MINILM = importlib.util.find_spec(MINILM_PACKAGE) is not None

TEXTS = [
    "Slim black wool coat with a classic collar",
    "Relaxed cream cotton t-shirt for summer",
    "Bold red leather ankle boots",
    "Classic black wool overcoat, slim fit",
]


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
    monkeypatch.setattr(text, "_MODELS", {})
    monkeypatch.setitem(sys.modules, MINILM_PACKAGE, None)  # import now fails
    enc = MiniLMTextEncoder()
    with pytest.raises(ImportError) as info:
        enc.encode(["a dress"])
    assert MINILM_INSTALL in str(info.value)
    assert "torch==2.13.0" in str(info.value)


def test_minilm_incomplete_package_is_an_error_not_a_download(monkeypatch, tmp_path):
    fake = types.ModuleType(MINILM_PACKAGE)
    fake.get_model_path = lambda: tmp_path  # an empty folder
    monkeypatch.setattr(text, "_MODELS", {})
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


def test_minilm_weights_other_than_the_published_ones_are_refused(monkeypatch):
    pytest.importorskip(MINILM_PACKAGE)
    monkeypatch.setattr(text, "_VERIFIED", set())
    monkeypatch.setattr(text, "_MODELS", {})
    monkeypatch.setattr(text, "MINILM_SAFETENSORS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="sha256 .* expected 0{64}"):
        minilm_model_path()


def test_tfidf_wrong_kinds():
    with pytest.raises(TypeError, match="svd_dim must be an int"):
        TfidfTextEncoder(svd_dim=2.0)
    with pytest.raises(ValueError, match="min_df must be >= 1"):
        TfidfTextEncoder(min_df=0)
    with pytest.raises(TypeError, match="a list of strings"):
        TfidfTextEncoder().fit(42)
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        TfidfTextEncoder().fit(["ok", 3])


def test_minilm_empty_input_needs_no_model(monkeypatch):
    monkeypatch.setattr(text, "_MODELS", {})
    monkeypatch.setitem(sys.modules, MINILM_PACKAGE, None)  # loading would fail
    enc = MiniLMTextEncoder()
    for empty in ([], (), np.array([], dtype=str), pd.Series([], dtype=object)):
        out = enc.encode(empty)
        assert out.shape == (0, MINILM_DIM) and out.dtype == np.float32
    with pytest.raises(TypeError, match="single string"):
        enc.encode("a dress")
    with pytest.raises(TypeError, match=r"texts\[0\] is None, a missing text"):
        enc.encode([None])


def test_minilm_arguments_checked():
    with pytest.raises(TypeError, match="batch_size must be an int"):
        MiniLMTextEncoder(batch_size=8.0)
    with pytest.raises(ValueError, match="max_seq_length must be <= 512"):
        MiniLMTextEncoder(max_seq_length=1000)
    with pytest.raises(TypeError, match="max_seq_length must be an int"):
        MiniLMTextEncoder(max_seq_length=64.0)
    assert "max_seq_length=32" in repr(MiniLMTextEncoder(max_seq_length=32))
    assert repr(MiniLMTextEncoder()).startswith("MiniLMTextEncoder(batch_size=64")


@pytest.mark.skipif(
    not HAVE_MINILM,
    reason=f"needs the pretrained model package: {MINILM_INSTALL}",
)
def test_minilm_max_seq_length_per_call_restores_the_shared_model():
    long_text = "a long and winding description of a red wool coat " * 20
    full = MiniLMTextEncoder(cache=False)
    short = MiniLMTextEncoder(max_seq_length=16)
    shared = text.load_minilm()
    before = shared.max_seq_length
    a, b = full.encode([long_text]), short.encode([long_text])
    assert shared.max_seq_length == before  # restored after the call
    assert np.abs(a - b).max() > 1e-3  # the text was cut at 16 word pieces
    # the cache keeps vectors per length: changing it re-encodes
    short.max_seq_length = None
    np.testing.assert_allclose(short.encode([long_text]), a, atol=1e-5)
    assert short.cache_size == 2
