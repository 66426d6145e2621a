"""Exactly once with a real RQ worker (real Redis) killed around the SMTP send, against
a real SMTP server (aiosmtpd): killed before the sent-marker, the message is sent again,
once; killed after it, never a second time."""
from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.extensions import db
from portal.models import User
from portal.models.notification import Category, DeliveryStatus
from portal.notifications.services import notify
from tests.notifications.helpers import deliveries_of
from tests.support.polling import wait_until
from tests.support.worker import ROOT, flask_command, worker_env


@pytest.mark.slow
@pytest.mark.parametrize("failpoint, delivered_before_rerun", [("before_marker", 0), ("after_send", 1)])
def test_a_worker_killed_mid_send_sends_exactly_once(rq_app, db_url, smtp_server, make_user, tmp_path,
                                                      failpoint, delivered_before_rerun):
    host, port, inbox = smtp_server
    user = make_user("student")
    with rq_app.app_context():
        notify(db.session.get(User, user.id), Category.LICENSE_STATUS, "license_suspended", license_id=1,
               code="PLY-AAAA-BBBB-CC", specialization="Player", level=1, note="Paused")
        db.session.commit()  # after the commit: on the RQ queue
    [queued] = deliveries_of(rq_app, user)
    assert queued.status == DeliveryStatus.PENDING

    flag = tmp_path / "at-failpoint"
    env = {**worker_env(rq_app, db_url), "MAIL_SERVER": host, "MAIL_PORT": str(port), "MAIL_USE_TLS": "0",
           "PORTAL_MAIL_FAILPOINT": f"{failpoint}:{flag}"}
    worker = subprocess.Popen(flask_command("jobs", "worker", "--burst"), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: flag.exists() or worker.poll() is not None)
        assert worker.poll() is None, "the worker ended before it reached the failpoint"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    [claimed] = deliveries_of(rq_app, user)
    if delivered_before_rerun:
        assert claimed.status == DeliveryStatus.SENT
        inbox.wait_for(1)
    else:
        assert claimed.status == DeliveryStatus.SENDING  # claimed, never marked

    # The scheduled run, once the dead worker's claim is stale: sends what was not sent.
    later = (utcnow() + timedelta(minutes=11)).isoformat()
    env.pop("PORTAL_MAIL_FAILPOINT")
    for _ in range(2):
        done = subprocess.run(flask_command("notifications", "run", "--now", later), cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(inbox.wait_for(1)) == 1
    [final] = deliveries_of(rq_app, user)
    assert final.status == DeliveryStatus.SENT
    assert final.attempts == (1 if delivered_before_rerun else 2)
    # Whatever a late packet might bring: still one message.
    assert wait_until(lambda: len(inbox.messages) == 1, timeout=2)
    assert len(inbox.messages) == 1
