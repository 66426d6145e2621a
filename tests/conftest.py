"""The suite's fixtures live in ``tests/support`` and are registered here as plugins.

- ``app``: the app on a fresh, migrated database per test (SQLite or PostgreSQL)
- ``factories``: users, specializations, licenses, classes (through the real services)
- ``audit``: ``audit_events(action=None, since=0)`` and events made or tampered with
- ``mail``: a real SMTP server; ``logs``: the secret-free log check
- ``live``: a real gunicorn server and an HTTP client for it
- ``worker``: an app on its own Redis queue, and a real ``flask jobs worker``
- ``world``: one of everything, for the access matrix and the fuzzer
"""
import pytest

# Plain helpers in tests/support (http, lookups, journeys) get pytest's assertion messages too.
pytest.register_assert_rewrite("tests.support")

pytest_plugins = [
    "tests.support.app",
    "tests.support.factories.users",
    "tests.support.factories.licenses",
    "tests.support.factories.classes",
    "tests.support.factories.achievements",
    "tests.support.audit",
    "tests.support.mail",
    "tests.support.logs",
    "tests.support.live",
    "tests.support.world",
    "tests.support.worker",
]
