"""The transparency log at scale: the cost of an append, of proofs, and of a full verify.

    python -m bench.bench_transparency [--leaves 1000000]

On a throw-away instance (SQLite, or the PostgreSQL database in DATABASE_URL, which must
be empty) it writes N history rows of one license and fills the log with them in bulk
(the same ``log.backfill`` the migration and the scale seed use), then prints:

- one leaf appended in a license change's transaction (goal < 2 ms);
- an inclusion and a consistency proof, database time included (goal at 1,000,000 leaves
  < 5 ms);
- ``transparency verify`` of the whole log (goal for 1,000,000 leaves < 60 s).

``make bench`` takes the same figures on the scale database (``figures``), whose log the
scale seed fills. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from bench.common import Instance, timed


def measure(app, samples: int = 200) -> dict:
    """The figures on the app's database, whatever its log holds."""
    from portal.extensions import db
    from portal.models import License
    from portal.transparency import check, log

    out = {}
    with app.app_context():
        size = log.size()
        out["leaves"] = size
        license = db.session.scalar(sa.select(License).order_by(License.id).limit(1))
        license.holder, license.specialization  # noqa: B018 - loaded before the clock starts
        now = datetime.now(UTC)
        counter = iter(range(10**9, 10**9 + 10 * samples))

        def append():
            event = SimpleNamespace(seq=next(counter), kind="renewed", level=license.level,
                                    status=license.status, reason=None, expires_at=license.expires_at,
                                    at=now, prev_hash="0" * 64, hash=secrets.token_hex(32))
            log.append(license, event)

        out["append_ms"], out["append_p95_ms"] = timed(append, 50)
        db.session.rollback()
        rng = random.Random(1)
        out["inclusion_ms"], out["inclusion_p95_ms"] = timed(
            lambda: log.inclusion_proof(rng.randrange(size), size), samples)
        out["consistency_ms"], out["consistency_p95_ms"] = timed(
            lambda: log.consistency_proof(rng.randint(1, size), size), samples)
        db.session.rollback()
        start = time.perf_counter()
        report = check.verify(db.session)
        out["verify_s"] = time.perf_counter() - start
        out["verify_ok"] = report.ok
        out["problems"] = report.problems[:3]
        db.session.rollback()
    return out


def figures(app, report) -> None:
    """For ``bench.run``: the log the scale seed filled."""
    got = measure(app)
    n = got["leaves"]
    report.add("transparency", "append one leaf to a license change (median)", got["append_ms"], "ms", 2)
    report.add("transparency", f"inclusion proof at {n:,} leaves (median)", got["inclusion_ms"], "ms", 5)
    report.add("transparency", f"consistency proof at {n:,} leaves (median)", got["consistency_ms"], "ms", 5)
    report.add("transparency", f"transparency verify of {n:,} leaves", got["verify_s"], "s",
               round(60 * max(n, 1) / 1_000_000, 2), ok=got["verify_ok"])


def fill(app, n: int, batch: int = 50_000) -> float:
    """N history rows of one license (not a real chain: only the log is measured), then
    the log filled from them in bulk; returns the seconds the log took."""
    from portal.extensions import db
    from portal.models import License, LicenseEvent, Specialization, User
    from portal.transparency import log

    start_at = datetime.now(UTC) - timedelta(days=365)
    with app.app_context():
        user = User(email="holder@bench.test", name="Bench Holder", role="student")
        spec = Specialization(code="BEN", name="Bench", max_level=3)
        db.session.add_all([user, spec])
        db.session.flush()
        license = License(code="BEN-0000-0000-0000-0", holder_id=user.id, specialization_id=spec.id, level=1)
        db.session.add(license)
        db.session.flush()
        table = LicenseEvent.__table__
        for first in range(0, n, batch):
            db.session.execute(sa.insert(table), [
                {"license_id": license.id, "seq": i + 1, "kind": "renewed", "level": 1, "status": "active",
                 "at": start_at + timedelta(seconds=i), "prev_hash": "0" * 64,
                 "hash": secrets.token_hex(32)}
                for i in range(first, min(n, first + batch))
            ])
        db.session.commit()
        print(f"  {n:,} history rows written", flush=True)
        start = time.perf_counter()
        log.backfill(db.session, batch=batch,
                     echo=lambda line: print(line, flush=True) if "000,000" in line else None)
        db.session.commit()
        seconds = time.perf_counter() - start
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE transparency_leaves, transparency_nodes")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    args = parser.parse_args()

    instance = Instance(os.environ.get("DATABASE_URL"))
    try:
        app = instance.app()
        print(f"filling a log of {args.leaves:,} leaves …", flush=True)
        seconds = fill(app, args.leaves)
        print(f"bulk fill: {seconds:.1f} s ({seconds / args.leaves * 1e6:.0f} µs per leaf)")
        got = measure(app)
        rows = (("append one leaf", "append", "< 2"), ("inclusion proof", "inclusion", "< 5"),
                ("consistency proof", "consistency", "none"))
        for label, key, goal in rows:
            print(f"{label + ':':<22}{got[key + '_ms']:.2f} ms median, {got[key + '_p95_ms']:.2f} ms p95 "
                  f"(goal {goal})")
        print(f"transparency verify:  {got['verify_s']:.1f} s for {got['leaves']:,} leaves "
              f"(goal < 60 s per million), intact: {got['verify_ok']} {got['problems']}")
    finally:
        instance.cleanup()


if __name__ == "__main__":
    main()
