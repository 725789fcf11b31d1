"""The assistant: answer a question for a user, or hand off to a person.

Introduced in Chapter 13. :class:`SupportAssistant` puts the pieces together:
``ask(question, user_id)`` matches the question to an intent, hands off when
the confidence is below the threshold (or the shopper asks for a person), and
answers personal intents (tracking, delays, cancelling, history, returns)
from the shopper's own orders. It returns an :class:`Answer`.

Input rules of :meth:`SupportAssistant.ask` (tested):

* ``question`` must be a ``str`` (``TypeError`` otherwise) with some visible
  text (``ValueError`` for an empty or blank string);
* a question longer than ``max_chars`` (500 by default) is **shortened** to
  its first ``max_chars`` characters and the answer carries a note saying so;
* ``user_id=None`` means an anonymous visitor: order questions get the
  generic FAQ answer and an invitation to sign in; an integer that is not a
  user of the shop raises :class:`UnknownUserError` (a ``ValueError``);
  anything else (a string, a float, a bool) raises ``TypeError``.

Privacy rule (tested for every user): the only path from the assistant to
order data is :meth:`OrderBook.orders_of`, which returns the orders of one
user; an answer therefore never contains another user's order ids or products,
and a question that names someone else's order id is told that the order is
not on the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...checks import check_choice, check_int
from .faq_bank import FAQBank
from .handoff import CONFIDENCE_KINDS, confidence
from .orders import ORDER_ID_RE, Order, OrderBook, UnknownUserError

__all__ = ["HANDOFF_TEXT", "Answer", "SupportAssistant"]


@dataclass(frozen=True)
class Answer:
    """What :meth:`SupportAssistant.ask` returns.

    Attributes:
        question: the question as read (shortened if it was too long).
        intent: the best-matching intent, also when the question is handed off.
        confidence: how sure the matcher is (:func:`confidence`, its own units).
        text: the reply shown to the shopper.
        handed_off: ``True`` when a person takes over (low confidence, or the
            shopper asked for one).
        personalized: the text uses the shopper's own orders.
        notes: remarks such as "question shortened".
    """

    question: str
    intent: str | None
    confidence: float
    text: str
    handed_off: bool
    personalized: bool = False
    notes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        flag = "HANDED OFF" if self.handed_off else "answered"
        lines = [
            f"[{flag}] intent={self.intent} confidence={self.confidence:.3f}",
            self.text,
        ]
        lines += [f"(note: {n})" for n in self.notes]
        return "\n".join(lines)


HANDOFF_TEXT = (
    "I'm not sure I understood your question, so I'm passing you to a colleague "
    "from our service team, who will reply here shortly."
)


class SupportAssistant:
    """FAQ answers with a hand-off rule and personal order answers.

    Args:
        bank: the :class:`FAQBank` (for the answers and intent names).
        matcher: a fitted matcher whose ``intents_`` are the bank's intents.
        threshold: answer only when the confidence is at least this (in the
            matcher's units); below it, hand off to a person.
        orders: an :class:`OrderBook`, or ``None`` (then every user is
            treated as anonymous and a ``user_id`` is an error).
        max_chars: longer questions are shortened to this many characters.
        confidence_kind: how the confidence is computed from the intent
            scores (see :func:`confidence`).
    """

    def __init__(self, bank: FAQBank, matcher, threshold: float, orders: OrderBook | None = None,
                 max_chars: int = 500, confidence_kind: str = "best") -> None:  # fmt: skip
        check_choice(confidence_kind, "confidence_kind", CONFIDENCE_KINDS)
        self.confidence_kind = confidence_kind
        if list(getattr(matcher, "intents_", [])) != bank.intent_names:
            raise ValueError(
                "the matcher must be fitted on the bank's intents, in the bank's order"
            )
        if isinstance(threshold, bool) or not isinstance(
            threshold, int | float | np.number
        ):
            raise TypeError(
                f"threshold must be a number, got {type(threshold).__name__}"
            )
        self.bank, self.matcher, self.threshold = bank, matcher, float(threshold)
        self.orders = orders
        self.max_chars = check_int(max_chars, "max_chars", low=1)
        self._names = bank.intent_names
        self._info = bank.intents.set_index("intent").to_dict("index")

    def _check_user(self, user_id):
        if user_id is None:
            return None
        if isinstance(user_id, bool) or not isinstance(user_id, int | np.integer):
            raise TypeError(
                f"user_id must be an int or None, got {type(user_id).__name__}: {user_id!r}"
            )
        if self.orders is None:
            raise ValueError("this assistant has no order data; ask with user_id=None")
        if not self.orders.has_user(user_id):
            raise UnknownUserError(
                f"no user {user_id!r} in this shop; use user_id=None for an anonymous visitor"
            )
        return int(user_id)

    def ask(self, question: str, user_id: int | None = None, now=None) -> Answer:
        """Answer one question for one user (``None`` = anonymous visitor).

        Raises:
            TypeError: ``question`` is not a ``str``, or ``user_id`` is not an int/None.
            ValueError: ``question`` is empty or blank.
            UnknownUserError: ``user_id`` is not a user of the shop.
        """
        if not isinstance(question, str):
            raise TypeError(
                f"question must be a str, got {type(question).__name__}: {question!r:.60}"
            )
        notes = []
        if not question.strip():
            raise ValueError("question is empty: type a question for the assistant")
        question = question.strip()
        if len(question) > self.max_chars:
            question = question[: self.max_chars]
            notes.append(
                f"your message was longer than {self.max_chars} characters; I read only the start"
            )
        user = self._check_user(user_id)
        scores = self.matcher.intent_scores([question])
        intent = self._names[int(np.argmax(scores[0]))]
        conf = float(confidence(scores, self.confidence_kind)[0])
        if conf < self.threshold:
            return Answer(
                question, intent, conf, HANDOFF_TEXT, True, False, tuple(notes)
            )
        info = self._info[intent]
        if intent == "human_agent":
            return Answer(
                question, intent, conf, info["answer"], True, False, tuple(notes)
            )
        if not info["personal"]:
            return Answer(
                question, intent, conf, info["answer"], False, False, tuple(notes)
            )
        if user is None:
            text = f"{info['answer']} Sign in and ask again to see your own orders."
            return Answer(question, intent, conf, text, False, False, tuple(notes))
        now = self.orders.now if now is None else pd.Timestamp(now)
        text = _personal_text(intent, self.orders.orders_of(user, now), now, question)
        return Answer(question, intent, conf, text, False, True, tuple(notes))


def _fmt_day(ts: pd.Timestamp) -> str:
    return f"{ts.day} {ts.strftime('%b %Y')}"


def _describe(order: Order, now: pd.Timestamp) -> str:
    things = ", ".join(f"'{t}'" for t in order.titles[:3])
    if len(order.titles) > 3:
        things += f" and {len(order.titles) - 3} more"
    status = order.status(now)
    placed = _fmt_day(order.placed)
    if status == "processing":
        state = "is being packed and has not left our warehouse yet"
    elif status == "in transit":
        state = f"is on its way with {order.carrier}, expected on {_fmt_day(order.expected)}"
    elif status == "delayed":
        state = (
            f"is delayed: {order.carrier} promised {_fmt_day(order.expected)} and now expects "
            f"{_fmt_day(order.delivered)}"
        )
    else:
        state = f"was delivered by {order.carrier} on {_fmt_day(order.delivered)}"
    return (
        f"order {order.order_id} of {placed} ({things}, EUR {order.total:.2f}) {state}"
    )


def _personal_text(
    intent: str, orders: list[Order], now: pd.Timestamp, question: str
) -> str:
    """The reply to a personal intent, built from ONE user's orders only."""
    own = {o.order_id: o for o in orders}
    asked = [f"SO-{m}" for m in ORDER_ID_RE.findall(question)]
    foreign = [a for a in asked if a not in own]
    if foreign:
        return (
            f"I can't find order {foreign[0]} on your account. For your security I can only "
            "show orders placed with the account you are signed in with."
        )
    if not orders:
        return "I don't see any orders on your account yet. If you ordered as a guest, sign in with the same email."
    target = own[asked[0]] if asked else orders[0]
    if intent == "track_order":
        return f"Your {_describe(target, now)}."
    if intent == "order_delayed":
        status = target.status(now)
        if status == "delayed":
            return f"Sorry: your {_describe(target, now)}. We have asked the carrier to hurry."
        return (
            f"Good news, your latest order is not late: your {_describe(target, now)}."
        )
    if intent == "cancel_order":
        if target.status(now) == "processing":
            return f"Your {_describe(target, now)}, so it can still be cancelled: confirm under Account > Orders."
        return (
            f"Your {_describe(target, now)}, so it can no longer be cancelled; "
            "you can return it for free within 30 days of delivery."
        )
    if intent == "order_history":
        shown = orders[:3]
        lines = "; ".join(_describe(o, now) for o in shown)
        more = (
            f" ({len(orders) - 3} older orders under Account > Orders)"
            if len(orders) > 3
            else ""
        )
        return f"Your last {len(shown)} order(s): {lines}{more}."
    if intent == "return_item":
        open_ = [
            o
            for o in orders
            if o.status(now) == "delivered"
            and now - o.delivered <= pd.Timedelta(days=30)
        ]
        if not open_:
            return (
                "None of your delivered orders is within the 30-day return window. "
                "Orders still on their way can be returned once they arrive."
            )
        names = "; ".join(
            f"{o.order_id} ({', '.join(repr(t) for t in o.titles[:3])})"
            for o in open_[:3]
        )
        return f"You can still return items from: {names}. Start under Account > Orders > Return items."
    raise ValueError(f"no personal answer for intent {intent!r}")  # pragma: no cover
