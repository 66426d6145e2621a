"""Portal: the web portal of a training academy."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import portal.models  # noqa: F401  (every table is known to the metadata)
from portal import cli, errors, i18n, jobs, search, security, templating
from portal import config as config_module
from portal.account import bp as account_bp
from portal.achievements import bp as achievements_bp
from portal.admin import bp as admin_bp
from portal.admin import bulk
from portal.admin.services import BULK_KIND
from portal.audit import bp as audit_bp
from portal.audit import integrity
from portal.auth import bp as auth_bp
from portal.classes import bp as classes_bp
from portal.classes import invitations as class_invitations
from portal.classes import invitations_bp
from portal.credentials.routes import bp as credentials_bp
from portal.dashboard import bp as dashboard_bp
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.licenses import bp as licenses_bp
from portal.notifications import bp as notifications_bp
from portal.notifications import cli as notifications_cli
from portal.notifications import display as notifications_display
from portal.notifications import routes as notifications_routes  # noqa: F401  (its pages on the blueprint)
from portal.params import IdConverter
from portal.public import bp as public_bp
from portal.transparency import bp as transparency_bp

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    overrides = dict(overrides or {})
    instance_path = (
        overrides.pop("INSTANCE_PATH", None)
        or os.environ.get("PORTAL_INSTANCE_PATH")
        or str(ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Keys, the secret key and the SQLite database live here: the owner's alone.
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    app.config.update(config_module.load(app.instance_path))
    app.config.update(overrides)
    config_module.create_private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    app.request_class = security.Request
    # Before any route is added: every <int:...> id is range-checked (portal.params).
    app.url_map.converters["int"] = IdConverter
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key_from_instance(app.instance_path)
    if not app.config.get("TOTP_KEY"):
        app.config["TOTP_KEY"] = config_module.secret_key_from_instance(app.instance_path, "totp_key")
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_job_handlers(app)

    errors.register(app)
    security.register(app)
    templating.register(app)
    notifications_display.register(app)

    cli.register(app)
    app.cli.add_command(notifications_cli.notifications_cli)
    return app


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # The PDF and font libraries narrate every render at INFO; keep their warnings only.
    for noisy in ("weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    # The search indexes exist on one database each and are not in the models.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     include_name=search.include_name)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # The refusal's flash is permissions.ask_to_log_in's own; Flask-Login's is never used.
    login_manager.session_protection = None  # our server-side sessions do this job


def _register_blueprints(app: Flask) -> None:
    for bp in (public_bp, auth_bp, account_bp, dashboard_bp, classes_bp, invitations_bp, licenses_bp,
               admin_bp, audit_bp, achievements_bp, transparency_bp, credentials_bp, notifications_bp):
        app.register_blueprint(bp)


def _register_job_handlers(app: Flask) -> None:
    """Every kind of background job and what does its work; the RQ worker builds the app
    too, so it knows them all."""
    jobs.register(BULK_KIND, bulk.bulk_licenses)
    jobs.register(integrity.JOB_KIND, integrity.run_check)
    jobs.register(class_invitations.JOB_KIND, class_invitations.send_invitations)
    from portal.privacy import export  # noqa: PLC0415 - imports the admin and audit modules
    jobs.register(export.JOB_KIND, export.run_export)
