"""What the web service accepts and returns, as pydantic models.

Introduced in Chapter 12 ("Serving and scaling out"). Validation at the edge
of the service turns every malformed request into a clear ``422`` answer
that names the field, instead of an exception deep inside the model (a
``500``) or, worse, a silently wrong answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_ID",
    "EventBatch",
    "EventIn",
    "EventsStored",
    "Health",
    "ItemOut",
    "Recommendations",
]

#: largest user or item id accepted (SQLite's signed 64-bit integer).
MAX_ID = 2**63 - 1


class EventIn(BaseModel):
    """One logged event: a shopper saw, clicked, carted or bought a product."""

    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=0, le=MAX_ID, description="any id >= 0 (new users too)")
    item_id: int = Field(ge=0, le=MAX_ID, description="a product of the catalog")
    event: Literal["impression", "click", "add_to_cart", "purchase"]
    position: int | None = Field(default=None, ge=0, le=10_000)
    request_id: str | None = Field(default=None, max_length=64)


class EventBatch(BaseModel):
    """Several events, stored in one transaction (all or none)."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventsStored(BaseModel):
    """The answer to ``POST /events``."""

    stored: int
    event_ids: list[int]


class ItemOut(BaseModel):
    """One recommended product as the shop page shows it."""

    item_id: int
    title: str
    category: str
    price: float
    score: float
    image_url: str


class Recommendations(BaseModel):
    """The answer to ``GET /recommend``."""

    request_id: str
    user_id: int
    k: int
    cold_start: bool
    items: list[ItemOut]
    stage_ms: dict[str, float]


class Health(BaseModel):
    """The answer to ``GET /health``."""

    status: Literal["ok"]
    n_users: int
    n_items: int
    events: int
