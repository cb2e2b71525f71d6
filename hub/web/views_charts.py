"""Charts for the DPO: disclosures per agency per week, refusals and overrides per month,
delivery latency (queued to signed receipt). Server-rendered SVG with a data table."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from aiohttp import web

from hub.app import log as log_app
from hub.app.actor import Actor
from hub.app.runtime import Runtime
from hub.http.appkeys import RUNTIME
from hub.web.charts import bar_chart
from hub.web.pages import page_for, render, web_actor

__all__ = ["routes"]


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC times."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


routes = web.RouteTableDef()
WEEKS: Final = 12
MONTHS: Final = 12
BUCKETS: Final = (
    ("under 1 min", timedelta(minutes=1)),
    ("1 to 10 min", timedelta(minutes=10)),
    ("10 to 60 min", timedelta(hours=1)),
    ("1 to 6 h", timedelta(hours=6)),
    ("6 to 24 h", timedelta(days=1)),
    ("over 1 day", timedelta.max),
)


def week_starts(today: date, weeks: int) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def month_starts(today: date, months: int) -> list[date]:
    """The first days of the last ``months`` months, oldest first."""
    out, year, month = [], today.year, today.month
    for _ in range(months):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def latency_bucket(delay: timedelta) -> str:
    """The histogram bar a delivery delay falls in."""
    return next(label for label, limit in BUCKETS if delay < limit)


async def _figures(rt: Runtime, actor: Actor, today: date) -> dict[str, Any]:
    weeks, months = week_starts(today, WEEKS), month_starts(today, MONTHS)
    since = datetime.combine(min(weeks[0], months[0]), datetime.min.time(), tzinfo=UTC)
    activity = await log_app.log_activity(rt, actor, since)
    entries = activity.entries
    per_agency: dict[str, Counter[date]] = defaultdict(Counter)
    refusals: Counter[date] = Counter()
    overrides: Counter[date] = Counter()
    for _, e in entries:
        day = e.at.date()
        if e.kind == "disclosure" and e.recipient:
            per_agency[e.recipient][day - timedelta(days=day.weekday())] += 1
        month = day.replace(day=1)
        if e.kind == "refusal":
            refusals[month] += 1
        if e.override is not None and e.kind == "disclosure":
            overrides[month] += 1
    latency: Counter[str] = Counter()
    waiting = 0
    for queued, done in activity.envelopes:
        if done is None:
            waiting += 1
        else:
            latency[latency_bucket(aware(done) - aware(queued))] += 1
    agencies = sorted(per_agency, key=lambda a: -sum(per_agency[a].values()))
    shown = agencies[:6]
    series = [(a, [per_agency[a][w] for w in weeks]) for a in shown]
    if len(agencies) > 6:
        rest = agencies[6:]
        series.append(("others", [sum(per_agency[a][w] for a in rest) for w in weeks]))
    week_labels = [w.strftime("%d %b") for w in weeks]
    month_labels = [m.strftime("%b %y") for m in months]
    bucket_labels = [label for label, _ in BUCKETS]
    return {
        "weekly": bar_chart("weekly", "Disclosures per agency per week", week_labels, series),
        "weekly_table": (week_labels, series),
        "monthly": bar_chart(
            "monthly",
            "Refusals and overrides per month",
            month_labels,
            [
                ("refusals", [refusals[m] for m in months]),
                ("overrides", [overrides[m] for m in months]),
            ],
            stacked=False,
        ),
        "monthly_table": (
            month_labels,
            [refusals[m] for m in months],
            [overrides[m] for m in months],
        ),
        "latency": bar_chart(
            "latency",
            "Delivery latency: queued to signed receipt",
            bucket_labels,
            [("envelopes", [latency[b] for b in bucket_labels])],
        ),
        "latency_table": [(b, latency[b]) for b in bucket_labels],
        "waiting": waiting,
    }


@routes.get("/log/charts")
@page_for("log.charts")
async def charts_page(request: web.Request) -> web.StreamResponse:
    """The three charts, each with its figures in a table."""
    rt = request.app[RUNTIME]
    figures = await _figures(rt, await web_actor(request), rt.clock().date())
    return render(
        request,
        "charts.html",
        {"title": "Charts", **figures, "weeks": WEEKS, "months": MONTHS},
    )
