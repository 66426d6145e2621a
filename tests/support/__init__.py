"""Everything the tests share; test modules import from here, never from one another.

Plugins (fixtures, registered by tests/conftest.py): ``app``, ``factories.*``,
``audit``, ``mail``, ``logs``, ``live``, ``world``. Plain helpers: ``http`` (the
Flask test client: login, CSRF, cookies), ``lookups`` (reading rows inside an app
context), ``journeys`` (browser steps).
"""
