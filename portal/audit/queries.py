"""Reading the audit trail: filters, keyset pages, statistics and security figures.

Pages are ordered newest first by ``(at, id)`` and continue from the last row
shown (keyset pagination, never OFFSET), so a page stays stable while new
events arrive: they are newer than every cursor and only show on the first page.
Every filter maps onto one of the indexes in ``portal.models.audit``.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql

from portal import dates, search
from portal.audit import actions
from portal.extensions import db
from portal.models.audit import AuditEvent, Outcome
from portal.models.user import User
from portal.pagination import Page

PAGE_SIZE = 50
# How many users an actor search may expand to before we ask for something narrower. The
# users come from the trigram index at once; what grows with their number is the list sent
# back and one seek each in the (actor_id, at) index: 2,000 (a common family name in an
# academy of 100,000) stays within the page's 20 ms of database time (bench.bench_search).
MAX_ACTORS = 2000


class FilterError(ValueError):
    """A filter value that cannot be used; ``field`` names the form field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass
class AuditFilter:
    actor: str = ""
    actions: list[str] = field(default_factory=list)
    resource_type: str = ""
    resource_id: str = ""
    start: datetime | None = None  # inclusive, aware UTC
    end: datetime | None = None  # exclusive, aware UTC
    ip: str = ""
    outcome: str = ""
    actor_id: int | None = None  # set by the code, never from the URL (``/audit/mine``)

    def describe(self) -> dict:
        """The filter as plain values, for the audit event of an export."""
        out = {
            "actor": self.actor,
            "actions": self.actions,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "ip": self.ip,
            "outcome": self.outcome,
        }
        return {k: v for k, v in out.items() if v}


def ip_condition(text: str):
    """``ip = x`` for an address, a portable range condition for a CIDR block.

    IPv4 blocks become ranges over the textual prefix ("10.1." <= ip < "10.1/",
    '/' sorts right after '.'), which every backend answers from the (ip, at)
    index; a block that is not on an octet boundary is split into at most 128
    such ranges. IPv6 blocks are matched in Python against the distinct
    addresses seen, because compressed IPv6 text has no usable prefix.
    """
    text = text.strip()
    try:
        if "/" not in text:
            return AuditEvent.ip == str(ipaddress.ip_address(text))
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FilterError("ip", _("Enter an IP address (203.0.113.7) or a block (203.0.113.0/24).")) from None
    if network.num_addresses == 1:
        return AuditEvent.ip == str(network.network_address)
    if network.version == 4:
        if network.prefixlen == 0:
            return AuditEvent.ip.like("%.%")
        octets = math.ceil(network.prefixlen / 8)
        bounds = []
        for block in network.subnets(new_prefix=octets * 8):
            prefix = ".".join(str(block.network_address).split(".")[:octets]) + "."
            bounds.append((prefix, prefix[:-1] + "/"))
        seen = _addresses_in(bounds)
        if seen is not None:
            # A handful of addresses: exact matches use the (ip, at) index best.
            return AuditEvent.ip.in_(seen) if seen else sa.false()
        ranges = [sa.and_(AuditEvent.ip >= low, AuditEvent.ip < high) for low, high in bounds]
        return ranges[0] if len(ranges) == 1 else sa.or_(*ranges)
    seen = db.session.scalars(
        sa.select(AuditEvent.ip).where(AuditEvent.ip.like("%:%")).distinct()
    )
    matching = []
    for value in seen:
        try:
            if ipaddress.ip_address(value) in network:
                matching.append(value)
        except ValueError:
            continue
    return AuditEvent.ip.in_(matching) if matching else sa.false()


# Beyond this many distinct addresses a block is broad, and the time index finds its
# events faster than a list of exact addresses would.
MAX_BLOCK_ADDRESSES = 16


def _addresses_in(bounds: list[tuple[str, str]]) -> list[str] | None:
    """The distinct addresses seen in textual ranges, or None when there are many.

    Hops from one address to the next with an index seek each (a "loose index
    scan"), so the cost depends on the number of addresses, not of events.
    """
    found: list[str] = []
    for low, high in bounds:
        current = None
        while True:
            lower = AuditEvent.ip > current if current is not None else AuditEvent.ip >= low
            current = db.session.scalar(
                sa.select(sa.func.min(AuditEvent.ip)).where(lower, AuditEvent.ip < high)
            )
            if current is None:
                break
            found.append(current)
            if len(found) > MAX_BLOCK_ADDRESSES:
                return None
    return found


def actor_condition(text: str):
    """Events by users whose e-mail or name contains ``text``, or with that label.

    The users come from the trigram index (portal.search), their events from the
    (actor_id, at) index."""
    needle = text.strip().lower()
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    hint = search.narrowing(needle)
    ids = db.session.scalars(
        sa.select(User.id)
        .where(sa.or_(User.email.like(pattern, escape="\\"),
                      User.name.ilike(pattern, escape="\\")),
               *([hint] if hint is not None else []))
        .limit(MAX_ACTORS + 1)
    ).all()
    if len(ids) > MAX_ACTORS:
        raise FilterError("actor", _("Too many people match; type more of the name or e-mail."))
    if not ids:
        # Someone whose account is gone: the e-mail kept on the event.
        return AuditEvent.actor_label == needle
    if len(ids) == 1:
        return AuditEvent.actor_id == ids[0]
    if _dialect() == "postgresql":
        # One array parameter instead of one parameter per person: a common family name
        # matches a thousand or more, and building, sending and parsing that many
        # parameters cost more than the page's own reading. The plan is the same.
        return AuditEvent.actor_id == sa.any_(sa.literal(ids, postgresql.ARRAY(sa.Integer)))
    return AuditEvent.actor_id.in_(ids)


def conditions(flt: AuditFilter) -> list:
    where = []
    if flt.actor_id is not None:
        where.append(AuditEvent.actor_id == flt.actor_id)
    if flt.actor:
        where.append(actor_condition(flt.actor))
    if flt.actions:
        where.append(
            AuditEvent.action == flt.actions[0]
            if len(flt.actions) == 1
            else AuditEvent.action.in_(flt.actions)
        )
    if flt.resource_type:
        where.append(AuditEvent.resource_type == flt.resource_type)
    if flt.resource_id:
        where.append(AuditEvent.resource_id == flt.resource_id)
    if flt.start:
        where.append(AuditEvent.at >= flt.start)
    if flt.end:
        where.append(AuditEvent.at < flt.end)
    if flt.ip:
        where.append(ip_condition(flt.ip))
    if flt.outcome:
        where.append(AuditEvent.outcome == flt.outcome)
    return where


NEWEST_FIRST = (AuditEvent.at.desc(), AuditEvent.id.desc())
# What the event list shows of an event: plain rows, no details to decode, no objects to track.
LIST_COLUMNS = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.actor_label,
                AuditEvent.action, AuditEvent.resource_type, AuditEvent.resource_id, AuditEvent.outcome,
                AuditEvent.ip)


def _cursor(event_id: int | None):
    if not event_id:
        return None
    row = db.session.execute(
        sa.select(AuditEvent.at, AuditEvent.id).where(AuditEvent.id == event_id)
    ).first()
    return (row.at, row.id) if row else None


def page(where: list, before: int | None = None, after: int | None = None,
         size: int | None = None, columns: tuple | None = None) -> Page:
    """One page of events matching ``where``, newest first, continuing from a cursor: the
    events, or rows of ``columns`` only (``LIST_COLUMNS``)."""
    size = size or PAGE_SIZE
    stmt = (sa.select(*columns) if columns else sa.select(AuditEvent)).where(*where)
    read = db.session.execute if columns else db.session.scalars
    if after and (cursor := _cursor(after)):
        # Walk up (oldest first) from the cursor, then show the rows newest first.
        at, eid = cursor
        stmt = stmt.where(
            AuditEvent.at >= at,
            sa.or_(AuditEvent.at > at, sa.and_(AuditEvent.at == at, AuditEvent.id > eid)),
        ).order_by(AuditEvent.at, AuditEvent.id).limit(size + 1)
        rows = list(read(stmt))
        has_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        return Page(
            rows=events,
            next={"before": events[-1].id} if events else None,
            previous={"after": events[0].id} if events and has_newer else None,
            first=not has_newer,
        )
    cursor = _cursor(before)
    if cursor:
        stmt = stmt.where(after_cursor(cursor))
    rows = list(read(stmt.order_by(*NEWEST_FIRST).limit(size + 1)))
    events = rows[:size]
    return Page(
        rows=events,
        next={"before": events[-1].id} if len(rows) > size else None,
        previous={"after": events[0].id} if cursor and events else None,
        first=cursor is None,
    )


def after_cursor(cursor: tuple[datetime, int]):
    """Rows older than ``cursor`` in the newest-first order."""
    at, eid = cursor
    # The plain "at <= x" bound lets the index range start at the cursor (an OR alone would not).
    return sa.and_(AuditEvent.at <= at,
                   sa.or_(AuditEvent.at < at, sa.and_(AuditEvent.at == at, AuditEvent.id < eid)))


# -- periods ----------------------------------------------------------------

PERIODS = {"7": 7, "30": 30, "90": 90}


@dataclass
class Period:
    start: datetime
    end: datetime
    label: str
    key: str  # "7", "30", "90" or "custom"
    title: str = ""  # the label as a heading ("The last 30 days"); the label itself when empty

    @property
    def heading(self) -> str:
        return self.title or self.label

    @property
    def days(self) -> list[date]:
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def period_from(args, now: datetime) -> Period:
    """The period of ``?period=7|30|90`` or ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (UTC days)."""
    start_text, end_text = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if start_text or end_text:
        try:
            first = dates.parse(start_text) if start_text else None
        except ValueError as exc:
            raise FilterError("from", str(exc)) from None
        try:
            last = dates.parse(end_text) if end_text else now.date()
        except ValueError as exc:
            raise FilterError("to", str(exc)) from None
        if first is None:
            first = last - timedelta(days=29)
        if first > last:
            raise FilterError("from", _("The start must be on or before the end."))
        if (last - first).days > 366 * 2:
            raise FilterError("from", _("Choose at most two years."))
        start = datetime.combine(first, time.min, UTC)
        end = datetime.combine(last + timedelta(days=1), time.min, UTC)
        label = _("{first} – {last}").format(first=format_date(first, "medium"),
                                             last=format_date(last, "medium"))
        return Period(start, end, label, "custom")
    key = args.get("period") if args.get("period") in PERIODS else "30"
    days = PERIODS[key]
    end = datetime.combine(now.date() + timedelta(days=1), time.min, UTC)
    label = ngettext("the last {n} day", "the last {n} days", days).format(n=days)
    title = ngettext("The last {n} day", "The last {n} days", days).format(n=days)
    return Period(end - timedelta(days=days), end, label, key, title)


def _day(column, dialect: str):
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d", column)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# -- statistics ---------------------------------------------------------------


@dataclass
class Stats:
    total: int
    failures: int
    denials: int  # events with the outcome "denied" (the outcomes chart)
    denied_requests: int  # refused requests, from the access.denied events' counts
    denied_events: int  # the access.denied events recording them
    per_day: list[tuple[str, int]]
    top_actions: list[tuple[str, int]]
    top_actors: list[tuple[int | None, str, int]]

    @property
    def failure_rate(self) -> float:
        return self.failures / self.total if self.total else 0.0

    @property
    def denial_rate(self) -> float:
        return self.denials / self.total if self.total else 0.0


def denied_requests(in_period) -> tuple[int, int]:
    """Refused requests (``access.denied``: 403, 404 for another's object, CSRF, 429) and
    the events that record them.

    portal.errors records a source's denials aggregated: per (IP, user, reason, window)
    the 1st, 10th, 100th ... each with its ``count`` so far. The highest count of each
    such group is how many requests it had at least, so the groups' highest counts are
    added (an event without a count or a window stands for one request).
    """
    count = sa.func.coalesce(AuditEvent.details["count"].as_integer(), 1)
    window = sa.func.coalesce(AuditEvent.details["window_start"].as_string(),
                              sa.cast(AuditEvent.id, sa.String))
    groups = (
        sa.select(sa.func.max(count).label("n"), sa.func.count().label("events"))
        .where(AuditEvent.action == actions.ACCESS_DENIED, *in_period)
        .group_by(AuditEvent.ip, AuditEvent.actor_id, AuditEvent.details["reason"].as_string(), window)
        .subquery()
    )
    requests, events = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(groups.c.n), 0),
                  sa.func.coalesce(sa.func.sum(groups.c.events), 0))
    ).one()
    return int(requests), int(events)


def stats(period: Period, top: int = 10) -> Stats:
    in_period = (AuditEvent.at >= period.start, AuditEvent.at < period.end)
    by_outcome = dict(
        db.session.execute(
            sa.select(AuditEvent.outcome, sa.func.count()).where(*in_period).group_by(AuditEvent.outcome)
        ).all()
    )
    day = _day(AuditEvent.at, _dialect()).label("day")
    counted = dict(
        db.session.execute(sa.select(day, sa.func.count()).where(*in_period).group_by(day)).all()
    )
    per_day = [(d.isoformat(), counted.get(d.isoformat(), 0)) for d in period.days]
    n = sa.func.count().label("n")
    top_actions = [
        (row.action, row.n)
        for row in db.session.execute(
            sa.select(AuditEvent.action, n).where(*in_period)
            .group_by(AuditEvent.action).order_by(n.desc(), AuditEvent.action).limit(top)
        )
    ]
    top_actors = [
        (row.actor_id, row.label or _("(deleted account)"), row.n)
        for row in db.session.execute(
            sa.select(AuditEvent.actor_id, sa.func.max(AuditEvent.actor_label).label("label"), n)
            .where(*in_period, AuditEvent.actor_id.is_not(None))
            .group_by(AuditEvent.actor_id).order_by(n.desc(), AuditEvent.actor_id).limit(top)
        )
    ]
    requests, events = denied_requests(in_period)
    return Stats(
        total=sum(by_outcome.values()),
        failures=by_outcome.get(Outcome.FAILURE, 0),
        denials=by_outcome.get(Outcome.DENIED, 0),
        denied_requests=requests,
        denied_events=events,
        per_day=per_day,
        top_actions=top_actions,
        top_actors=top_actors,
    )


# -- security -------------------------------------------------------------------


def account_of_attempt():
    """Who a failed login was for: the known account, else the e-mail that was typed."""
    return sa.func.coalesce(AuditEvent.actor_label, AuditEvent.details["email"].as_string())


@dataclass
class Security:
    failed_total: int
    failed_by_ip: list  # rows: ip, n, accounts, last
    failed_by_account: list  # rows: account, n, ips, last
    many_accounts: list  # IPs that tried at least ``threshold`` accounts
    many_ips: list  # accounts tried from at least ``threshold`` IPs
    lockouts: list[AuditEvent]
    denied_total: int
    denied_by_reason: list  # rows: reason, n
    denied: list[AuditEvent]
    threshold: int


def security(period: Period, threshold: int = 3, limit: int = 20) -> Security:
    in_period = (AuditEvent.at >= period.start, AuditEvent.at < period.end)
    failed = (AuditEvent.action == actions.LOGIN_FAILED, *in_period)
    account = account_of_attempt()
    n = sa.func.count().label("n")
    accounts = sa.func.count(sa.distinct(account)).label("accounts")
    ips = sa.func.count(sa.distinct(AuditEvent.ip)).label("ips")
    last = sa.func.max(AuditEvent.at).label("last")
    ip_key = sa.func.coalesce(AuditEvent.ip, "unknown").label("ip")
    by_ip = (
        sa.select(ip_key, n, accounts, last).where(*failed).group_by(ip_key)
        .order_by(n.desc(), ip_key)
    )
    account_key = sa.func.coalesce(account, "unknown").label("account")
    by_account = (
        sa.select(account_key, n, ips, last).where(*failed).group_by(account_key)
        .order_by(n.desc(), account_key)
    )
    # Refused requests and 5xx answers (both aggregated by portal.errors).
    denied = (AuditEvent.action.in_((actions.ACCESS_DENIED, actions.REQUEST_FAILED)), *in_period)
    reason = sa.func.coalesce(AuditEvent.details["reason"].as_string(), "unknown").label("reason")
    return Security(
        failed_total=db.session.scalar(sa.select(sa.func.count()).where(*failed)) or 0,
        failed_by_ip=db.session.execute(by_ip.limit(limit)).all(),
        failed_by_account=db.session.execute(by_account.limit(limit)).all(),
        many_accounts=db.session.execute(
            by_ip.having(accounts >= threshold).order_by(None).order_by(accounts.desc(), ip_key).limit(limit)
        ).all(),
        many_ips=db.session.execute(
            by_account.having(ips >= threshold).order_by(None).order_by(ips.desc(), account_key).limit(limit)
        ).all(),
        lockouts=list(
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == actions.LOCKOUT, *in_period)
                .order_by(*NEWEST_FIRST).limit(limit)
            )
        ),
        denied_total=db.session.scalar(sa.select(sa.func.count()).where(*denied)) or 0,
        denied_by_reason=db.session.execute(
            sa.select(reason, n).where(*denied).group_by(reason).order_by(n.desc(), reason)
        ).all(),
        denied=list(
            db.session.scalars(sa.select(AuditEvent).where(*denied).order_by(*NEWEST_FIRST).limit(limit))
        ),
        threshold=threshold,
    )
