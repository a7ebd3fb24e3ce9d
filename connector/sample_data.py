"""A synthetic client roster with a known mix of tiers and traits, deterministic per seed.

Each account is drawn from a persona (the tier it is meant to land in) and optional traits, then
records are drawn to match: the 80/20 shape of docs/rules.md — about a fifth of clients are poor and
cause most complaints, late payments and escalations. Columnar and vectorised, so ten million
invoices take seconds; tests, benchmarks and the sandbox CRM all seed from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from connector.frames import ACCOUNT_SCHEMA, CHILD_SCHEMAS, RosterFrames
from connector.model import CHECKUP_MEETING_TYPE, Tier, Trait

PERSONA_SHARE: dict[Tier, float] = {Tier.AMAZING: 0.12, Tier.GOOD: 0.38, Tier.OKAY: 0.30, Tier.POOR: 0.20}
INDUSTRIES = ["Software", "Fintech", "Healthcare", "Retail", "Manufacturing", "Education", "Logistics"]
IDEAL_INDUSTRIES = INDUSTRIES[:3]
REGIONS = ["North America", "Europe", "APAC", "LATAM"]
SOURCES = ["Referral", "Partner", "Inbound", "Outbound", "Event"]
NAME_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Vandelay",
]
NAME_SUFFIX = ["Ltd", "Inc", "GmbH", "LLC", "Group", "Partners", "Labs", "Systems"]

_TIERS = list(PERSONA_SHARE)
# per persona, in _TIERS order: amazing, good, okay, poor
_ON_TIME = np.array([0.995, 0.985, 0.85, 0.45])
_UNPAID = np.array([0.0, 0.0, 0.02, 0.12])
_TICKETS = np.array([1.5, 3.0, 5.0, 14.0])
_COMPLAINT_SHARE = np.array([0.05, 0.08, 0.3, 0.7])
_DISCOUNT_SHARE = np.array([0.0, 0.01, 0.05, 0.25])
_REFERRALS = np.array([2.5, 0.05, 0.0, 0.0])
_NPS_CENTRE = np.array([9.6, 8.0, 7.8, 3.5])
_IDEAL_SHARE = np.array([0.9, 0.8, 0.5, 0.3])
_TRAIT_RATE: dict[Trait, np.ndarray] = {
    Trait.HIGH_TOUCH_LOW_PAY: np.array([0.0, 0.02, 0.10, 0.25]),
    Trait.BULLY: np.array([0.0, 0.0, 0.03, 0.25]),
    Trait.GOALPOST_MOVER: np.array([0.0, 0.02, 0.12, 0.25]),
    Trait.VENDOR_NOT_PARTNER: np.array([0.0, 0.02, 0.10, 0.2]),
}


@dataclass
class GeneratedRoster:
    frames: RosterFrames
    personas: pl.DataFrame
    """``id``, ``persona`` (the intended tier) and one boolean column per planted trait: the known answer."""


def _dates(as_of: dt.date, days_ago: np.ndarray) -> pl.Series:
    epoch_day = (as_of - dt.date(1970, 1, 1)).days
    return pl.Series(epoch_day - days_ago.astype(np.int32), dtype=pl.Int32).cast(pl.Date)


def _repeat(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.repeat(values, counts)


def generate(
    accounts: int, seed: int = 7, as_of: dt.date | None = None, id_prefix: str = ""
) -> GeneratedRoster:
    """``accounts`` accounts (≥ 1) with about 10 invoices each and the rest of their evidence.

    ``id_prefix`` keeps ids unique when a large roster is generated in batches (one seed per batch).
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    as_of = as_of or dt.date.today()
    rng = np.random.default_rng(seed)
    n = accounts
    persona = rng.choice(len(_TIERS), size=n, p=list(PERSONA_SHARE.values()))
    traits = {t: rng.random(n) < rate[persona] for t, rate in _TRAIT_RATE.items()}
    ideal = rng.random(n) < _IDEAL_SHARE[persona]
    account_ids = _seq(id_prefix + "ACC", n, width=7)
    owners_n = min(50, max(3, n // 100))
    ideal_industry = rng.integers(0, len(IDEAL_INDUSTRIES), n)
    other_industry = rng.integers(len(IDEAL_INDUSTRIES), len(INDUSTRIES), n)
    industry_idx = np.where(ideal, ideal_industry, other_industry)
    region_idx = np.where(ideal, rng.integers(0, 2, n), rng.integers(0, len(REGIONS), n))
    source_p = np.array(
        [
            [0.4, 0.2, 0.2, 0.1, 0.1],
            [0.2, 0.2, 0.3, 0.2, 0.1],
            [0.05, 0.15, 0.3, 0.35, 0.15],
            [0.02, 0.08, 0.3, 0.45, 0.15],
        ]
    )
    source_idx = (
        (rng.random(n)[:, None] > np.cumsum(source_p[persona], axis=1)).sum(axis=1).clip(0, len(SOURCES) - 1)
    )
    name_idx = rng.integers(0, len(NAME_WORDS), n)
    suffix_idx = rng.integers(0, len(NAME_SUFFIX), n)
    employees = np.round(np.exp(rng.normal(4.5, 1.3, n))).astype(np.int64) + 1
    missing_industry = rng.random(n) < 0.02
    accounts_df = pl.DataFrame(
        {
            "id": account_ids,
            "name": pl.Series(np.array(NAME_WORDS)[name_idx])
            + " "
            + pl.Series(np.array(NAME_SUFFIX)[suffix_idx])
            + " "
            + account_ids.str.slice(3).str.strip_chars_start("0"),
            "owner_id": "owner-" + pl.Series(rng.integers(1, owners_n + 1, n)).cast(pl.String).str.zfill(2),
            "industry": pl.Series(np.array(INDUSTRIES)[industry_idx]).set(pl.Series(missing_industry), None),
            "region": pl.Series(np.array(REGIONS)[region_idx]),
            "employee_count": pl.Series(employees),
            "created": _dates(as_of, rng.integers(400, 3000, n)),
            "status": pl.Series(["customer"] * n),
            "source": pl.Series(np.array(SOURCES)[source_idx]),
        }
    ).cast(ACCOUNT_SCHEMA)

    # invoices: ~10 per account over the last year, monthly-ish
    inv_counts = rng.poisson(10, n).clip(1, None)
    inv_acc = _repeat(np.arange(n), inv_counts)
    m = inv_acc.size
    inv_persona = persona[inv_acc]
    due_ago = rng.integers(5, 355, m)
    high_touch = traits[Trait.HIGH_TOUCH_LOW_PAY][inv_acc]
    amount = np.round(np.exp(rng.normal(7.5, 0.6, m)) * np.where(high_touch, 0.15, 1.0), 2)
    on_time = rng.random(m) < _ON_TIME[inv_persona]
    unpaid = ~on_time & (rng.random(m) < _UNPAID[inv_persona] / np.maximum(1 - _ON_TIME[inv_persona], 1e-9))
    late_by = rng.integers(10, 60, m)
    paid_ago = np.where(on_time, due_ago + rng.integers(0, 6, m), due_ago - late_by)
    paid_known = ~unpaid & (paid_ago >= 0)
    invoices = pl.DataFrame(
        {
            "id": _seq(id_prefix + "INV", m),
            "account_id": account_ids.gather(inv_acc),
            "amount": amount,
            "currency": pl.Series(["USD"] * m),
            "issued": _dates(as_of, due_ago + 30),
            "due": _dates(as_of, due_ago),
            "paid": _dates(as_of, np.where(paid_known, paid_ago, 0)).set(pl.Series(~paid_known), None),
            "status": pl.Series(np.where(paid_known, "paid", "open")),
            "discount": pl.Series([None] * m, dtype=pl.Float64),
            "cost": pl.Series([None] * m, dtype=pl.Float64),
        }
    ).cast(CHILD_SCHEMAS["invoices"])

    # tickets
    t_counts = rng.poisson(_TICKETS[persona] + np.where(traits[Trait.HIGH_TOUCH_LOW_PAY], 10, 0))
    t_acc = _repeat(np.arange(n), t_counts)
    k = t_acc.size
    t_persona = persona[t_acc]
    complaint = rng.random(k) < _COMPLAINT_SHARE[t_persona]
    discount = ~complaint & (rng.random(k) < _DISCOUNT_SHARE[t_persona] * 2)
    escalated = rng.random(k) < np.where(traits[Trait.HIGH_TOUCH_LOW_PAY][t_acc], 0.5, 0.03)
    abusive = traits[Trait.BULLY][t_acc] & (rng.random(k) < 0.3)
    category = np.where(complaint, "complaint", np.where(discount, "discount_request", "question"))
    tickets = pl.DataFrame(
        {
            "id": _seq(id_prefix + "TCK", k),
            "account_id": account_ids.gather(t_acc),
            "opened": _dates(as_of, rng.integers(0, 360, k)),
            "category": pl.Series(category),
            "priority": pl.Series(np.where(escalated, "high", "normal")),
            "escalated": escalated,
            "complaint": complaint,
            "abusive": abusive,
            "discount_request": discount,
            "rush_request": np.zeros(k, dtype=bool),
            "deadline_request": np.zeros(k, dtype=bool),
        }
    ).cast(CHILD_SCHEMAS["tickets"])

    # referrals: made by the referring account
    r_counts = rng.poisson(_REFERRALS[persona]) + (persona == 0)
    r_acc = _repeat(np.arange(n), r_counts)
    q = r_acc.size
    referrals = pl.DataFrame(
        {
            "id": _seq(id_prefix + "REF", q),
            "account_id": account_ids.gather(r_acc),
            "referred": _seq(id_prefix + "PROSPECT", q),
            "value": np.round(np.exp(rng.normal(9, 0.5, q)), 2),
            "date": _dates(as_of, rng.integers(0, 360, q)),
        }
    ).cast(CHILD_SCHEMAS["referrals"])

    # surveys: most accounts answer once or twice a year
    s_counts = rng.binomial(2, 0.75, n)
    s_acc = _repeat(np.arange(n), s_counts)
    p = s_acc.size
    nps = np.clip(np.round(rng.normal(_NPS_CENTRE[persona[s_acc]], 0.8)), 0, 10).astype(np.int64)
    public = traits[Trait.BULLY][s_acc] & (rng.random(p) < 0.5)
    surveys = pl.DataFrame(
        {
            "id": _seq(id_prefix + "SRV", p),
            "account_id": account_ids.gather(s_acc),
            "date": _dates(as_of, rng.integers(0, 360, p)),
            "nps": nps,
            "csat": np.round(np.clip(1 + nps * 0.4 + rng.normal(0, 0.3, p), 1, 5), 1),
            "public_complaint": public,
        }
    ).cast(CHILD_SCHEMAS["surveys"])

    # meetings: two check-ups in the last half year plus a working session
    mt_acc = _repeat(np.arange(n), np.full(n, 3))
    j = mt_acc.size
    slot = np.tile(np.arange(3), n)
    goalpost = traits[Trait.GOALPOST_MOVER][mt_acc]
    vendor = traits[Trait.VENDOR_NOT_PARTNER][mt_acc]
    outcome = np.where(
        vendor & (slot != 1),
        "no_show",
        np.where(goalpost & (slot < 2), "declined", np.where(rng.random(j) < 0.05, "no_show", "held")),
    )
    meetings = pl.DataFrame(
        {
            "id": _seq(id_prefix + "MTG", j),
            "account_id": account_ids.gather(mt_acc),
            "type": pl.Series(np.where(slot < 2, CHECKUP_MEETING_TYPE, "working_session")),
            "scheduled": _dates(as_of, np.where(slot < 2, rng.integers(1, 170, j), rng.integers(1, 360, j))),
            "outcome": pl.Series(outcome),
        }
    ).cast(CHILD_SCHEMAS["meetings"])

    goals = pl.DataFrame(
        {
            "id": _seq(id_prefix + "GOAL", n),
            "account_id": account_ids,
            "date": _dates(as_of, rng.integers(30, 300, n)),
            "status": pl.Series(np.where(traits[Trait.GOALPOST_MOVER], "refused", "agreed")),
        }
    ).cast(CHILD_SCHEMAS["goals"])

    g_counts = np.where(
        traits[Trait.GOALPOST_MOVER], rng.integers(2, 4, n), (rng.random(n) < 0.05).astype(np.int64)
    )
    g_acc = _repeat(np.arange(n), g_counts)
    renegotiations = pl.DataFrame(
        {
            "id": _seq(id_prefix + "RNG", g_acc.size),
            "account_id": account_ids.gather(g_acc),
            "date": _dates(as_of, rng.integers(0, 360, g_acc.size)),
            "reason": pl.Series(["price"] * g_acc.size, dtype=pl.String),
        }
    ).cast(CHILD_SCHEMAS["renegotiations"])

    personas = pl.DataFrame(
        {"id": account_ids, "persona": pl.Series(np.array([t.value for t in _TIERS])[persona])}
        | {t.value: v for t, v in traits.items()}
    )
    frames = RosterFrames(
        accounts=accounts_df,
        invoices=invoices,
        tickets=tickets,
        referrals=referrals,
        surveys=surveys,
        meetings=meetings,
        goals=goals,
        renegotiations=renegotiations,
    )
    return GeneratedRoster(frames=frames, personas=personas)


def _seq(prefix: str, n: int, width: int = 8) -> pl.Series:
    """``PREFIX00000001``…: readable, sortable ids."""
    return pl.select(
        (pl.lit(prefix) + pl.int_range(1, n + 1).cast(pl.String).str.zfill(width)).alias("id")
    ).to_series()


def write_csv(frames: RosterFrames, directory: Path) -> list[Path]:
    """One CSV per evidence kind in the offline ``classify`` format (see README)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("accounts", *CHILD_SCHEMAS):
        frame = frames.accounts if kind == "accounts" else frames.child(kind)
        if frame is None:
            continue
        path = directory / f"{kind}.csv"
        frame.write_csv(path)
        written.append(path)
    return written
