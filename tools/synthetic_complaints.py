"""Deterministic synthetic flight-complaint records as JSON lines, with a controlled share of bad ones.

Used for the bundled samples (`python -m tools.synthetic_complaints samples/complaints 3000`), the
benchmark and the tests. The same seed always gives the same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

AIRLINES = ("AA", "AF", "BA", "DL", "EK", "IB", "KL", "LH", "LX", "UA")
AIRPORTS = ("AMS", "ATL", "BCN", "CDG", "DXB", "FRA", "JFK", "LHR", "MAD", "ORD", "SFO", "ZRH")
CATEGORIES = ("delay", "cancellation", "baggage", "refund", "service", "overbooking")
PHRASES = (
    "The flight was delayed without any announcement.",
    "My suitcase arrived two days late and damaged.",
    "Staff at the gate were helpful but the rebooking took hours.",
    "I was denied boarding although I had checked in online.",
    "The refund promised on the phone never arrived.",
    "Seat was broken and the crew could not move me.",
)
# Kinds of bad record and how each is made from a good one; the job must quarantine every one.
BAD_KINDS = ("truncated_json", "not_an_object", "wrong_type", "negative_delay", "unknown_airline",
             "bad_flight_number", "missing_filed_at", "rating_out_of_range", "duplicate_id")


def good_record(rng: random.Random, index: int, start: datetime) -> dict:
    filed = start + timedelta(seconds=rng.randrange(0, 3 * 24 * 3600))
    category = rng.choice(CATEGORIES)
    origin, destination = rng.sample(AIRPORTS, 2)
    return {
        "complaint_id": f"C{index:09d}",
        "filed_at": filed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "airline": rng.choice(AIRLINES),
        "flight_number": f"{rng.choice(AIRLINES)}{rng.randrange(1, 9999)}",
        "flight_date": (filed - timedelta(days=rng.randrange(0, 30))).strftime("%Y-%m-%d"),
        "origin": origin,
        "destination": destination,
        "category": category,
        "delay_minutes": rng.randrange(15, 600) if category == "delay" else 0,
        "compensation_eur": round(rng.choice((0, 0, 0, 250, 400, 600)) + rng.random() * 50, 2),
        "rating": rng.choice((1, 2, 3, 4, 5, None)),
        "resolved": rng.random() < 0.4,
        "description": rng.choice(PHRASES) if rng.random() < 0.9 else None,
    }


def bad_line(rng: random.Random, kind: str, record: dict, previous_ids: list[str]) -> str:
    if kind == "truncated_json":
        return json.dumps(record)[: rng.randrange(10, 60)]
    if kind == "not_an_object":
        return json.dumps([record["complaint_id"], record["airline"]])
    changed = dict(record)
    if kind == "wrong_type":
        changed[rng.choice(("delay_minutes", "rating", "filed_at", "compensation_eur"))] = "unknown"
    elif kind == "negative_delay":
        changed["delay_minutes"] = -rng.randrange(1, 60)
    elif kind == "unknown_airline":
        changed["airline"] = "ZZ"
    elif kind == "bad_flight_number":
        changed["flight_number"] = "flight-12"
    elif kind == "missing_filed_at":
        del changed["filed_at"]
    elif kind == "rating_out_of_range":
        changed["rating"] = rng.choice((0, 6, 10))
    elif kind == "duplicate_id" and previous_ids:
        changed["complaint_id"] = rng.choice(previous_ids)
    return json.dumps(changed)


def lines(count: int, bad_fraction: float = 0.04, seed: int = 7):
    """`count` JSON lines; about `bad_fraction` of them are bad, spread over every kind in BAD_KINDS."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    recent_ids: list[str] = []
    for index in range(count):
        record = good_record(rng, index, start)
        if rng.random() < bad_fraction:
            yield bad_line(rng, BAD_KINDS[index % len(BAD_KINDS)], record, recent_ids)
        else:
            recent_ids = (recent_ids + [record["complaint_id"]])[-50:]
            yield json.dumps(record)


def write_files(directory: Path, count: int, files: int = 3, bad_fraction: float = 0.04, seed: int = 7) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    handles = [open(directory / f"complaints-{part:03d}.jsonl", "w", encoding="utf-8") for part in range(files)]
    try:
        for index, line in enumerate(lines(count, bad_fraction, seed)):
            handles[index % files].write(line + "\n")
    finally:
        for handle in handles:
            handle.close()


if __name__ == "__main__":
    write_files(Path(sys.argv[1]), int(sys.argv[2]), files=int(sys.argv[3]) if len(sys.argv) > 3 else 3)
