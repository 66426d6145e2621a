"""`flask --app wsgi credentials verify FILE --did did.json --status revocation.json ...`:
check a credential with only the academy's published files (no database, no network)."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from portal.credentials import verifying
from portal.credentials.words import verdict_text

credentials_cli = AppGroup("credentials", help="Open Badges credentials.")


def _read_json(path: str, what: str) -> dict:
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(4 * 1024 * 1024))
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"{what} {path}: cannot be read as JSON ({exc.__class__.__name__}).") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{what} {path}: not a JSON object.")
    return data


@credentials_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--did", "did_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The academy's DID document (/.well-known/did.json), saved as a file.")
@click.option("--status", "status_paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A status list credential (/credentials/status/revocation, /suspension), saved as a "
                   "file; give each.")
def credentials_verify(file: str, did_path: str, status_paths: tuple[str, ...]) -> None:
    """Check a credential (JSON or JWT) offline: its proof against the DID document, its
    status in the status lists and its dates. Exit 0 when valid, 1 otherwise."""
    with click.open_file(file, "rb") as fh:
        data = fh.read(verifying.MAX_BYTES + 1)
    did_document = _read_json(did_path, "DID document")
    lists = {}
    for path in status_paths:
        listing = _read_json(path, "Status list")
        lists[listing.get("id")] = listing
    verdict = verifying.verify(data, did_document, lists, datetime.now(UTC))
    click.echo(f"{verdict.code}: {verdict_text(verdict)}")
    if verdict.detail:
        click.echo(f"  ({verdict.detail})")
    if not verdict.valid:
        raise SystemExit(1)
