"""Events in Metarank 0.4.1's format (``src/main/scala/ai/metarank/model/Event.scala`` at 0.4.1),
made here: the real ranklens events are a Git LFS pointer in ``../shared``.

A small shop: items with metadata (every field the bundled example's features read), then
sessions that search, see a ranking of 4 to 16 items and click (and sometimes buy) the ones a hidden
relevance favours: in-stock items of the category the query names, popular and cheap ones. The
clicks depend on the features, so a model trained on them ranks better than chance, and the
same seed always gives the same events.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

CATEGORIES = ("shoes", "apparel", "accessories", "outdoor", "kids")
WORDS = ("red", "trail", "classic", "light", "warm", "soft", "pro", "mini", "urban", "summer", "winter", "sport")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.67 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.5 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.61 Mobile Safari/537.36",
)
START_MS = 1_650_000_000_000


@dataclass(frozen=True)
class Item:
    id: str
    category: str
    title: str
    popularity: float
    price: float
    in_stock: bool
    created_at: int  # unix seconds

    def event(self, ts: int) -> dict[str, Any]:
        return {
            "event": "item",
            "id": f"meta-{self.id}",
            "item": self.id,
            "timestamp": str(ts),
            "fields": [
                {"name": "popularity", "value": self.popularity},
                {"name": "price", "value": self.price},
                {"name": "in_stock", "value": self.in_stock},
                {"name": "category", "value": self.category},
                {"name": "title", "value": self.title},
                {"name": "created_at", "value": self.created_at},
            ],
        }


def make_items(rng: random.Random, count: int) -> list[Item]:
    items = []
    for n in range(count):
        category = CATEGORIES[n % len(CATEGORIES)]
        words = rng.sample(WORDS, 2)
        items.append(
            Item(
                id=f"p{n}",
                category=category,
                title=f"{words[0]} {words[1]} {category}",
                popularity=round(rng.random() * 100, 2),
                price=round(5 + rng.random() * 195, 2),
                in_stock=rng.random() > 0.2,
                created_at=START_MS // 1000 - rng.randrange(1, 400) * 86_400,
            )
        )
    return items


def relevance(item: Item, query_category: str) -> float:
    """The hidden preference behind the clicks."""
    score = 2.0 if item.category == query_category else 0.0
    score += 0.015 * item.popularity - 0.004 * item.price
    score += 0.0 if item.in_stock else -2.5
    return score


def sessions(
    rng: random.Random, items: Sequence[Item], count: int, start_ms: int, tag: str = ""
) -> Iterator[dict[str, Any]]:
    """``count`` sessions: a ranking of 4..16 items, then clicks (and purchases) on the liked ones."""
    ts = start_ms
    for n in range(count):
        ts += rng.randrange(2_000, 20_000)
        user, session = f"u{rng.randrange(count // 3 + 1)}", f"s{tag}{n}"
        category = rng.choice(CATEGORIES)
        # result pages vary in length (a narrow query finds few items): 4..16 shown
        shown = rng.sample(list(items), rng.randint(4, 16))
        ranking_id = f"r{tag}{n}"
        yield {
            "event": "ranking",
            "id": ranking_id,
            "timestamp": str(ts),
            "user": user,
            "session": session,
            "fields": [
                {"name": "query", "value": f"{rng.choice(WORDS)} {category}"},
                {"name": "user_agent", "value": rng.choice(USER_AGENTS)},
            ],
            "items": [{"id": item.id, "relevancy": round(rng.random(), 3)} for item in shown],
        }
        for position, item in enumerate(shown):
            p = 1 / (1 + math.exp(-(relevance(item, category) - 1.5))) * (0.9**position)
            if rng.random() < p:
                ts += rng.randrange(500, 5_000)
                yield {
                    "event": "interaction",
                    "id": f"c{tag}{n}-{item.id}",
                    "item": item.id,
                    "timestamp": str(ts),
                    "ranking": ranking_id,
                    "user": user,
                    "session": session,
                    "type": "click",
                    "fields": [],
                }
                if rng.random() < 0.15:
                    ts += rng.randrange(500, 5_000)
                    yield {
                        "event": "interaction",
                        "id": f"b{tag}{n}-{item.id}",
                        "item": item.id,
                        "timestamp": str(ts),
                        "ranking": ranking_id,
                        "user": user,
                        "session": session,
                        "type": "purchase",
                        "fields": [],
                    }


def history(seed: int = 7, items: int = 60, session_count: int = 600) -> tuple[list[Item], list[dict[str, Any]]]:
    """Item metadata first, then ``session_count`` sessions, timestamps ascending."""
    rng = random.Random(seed)
    catalogue = make_items(rng, items)
    events = [item.event(START_MS + i) for i, item in enumerate(catalogue)]
    events += list(sessions(rng, catalogue, session_count, START_MS + 10_000))
    return catalogue, events


def jsonl(events: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)
