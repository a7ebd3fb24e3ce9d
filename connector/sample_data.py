"""A synthetic client roster that evolves over time, deterministic per seed.

The generative model, year by year (a year is a 365-day window; the last one ends at ``as_of``):

1. **Start.** Each account draws a *persona*, the tier it behaves like (``PERSONA_SHARE``: about a
   fifth poor, the 80/20 shape of docs/rules.md), planted traits (``TRAIT_RATE`` per persona) and, if it
   starts okay or poor, a *growth kind*: the weakness of ours it points at (``KIND_SHARE``: none,
   communication, price, discredit, demands). The kind stays with the account.
2. **Records of a year** follow that year's persona: invoices (``ORDERS`` a year, from the account's
   revenue *level*; on time per ``ON_TIME``), tickets (complaints and discount requests more often
   the worse the persona), referrals, surveys (NPS around ``NPS_CENTRE``), check-ups and working
   sessions, renegotiations. An okay or poor account's kind adds its evidence: communication more
   complaints and tickets, price discount requests, discounts, thin margins and small rare orders,
   discredit detractor scores and public complaints, demands rush and deadline requests and
   escalations. Every invoice has a cost (margin per persona) and a discount (mostly none).
3. **Between years** each account first churns (``CHURN`` per persona, more for bullies and price
   clients; no record after, status ``churned``), else improves one tier (``IMPROVE`` per persona,
   times ``FIXABLE`` of its kind: communication and demands change easily, discredit hardly; bullies
   rarely), else worsens one tier (``WORSEN``). Its revenue level drifts by ``DRIFT`` per persona of the year
   that ends (amazing clients expand, poor ones shrink; price clients shrink more, ``KIND_DRIFT``).

So outcomes follow tiers, traits and growth points: what ``tiersync backtest`` checks. With
``years=1`` (the default for tests, the sandbox and benchmarks) there is no evolution: one year of
records per persona. ``tiersync sample-data`` writes three years. Columnar and vectorised, so ten
million invoices take seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from connector.frames import ACCOUNT_SCHEMA, CHILD_SCHEMAS, RosterFrames
from connector.model import CHECKUP_MEETING_TYPE, GrowthPoint, Tier, Trait

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
YEAR = 365

_TIERS = list(PERSONA_SHARE)
# per persona, in _TIERS order: amazing, good, okay, poor
ORDERS = np.array([10.0, 10.0, 10.0, 10.0])
ON_TIME = np.array([0.995, 0.985, 0.85, 0.45])
UNPAID = np.array([0.0, 0.0, 0.02, 0.12])
TICKETS = np.array([1.5, 3.0, 5.0, 14.0])
COMPLAINT_SHARE = np.array([0.05, 0.08, 0.3, 0.7])
DISCOUNT_SHARE = np.array([0.0, 0.01, 0.05, 0.25])
REFERRALS = np.array([2.5, 0.05, 0.0, 0.0])
NPS_CENTRE = np.array([9.6, 8.0, 7.8, 3.5])
IDEAL_SHARE = np.array([0.9, 0.8, 0.5, 0.3])
MARGIN = np.array([0.4, 0.35, 0.25, 0.15])
CHURN = np.array([0.01, 0.04, 0.15, 0.3])
IMPROVE = np.array([0.0, 0.12, 0.25, 0.3])
WORSEN = np.array([0.1, 0.08, 0.1, 0.0])
DRIFT = np.array([0.35, 0.2, -0.1, -0.3])
KIND_DRIFT = np.array([0.0, 0.0, -0.2, -0.05, 0.0])
"""Extra revenue drift per growth kind (same order as ``KINDS``): price clients buy less and less."""
TRAIT_RATE: dict[Trait, np.ndarray] = {
    Trait.HIGH_TOUCH_LOW_PAY: np.array([0.0, 0.02, 0.10, 0.25]),
    Trait.BULLY: np.array([0.0, 0.0, 0.03, 0.25]),
    Trait.GOALPOST_MOVER: np.array([0.0, 0.02, 0.12, 0.25]),
    Trait.VENDOR_NOT_PARTNER: np.array([0.0, 0.02, 0.10, 0.2]),
}
KINDS: list[GrowthPoint | None] = [None, *GrowthPoint]
KIND_SHARE = np.array([0.3, 0.2, 0.25, 0.1, 0.15])
"""Okay and poor personas at the start: no growth kind, communication, price, discredit, demands."""
FIXABLE = np.array([1.0, 1.4, 0.9, 0.4, 1.4])
"""How much more easily an account of each kind improves (same order as ``KINDS``)."""
_NONE, _COMMUNICATION, _PRICE, _DISCREDIT, _DEMANDS = range(len(KINDS))
_OKAY = _TIERS.index(Tier.OKAY)


@dataclass
class GeneratedRoster:
    frames: RosterFrames
    personas: pl.DataFrame
    """The known answer: ``id``, ``persona`` (this year's intended tier), ``persona_start``, ``kind``
    (growth kind or null), ``churned``, and one boolean column per planted trait."""


def _dates(as_of: dt.date, days_ago: np.ndarray) -> pl.Series:
    epoch_day = (as_of - dt.date(1970, 1, 1)).days
    return pl.Series(epoch_day - days_ago.astype(np.int32), dtype=pl.Int32).cast(pl.Date)


@dataclass
class _Year:
    """One year of one cohort: who is active, as which persona, from how many days back."""

    active: np.ndarray
    """Account indices with records this year."""
    persona: np.ndarray
    """Persona per account (all accounts; read through ``active``)."""
    offset: int
    """Days from the end of this year back to ``as_of``."""
    level: np.ndarray
    """Revenue level per account this year (1 at the start)."""


def _invoices(
    rng: np.random.Generator, y: _Year, kind: np.ndarray, htlp: np.ndarray
) -> dict[str, np.ndarray]:
    acc = y.active
    persona, k = y.persona[acc], kind[acc]
    low = persona >= _OKAY
    price = low & (k == _PRICE)
    counts = np.where(price, rng.integers(2, 4, acc.size), rng.poisson(ORDERS[persona]).clip(1, None))
    inv = np.repeat(acc, counts)
    m = inv.size
    p, price_i = y.persona[inv], np.repeat(price, counts)
    due_ago = rng.integers(5, 355, m)
    size = np.where(price_i, 0.1, 1.0) * np.where(htlp[inv], 0.15, 1.0) * y.level[inv]
    amount = np.round(np.exp(rng.normal(7.5, 0.6, m)) * size, 2)
    on_time = rng.random(m) < ON_TIME[p]
    unpaid = ~on_time & (rng.random(m) < UNPAID[p] / np.maximum(1 - ON_TIME[p], 1e-9))
    paid_ago = np.where(on_time, due_ago + rng.integers(0, 6, m), due_ago - rng.integers(10, 60, m))
    margin = np.where(price_i, 0.02, MARGIN[p]) + rng.normal(0, 0.05, m)
    discount_share = np.where(price_i, rng.uniform(0.15, 0.25, m), np.where(rng.random(m) < 0.2, 0.05, 0.0))
    return {
        "account": inv,
        "amount": amount,
        "due_ago": due_ago + y.offset,
        "paid_ago": paid_ago + y.offset,
        "paid_known": ~unpaid & (paid_ago >= 0),
        "discount": np.round(amount * discount_share / (1 - discount_share), 2),
        "cost": np.round(amount * (1 - margin), 2),
    }


def _tickets(
    rng: np.random.Generator, y: _Year, kind: np.ndarray, traits: dict[Trait, np.ndarray]
) -> dict[str, np.ndarray]:
    acc = y.active
    persona, k = y.persona[acc], kind[acc]
    low = persona >= _OKAY
    extra = np.where(traits[Trait.HIGH_TOUCH_LOW_PAY][acc], 10, 0) + np.where(
        low & (k == _COMMUNICATION), 4, 0
    )
    counts = rng.poisson(TICKETS[persona] + extra)
    demands_n = np.where(low & (k == _DEMANDS), rng.poisson(5.0, acc.size), 0)
    t_acc = np.concatenate([np.repeat(acc, counts), np.repeat(acc, demands_n)])
    demand = np.concatenate([np.zeros(counts.sum(), dtype=bool), np.ones(demands_n.sum(), dtype=bool)])
    n = t_acc.size
    p, tk = y.persona[t_acc], kind[t_acc]
    t_low = p >= _OKAY
    share = np.where(
        t_low & (tk == _COMMUNICATION), np.minimum(COMPLAINT_SHARE[p] * 1.5, 0.9), COMPLAINT_SHARE[p]
    )
    complaint = ~demand & (rng.random(n) < share)
    discount_p = np.where(t_low & (tk == _PRICE), 0.5, DISCOUNT_SHARE[p] * 2)
    discount = ~demand & ~complaint & (rng.random(n) < discount_p)
    rush = demand & (rng.random(n) < 0.5)
    deadline = demand & ~rush
    escalated = rng.random(n) < np.where(
        traits[Trait.HIGH_TOUCH_LOW_PAY][t_acc], 0.5, np.where(demand, 0.35, 0.03)
    )
    abusive = traits[Trait.BULLY][t_acc] & (rng.random(n) < 0.3)
    category = np.where(
        complaint,
        "complaint",
        np.where(
            discount,
            "discount_request",
            np.where(rush, "rush_request", np.where(deadline, "deadline_request", "question")),
        ),
    )
    return {
        "account": t_acc,
        "opened_ago": rng.integers(0, 360, n) + y.offset,
        "category": category,
        "escalated": escalated,
        "complaint": complaint,
        "abusive": abusive,
        "discount_request": discount,
        "rush_request": rush,
        "deadline_request": deadline,
    }


def _surveys(
    rng: np.random.Generator, y: _Year, kind: np.ndarray, traits: dict[Trait, np.ndarray]
) -> dict[str, np.ndarray]:
    acc = y.active
    s_acc = np.repeat(acc, rng.binomial(2, 0.75, acc.size))
    n = s_acc.size
    p, k = y.persona[s_acc], kind[s_acc]
    discredit = (p >= _OKAY) & (k == _DISCREDIT)
    nps = np.clip(np.round(rng.normal(np.where(discredit, 4.0, NPS_CENTRE[p]), 0.8)), 0, 10).astype(np.int64)
    public = (traits[Trait.BULLY][s_acc] & (rng.random(n) < 0.5)) | (discredit & (rng.random(n) < 0.3))
    return {
        "account": s_acc,
        "date_ago": rng.integers(0, 360, n) + y.offset,
        "nps": nps,
        "csat": np.round(np.clip(1 + nps * 0.4 + rng.normal(0, 0.3, n), 1, 5), 1),
        "public_complaint": public,
    }


def _meetings(rng: np.random.Generator, y: _Year, traits: dict[Trait, np.ndarray]) -> dict[str, np.ndarray]:
    """Two check-ups in the year's last half plus a working session."""
    m_acc = np.repeat(y.active, 3)
    n = m_acc.size
    slot = np.tile(np.arange(3), y.active.size)
    goalpost, vendor = traits[Trait.GOALPOST_MOVER][m_acc], traits[Trait.VENDOR_NOT_PARTNER][m_acc]
    outcome = np.where(
        vendor & (slot != 1),
        "no_show",
        np.where(goalpost & (slot < 2), "declined", np.where(rng.random(n) < 0.05, "no_show", "held")),
    )
    ago = np.where(slot < 2, rng.integers(1, 170, n), rng.integers(1, 360, n)) + y.offset
    return {"account": m_acc, "slot": slot, "outcome": outcome, "ago": ago}


def _evolve(
    rng: np.random.Generator,
    persona: np.ndarray,
    alive: np.ndarray,
    level: np.ndarray,
    kind: np.ndarray,
    traits: dict[Trait, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One year on: the revenue level drifts with the persona of the year that ends (what the client was
    is what it buys next), then the account churns, else improves, else worsens."""
    n = persona.size
    bully = traits[Trait.BULLY]
    churn_p = CHURN[persona] + np.where(bully, 0.15, 0.0) + np.where(kind == _PRICE, 0.05, 0.0)
    churn = alive & (rng.random(n) < churn_p)
    improve_p = IMPROVE[persona] * FIXABLE[kind] * np.where(bully, 0.3, 1.0)
    draw = rng.random(n)
    improve = alive & ~churn & (draw < improve_p)
    worsen = alive & ~churn & ~improve & (draw > 1 - WORSEN[persona])
    drift = DRIFT[persona] + np.where(persona >= _OKAY, KIND_DRIFT[kind], 0.0)
    level = level * np.exp(drift + rng.normal(0, 0.1, n))
    persona = np.clip(persona - improve + worsen, 0, len(_TIERS) - 1)
    return persona, alive & ~churn, level


def generate(
    accounts: int, seed: int = 7, as_of: dt.date | None = None, id_prefix: str = "", years: int = 1
) -> GeneratedRoster:
    """``accounts`` accounts (≥ 1) with about 10 invoices a year each and the rest of their evidence,
    over ``years`` years ending at ``as_of`` (see the module docstring for the model).

    ``id_prefix`` keeps ids unique when a large roster is generated in batches (one seed per batch).
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if years < 1:
        raise ValueError("years must be at least 1")
    as_of = as_of or dt.date.today()
    rng = np.random.default_rng(seed)
    n = accounts
    persona = rng.choice(len(_TIERS), size=n, p=list(PERSONA_SHARE.values()))
    start = persona.copy()
    traits = {t: rng.random(n) < rate[persona] for t, rate in TRAIT_RATE.items()}
    kind = np.where(persona >= _OKAY, rng.choice(len(KINDS), size=n, p=KIND_SHARE), _NONE)
    ideal = rng.random(n) < IDEAL_SHARE[persona]
    account_ids = _seq(id_prefix + "ACC", n, width=7)

    level = np.ones(n)
    alive = np.ones(n, dtype=bool)
    cohorts: list[_Year] = []
    for year in range(years):
        if year:
            persona, alive, level = _evolve(rng, persona, alive, level, kind, traits)
        cohorts.append(_Year(np.flatnonzero(alive), persona.copy(), YEAR * (years - 1 - year), level.copy()))
    stack = {
        name: _by_account({key: np.concatenate([part[key] for part in parts]) for key in parts[0]})
        for name, parts in {
            "invoices": [_invoices(rng, y, kind, traits[Trait.HIGH_TOUCH_LOW_PAY]) for y in cohorts],
            "tickets": [_tickets(rng, y, kind, traits) for y in cohorts],
            "surveys": [_surveys(rng, y, kind, traits) for y in cohorts],
            "meetings": [_meetings(rng, y, traits) for y in cohorts],
        }.items()
    }
    frames = RosterFrames(
        accounts=_accounts(
            rng, account_ids, persona_start=start, ideal=ideal, alive=alive, as_of=as_of, years=years
        ),
        invoices=_invoice_frame(stack["invoices"], account_ids, as_of, id_prefix),
        tickets=_ticket_frame(stack["tickets"], account_ids, as_of, id_prefix),
        referrals=_referrals(rng, cohorts, account_ids, as_of, id_prefix),
        surveys=_survey_frame(stack["surveys"], account_ids, as_of, id_prefix),
        meetings=_meeting_frame(stack["meetings"], account_ids, as_of, id_prefix),
        goals=_goals(rng, account_ids, traits, as_of, id_prefix),
        renegotiations=_renegotiations(rng, cohorts, traits, account_ids, as_of, id_prefix),
    )
    personas = pl.DataFrame(
        {
            "id": account_ids,
            "persona": pl.Series(np.array([t.value for t in _TIERS])[persona]),
            "persona_start": pl.Series(np.array([t.value for t in _TIERS])[start]),
            "kind": pl.Series([_kind_code(k) for k in kind], dtype=pl.String),
            "churned": ~alive,
        }
        | {t.value: v for t, v in traits.items()}
    )
    return GeneratedRoster(frames=frames, personas=personas)


def _accounts(
    rng: np.random.Generator,
    ids: pl.Series,
    *,
    persona_start: np.ndarray,
    ideal: np.ndarray,
    alive: np.ndarray,
    as_of: dt.date,
    years: int,
) -> pl.DataFrame:
    n = ids.len()
    owners_n = min(50, max(3, n // 100))
    industry_idx = np.where(
        ideal,
        rng.integers(0, len(IDEAL_INDUSTRIES), n),
        rng.integers(len(IDEAL_INDUSTRIES), len(INDUSTRIES), n),
    )
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
        (rng.random(n)[:, None] > np.cumsum(source_p[persona_start], axis=1))
        .sum(axis=1)
        .clip(0, len(SOURCES) - 1)
    )
    name_idx = rng.integers(0, len(NAME_WORDS), n)
    suffix_idx = rng.integers(0, len(NAME_SUFFIX), n)
    employees = np.round(np.exp(rng.normal(4.5, 1.3, n))).astype(np.int64) + 1
    missing_industry = rng.random(n) < 0.02
    return pl.DataFrame(
        {
            "id": ids,
            "name": pl.Series(np.array(NAME_WORDS)[name_idx])
            + " "
            + pl.Series(np.array(NAME_SUFFIX)[suffix_idx])
            + " "
            + ids.str.slice(3).str.strip_chars_start("0"),
            "owner_id": "owner-" + pl.Series(rng.integers(1, owners_n + 1, n)).cast(pl.String).str.zfill(2),
            "industry": pl.Series(np.array(INDUSTRIES)[industry_idx]).set(pl.Series(missing_industry), None),
            "region": pl.Series(np.array(REGIONS)[region_idx]),
            "employee_count": pl.Series(employees),
            "created": _dates(as_of, YEAR * (years - 1) + rng.integers(400, 3000, n)),
            "status": pl.Series(np.where(alive, "customer", "churned")),
            "source": pl.Series(np.array(SOURCES)[source_idx]),
        }
    ).cast(ACCOUNT_SCHEMA)


def _invoice_frame(rows: dict[str, np.ndarray], ids: pl.Series, as_of: dt.date, prefix: str) -> pl.DataFrame:
    m = rows["account"].size
    paid_known = rows["paid_known"]
    return pl.DataFrame(
        {
            "id": _seq(prefix + "INV", m),
            "account_id": ids.gather(rows["account"]),
            "amount": rows["amount"],
            "currency": pl.Series(["USD"] * m),
            "issued": _dates(as_of, rows["due_ago"] + 30),
            "due": _dates(as_of, rows["due_ago"]),
            "paid": _dates(as_of, np.where(paid_known, rows["paid_ago"], 0)).set(
                pl.Series(~paid_known), None
            ),
            "status": pl.Series(np.where(paid_known, "paid", "open")),
            "discount": rows["discount"],
            "cost": rows["cost"],
        }
    ).cast(CHILD_SCHEMAS["invoices"])


def _ticket_frame(rows: dict[str, np.ndarray], ids: pl.Series, as_of: dt.date, prefix: str) -> pl.DataFrame:
    k = rows["account"].size
    return pl.DataFrame(
        {
            "id": _seq(prefix + "TCK", k),
            "account_id": ids.gather(rows["account"]),
            "opened": _dates(as_of, rows["opened_ago"]),
            "category": pl.Series(rows["category"]),
            "priority": pl.Series(np.where(rows["escalated"], "high", "normal")),
            "escalated": rows["escalated"],
            "complaint": rows["complaint"],
            "abusive": rows["abusive"],
            "discount_request": rows["discount_request"],
            "rush_request": rows["rush_request"],
            "deadline_request": rows["deadline_request"],
        }
    ).cast(CHILD_SCHEMAS["tickets"])


def _referrals(
    rng: np.random.Generator, cohorts: list[_Year], ids: pl.Series, as_of: dt.date, prefix: str
) -> pl.DataFrame:
    """Made by the referring account; an amazing persona refers at least once a year."""
    parts = []
    for y in cohorts:
        persona = y.persona[y.active]
        acc = np.repeat(y.active, rng.poisson(REFERRALS[persona]) + (persona == 0))
        parts.append((acc, rng.integers(0, 360, acc.size) + y.offset))
    rows = _by_account(
        {"account": np.concatenate([a for a, _ in parts]), "ago": np.concatenate([d for _, d in parts])}
    )
    acc, ago = rows["account"], rows["ago"]
    q = acc.size
    return pl.DataFrame(
        {
            "id": _seq(prefix + "REF", q),
            "account_id": ids.gather(acc),
            "referred": _seq(prefix + "PROSPECT", q),
            "value": np.round(np.exp(rng.normal(9, 0.5, q)), 2),
            "date": _dates(as_of, ago),
        }
    ).cast(CHILD_SCHEMAS["referrals"])


def _survey_frame(rows: dict[str, np.ndarray], ids: pl.Series, as_of: dt.date, prefix: str) -> pl.DataFrame:
    p = rows["account"].size
    return pl.DataFrame(
        {
            "id": _seq(prefix + "SRV", p),
            "account_id": ids.gather(rows["account"]),
            "date": _dates(as_of, rows["date_ago"]),
            "nps": rows["nps"],
            "csat": rows["csat"],
            "public_complaint": rows["public_complaint"],
        }
    ).cast(CHILD_SCHEMAS["surveys"])


def _meeting_frame(rows: dict[str, np.ndarray], ids: pl.Series, as_of: dt.date, prefix: str) -> pl.DataFrame:
    j = rows["account"].size
    return pl.DataFrame(
        {
            "id": _seq(prefix + "MTG", j),
            "account_id": ids.gather(rows["account"]),
            "type": pl.Series(np.where(rows["slot"] < 2, CHECKUP_MEETING_TYPE, "working_session")),
            "scheduled": _dates(as_of, rows["ago"]),
            "outcome": pl.Series(rows["outcome"]),
        }
    ).cast(CHILD_SCHEMAS["meetings"])


def _goals(
    rng: np.random.Generator, ids: pl.Series, traits: dict[Trait, np.ndarray], as_of: dt.date, prefix: str
) -> pl.DataFrame:
    """The latest goal agreement per account: refused by goalpost movers."""
    n = ids.len()
    return pl.DataFrame(
        {
            "id": _seq(prefix + "GOAL", n),
            "account_id": ids,
            "date": _dates(as_of, rng.integers(30, 300, n)),
            "status": pl.Series(np.where(traits[Trait.GOALPOST_MOVER], "refused", "agreed")),
        }
    ).cast(CHILD_SCHEMAS["goals"])


def _renegotiations(
    rng: np.random.Generator,
    cohorts: list[_Year],
    traits: dict[Trait, np.ndarray],
    ids: pl.Series,
    as_of: dt.date,
    prefix: str,
) -> pl.DataFrame:
    parts = []
    for y in cohorts:
        goalpost = traits[Trait.GOALPOST_MOVER][y.active]
        counts = np.where(
            goalpost, rng.integers(2, 4, y.active.size), (rng.random(y.active.size) < 0.05).astype(np.int64)
        )
        acc = np.repeat(y.active, counts)
        parts.append((acc, rng.integers(0, 360, acc.size) + y.offset))
    rows = _by_account(
        {"account": np.concatenate([a for a, _ in parts]), "ago": np.concatenate([d for _, d in parts])}
    )
    acc, ago = rows["account"], rows["ago"]
    return pl.DataFrame(
        {
            "id": _seq(prefix + "RNG", acc.size),
            "account_id": ids.gather(acc),
            "date": _dates(as_of, ago),
            "reason": pl.Series(["price"] * acc.size, dtype=pl.String),
        }
    ).cast(CHILD_SCHEMAS["renegotiations"])


def _by_account(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows grouped by account (stable), so that each account's records get consecutive ids, as when
    a CRM holds them in the order they were entered account by account."""
    order = np.argsort(rows["account"], kind="stable")
    return {key: values[order] for key, values in rows.items()}


def _kind_code(index: int) -> str | None:
    point = KINDS[index]
    return None if point is None else point.value


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
