"""The FAQ bank: 72 shop intents, questions rendered from them, and chit-chat.

Introduced in Chapter 13. A shop's help desk gets the same few dozen
questions phrased in thousands of ways. :func:`make_faq_bank` builds the data
to test an FAQ assistant on: 72 e-commerce *intents* (orders, shipping,
returns, refunds, payments, accounts, sizes, promotions, products, privacy,
contact), each with a canonical question, the shop's answer and seven
hand-written *phrasings* (different words for the same request). Questions
are rendered from a phrasing and a *template* ("how do I ...?", "hi there,
I'm trying to ..."), with seeded synonym swaps and typos. The split is **by
phrasing and by template**: test questions use phrasings and templates that
never occur in training, so a matcher cannot pass by remembering surface
forms. Out-of-scope chit-chat comes from the ``chatterbot-corpus`` package (a
generated fallback exists).

The intents, templates and synonyms are data, not code: they live in
``faq_bank.yaml`` next to this module (installed with the package).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml  # PyYAML (pinned): reads faq_bank.yaml and the chatterbot corpus

from ...checks import check_choice, check_int, check_number

__all__ = [
    "INTENTS",
    "TOPICS",
    "FAQBank",
    "Intent",
    "make_faq_bank",
    "normalize_text",
    "out_of_scope_questions",
]


@dataclass(frozen=True)
class Intent:
    """One thing shoppers ask about.

    Attributes:
        name: identifier, e.g. ``"track_order"``.
        topic: one of :data:`TOPICS`.
        question: the canonical question shown on the FAQ page.
        answer: the shop's answer (for personal intents: the answer given to a
            visitor who is not signed in).
        phrasings: different wordings of the request. A phrasing that starts
            with ``"Q:"`` is a full question (rendered with question
            templates); the others are verb phrases such as ``"track my
            order"`` (rendered with templates like ``"how do I {vp}?"``).
        personal: the answer depends on the user's own orders.
    """

    name: str
    topic: str
    question: str
    answer: str
    phrasings: tuple[str, ...]
    personal: bool = False


def _load_data() -> dict:
    """The intents, templates and synonyms of ``faq_bank.yaml``."""
    text = resources.files(__package__).joinpath("faq_bank.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C parser when built
    return yaml.load(text, Loader=loader)  # a safe loader: plain data only


_DATA = _load_data()

#: The 72 intents, in a fixed order (the order of every score matrix's columns).
INTENTS: tuple[Intent, ...] = tuple(
    Intent(
        d["name"],
        d["topic"],
        d["question"],
        d["answer"],
        tuple(d["phrasings"]),
        bool(d.get("personal", False)),
    )
    for d in _DATA["intents"]
)
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(i.topic for i in INTENTS))

# Templates. Training questions use the first list of each kind, validation and
# test questions the second ("held out"), so that a test question never shares
# its template -- nor its phrasing -- with a training question.
_VP_TEMPLATES = tuple(tuple(_DATA["templates"]["vp"][p]) for p in ("train", "held_out"))
_Q_TEMPLATES = tuple(tuple(_DATA["templates"]["q"][p]) for p in ("train", "held_out"))
# Safe word swaps (same meaning in every intent), applied at random.
_SYNONYMS = {word: tuple(swaps) for word, swaps in _DATA["synonyms"].items()}
_TOKEN_RE = re.compile(r"[a-z0-9]+")


def normalize_text(text: str) -> str:
    """Lower case, words and digits only, single spaces: the key for 'same question'."""
    return " ".join(_TOKEN_RE.findall(str(text).lower()))


def _typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip in a word: swap two letters, drop one or double one."""
    k = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(3))
    if kind == 0:
        return word[: k - 1] + word[k] + word[k - 1] + word[k + 1 :]
    if kind == 1:
        return word[:k] + word[k + 1 :]
    return word[:k] + word[k] + word[k:]


def _render(
    phrasing: str,
    template: str,
    rng: np.random.Generator,
    typo_rate: float,
    synonym_rate: float,
) -> str:
    words = phrasing.split(" ")
    out = []
    for w in words:
        core = w.lower()
        if core in _SYNONYMS and rng.random() < synonym_rate:
            swaps = _SYNONYMS[core]
            w = swaps[int(rng.integers(len(swaps)))]
        if len(w) >= 4 and w.isalpha() and rng.random() < typo_rate:
            w = _typo(w, rng)
        out.append(w)
    text = template.format(p=" ".join(out))
    if rng.random() < 0.3:  # people often type in lower case
        text = text.lower()
    text = text[:1].upper() + text[1:] if rng.random() < 0.5 else text
    return text


@dataclass(repr=False)
class FAQBank:
    """The generated FAQ data (see :func:`make_faq_bank`).

    Attributes:
        intents: one row per intent, in a fixed order (the row number is the
            intent's index in every score matrix): ``intent``, ``topic``,
            ``question``, ``answer``, ``personal``.
        train, valid, test: questions with columns ``text``, ``intent``,
            ``topic``, ``phrasing`` (``"intent#k"``: which wording),
            ``template`` (the template string, e.g. ``"how do I {p}?"``) and
            ``kind`` (``"vp"``: verb phrase, ``"q"``: full question).
        oos_valid, oos_test: out-of-scope questions (``text``, ``source``).
        seed: the seed that generated the bank.
        oos_source: ``"chatterbot-corpus"`` or ``"generated"``.
    """

    intents: pd.DataFrame
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    oos_valid: pd.DataFrame
    oos_test: pd.DataFrame
    seed: int
    oos_source: str

    @property
    def intent_names(self) -> list[str]:
        return self.intents["intent"].tolist()

    def intent_index(self, names: Iterable[str]) -> np.ndarray:
        """Row numbers of intent names (``KeyError`` for an unknown name)."""
        pos = {n: k for k, n in enumerate(self.intent_names)}
        return np.array([pos[n] for n in names], dtype=np.int64)

    def known_questions(self, include_answers: bool = True) -> pd.DataFrame:
        """What a matcher may index: the FAQ page and the training questions.

        Columns ``text``, ``intent`` and ``source``: ``"faq"`` (canonical
        questions), ``"answer"`` (the answers, when ``include_answers``; they
        bring extra words such as "Klarna" or "VAT") and ``"train"``.
        """
        canon = self.intents[["question", "intent"]].rename(
            columns={"question": "text"}
        )
        parts = [canon.assign(source="faq")]
        if include_answers:
            answers = self.intents[["answer", "intent"]].rename(
                columns={"answer": "text"}
            )
            parts.append(answers.assign(source="answer"))
        parts.append(self.train[["text", "intent"]].assign(source="train"))
        return pd.concat(parts, ignore_index=True)

    def __repr__(self) -> str:
        return (
            f"FAQBank({len(self.intents)} intents, train={len(self.train)}, valid={len(self.valid)}, "
            f"test={len(self.test)}, out-of-scope valid={len(self.oos_valid)} / test={len(self.oos_test)}, "
            f"seed={self.seed})"
        )


def make_faq_bank(
    seed: int = 0,
    train_renderings: int = 3,
    eval_renderings: int = 3,
    n_valid_phrasings: int = 2,
    n_test_phrasings: int = 2,
    typo_rate: float = 0.05,
    synonym_rate: float = 0.3,
    oos: str = "auto",
    intents: Sequence[Intent] = INTENTS,
) -> FAQBank:
    """Generate the FAQ bank and its train / validation / test split.

    For every intent the phrasings are shuffled (seeded); ``n_test_phrasings``
    go to the test set, ``n_valid_phrasings`` to the validation set, the rest
    to training. Each phrasing is rendered ``train_renderings`` (or
    ``eval_renderings``) times with *different* templates, training questions
    from the training templates and the others from the held-out templates;
    words are swapped for synonyms with probability ``synonym_rate`` and get a
    typo with probability ``typo_rate``. Validation and test share the held-out
    templates but no phrasing. Out-of-scope questions are split in half
    between validation and test.

    Args:
        seed: non-negative int; the same seed gives the same bank.
        oos: ``"auto"`` (chatterbot-corpus when installed, else generated),
            ``"chatterbot"`` or ``"generated"``.

    Raises:
        TypeError, ValueError: for bad arguments, or when an intent has too
            few phrasings for the split.
    """
    seed = check_int(seed, "seed", low=0)
    train_renderings = check_int(train_renderings, "train_renderings", low=1)
    eval_renderings = check_int(eval_renderings, "eval_renderings", low=1)
    n_valid_phrasings = check_int(n_valid_phrasings, "n_valid_phrasings", low=0)
    n_test_phrasings = check_int(n_test_phrasings, "n_test_phrasings", low=1)
    typo_rate = check_number(typo_rate, "typo_rate", low=0.0, high=1.0)
    synonym_rate = check_number(synonym_rate, "synonym_rate", low=0.0, high=1.0)
    max_templates = min(len(t) for pair in (_VP_TEMPLATES, _Q_TEMPLATES) for t in pair)
    if max(train_renderings, eval_renderings) > max_templates:
        raise ValueError(
            f"at most {max_templates} renderings per phrasing (one per template)"
        )
    names = [i.name for i in intents]
    if len(set(names)) != len(names):
        raise ValueError("intent names must be unique")

    split_rng, render_rng, oos_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    rows = {"train": [], "valid": [], "test": []}
    for intent in intents:
        n_ph = len(intent.phrasings)
        if n_ph < n_valid_phrasings + n_test_phrasings + 1:
            raise ValueError(
                f"intent {intent.name!r} has {n_ph} phrasings; the split needs at least "
                f"{n_valid_phrasings + n_test_phrasings + 1}"
            )
        order = split_rng.permutation(n_ph)
        split_of = {}
        for rank, k in enumerate(order):
            split_of[int(k)] = (
                "test"
                if rank < n_test_phrasings
                else "valid"
                if rank < n_test_phrasings + n_valid_phrasings
                else "train"
            )
        for k, phrasing in enumerate(intent.phrasings):
            split = split_of[k]
            kind, text = (
                ("q", phrasing[2:]) if phrasing.startswith("Q:") else ("vp", phrasing)
            )
            templates = (_Q_TEMPLATES if kind == "q" else _VP_TEMPLATES)[
                split != "train"
            ]
            n_render = train_renderings if split == "train" else eval_renderings
            for t in render_rng.choice(len(templates), size=n_render, replace=False):
                rows[split].append(
                    {
                        "text": _render(
                            text, templates[t], render_rng, typo_rate, synonym_rate
                        ),
                        "intent": intent.name,
                        "topic": intent.topic,
                        "phrasing": f"{intent.name}#{k}",
                        "template": templates[t],
                        "kind": kind,
                    }
                )
    frames = {s: pd.DataFrame(r, columns=["text", "intent", "topic", "phrasing", "template", "kind"])
              for s, r in rows.items()}  # fmt: skip
    # A question that normalises to one already seen earlier is dropped, so that
    # no evaluation question also appears in training (or twice).
    seen: set[str] = set()
    for s in ("train", "valid", "test"):
        key = frames[s]["text"].map(normalize_text)
        keep = ~key.isin(seen) & ~key.duplicated()
        seen.update(key[keep])
        frames[s] = frames[s][keep].reset_index(drop=True)

    texts, source = out_of_scope_questions(oos)
    texts = [t for t in texts if normalize_text(t) not in seen]
    perm = oos_rng.permutation(len(texts))
    half = len(texts) // 2
    oos_frames = [
        pd.DataFrame({"text": [texts[k] for k in sorted(idx)], "source": source})
        for idx in (perm[:half], perm[half:])
    ]
    table = pd.DataFrame(
        {
            "intent": names,
            "topic": [i.topic for i in intents],
            "question": [i.question for i in intents],
            "answer": [i.answer for i in intents],
            "personal": [i.personal for i in intents],
        }
    )
    return FAQBank(
        intents=table,
        train=frames["train"],
        valid=frames["valid"],
        test=frames["test"],
        oos_valid=oos_frames[0],
        oos_test=oos_frames[1],
        seed=seed,
        oos_source=source,
    )


# ------------------------------------------------------------ out-of-scope questions

# Words that would make a "chit-chat" line an in-scope shop question; such
# lines are left out of the out-of-scope set.
_SHOP_WORDS = re.compile(
    r"\b(order\w*|deliver\w*|ship\w*|refund\w*|return\w*|pay\w*|price\w*|account\w*|password\w*|"
    r"size\w*|discount\w*|e-?mail\w*|parcel\w*|package\w*|buy\w*|bought|purchas\w*|shop\w*|store\w*|"
    r"money|card\w*|cost\w*|cancel\w*|invoice\w*|login|log in|sign in|coupon\w*|voucher\w*|"
    r"gift\w*|cloth\w*|wear\w*|recommend\w*|data|privacy|cookie\w*|human|person|agent|complain\w*)\b",
    re.IGNORECASE,
)
# chatterbot-corpus English files used as out-of-scope chit-chat. Left out:
# tech_support (computer help desk: "I forgot my password" is in scope here),
# coding and money (payment words), botprofile (questions to the bot itself
# are kept through ai.yml).
_CHATTERBOT_FILES = (
    "ai", "computers", "conversations", "emotion", "food", "gossip", "greetings", "health",
    "history", "humor", "literature", "movies", "politics", "psychology", "science", "sports",
    "trivia",
)  # fmt: skip
_GENERATED_OOS = (
    "what is the weather like in {c} today", "tell me a joke about {t}", "who won the {s} world cup",
    "what is the capital of {c}", "do you like {t}", "what's your favourite {t}",
    "how old is the universe", "can you sing me a song", "what time is it in {c}",
    "are you a robot", "what is the meaning of life", "who wrote {b}", "how do I cook {f}",
    "what is {n} times {n}", "translate hello into {l}", "is it going to rain tomorrow",
    "how tall is the Eiffel tower", "good morning", "I'm bored", "what should I watch tonight",
)  # fmt: skip


def out_of_scope_questions(source: str = "auto") -> tuple[list[str], str]:
    """Questions a shop assistant should *not* answer, and where they came from.

    ``"chatterbot"`` reads the first utterance of every English conversation
    of the ``chatterbot-corpus`` package (BSD licence; needs PyYAML), except the
    files and lines that talk about shop matters (see ``_SHOP_WORDS``);
    ``"generated"`` fills a few chit-chat templates; ``"auto"`` uses the corpus
    when it is installed.

    Returns:
        ``(questions, source_name)``: sorted, unique after :func:`normalize_text`.
    """
    check_choice(source, "source", ("auto", "chatterbot", "generated"))
    have_corpus = importlib.util.find_spec("chatterbot_corpus") is not None
    if source == "chatterbot" and not have_corpus:
        raise ModuleNotFoundError(
            "out-of-scope questions from chatterbot-corpus need the package: "
            "pip install --no-cache-dir chatterbot-corpus==1.3.3"
        )
    lines: list[str] = []
    if source == "generated" or not have_corpus:
        fill = dict(
            c="Paris", t="cats", s="football", b="Hamlet", f="rice", n="7", l="French"
        )
        for k, template in enumerate(_GENERATED_OOS):
            lines.append(template.format(**fill))
            alt = dict(
                c="Tokyo",
                t="music",
                s="rugby",
                b="Dracula",
                f="pasta",
                n=str(k + 3),
                l="Spanish",
            )
            lines.append(template.format(**alt))
        name = "generated"
    else:
        from chatterbot_corpus.corpus import DATA_DIRECTORY

        for stem in _CHATTERBOT_FILES:
            path = Path(DATA_DIRECTORY) / "english" / f"{stem}.yml"
            if not path.is_file():
                continue
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            for conv in doc.get("conversations", []) or []:
                if conv and isinstance(conv[0], str):
                    lines.append(conv[0].strip())
        name = "chatterbot-corpus"
    out, seen = [], set()
    for line in lines:
        key = normalize_text(line)
        if len(key) < 3 or key in seen or _SHOP_WORDS.search(line):
            continue
        seen.add(key)
        out.append(line)
    return sorted(out, key=normalize_text), name
