"""The README's offline recipe for the transparency log, run exactly as printed there,
against the JSON a live server (gunicorn) answers over HTTP. The recipe reads
``license.json`` and ``portal-keys.json`` from the current folder, as a reader would save
them."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from tests.support.live import HttpClient

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow


def recipe() -> str:
    section = README.read_text(encoding="utf-8").split("## Transparency log", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def run_recipe(folder: Path, doc: dict, keys: dict, monkeypatch) -> str:
    (folder / "license.json").write_text(json.dumps(doc), encoding="utf-8")
    (folder / "portal-keys.json").write_text(json.dumps(keys), encoding="utf-8")
    monkeypatch.chdir(folder)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(recipe(), "README recipe", "exec"), {})  # noqa: S102 - the README's own code
    return out.getvalue()


def test_the_readme_recipe_checks_a_live_servers_answer(signed_license, live_server, tmp_path, monkeypatch):
    for status in ("revoked", None, "suspended"):
        signed_license(holder_name="Zoë Ångström-Okafor", status=status)
    newest = signed_license(holder_name="Kovács Eszter", level=3)
    server = live_server(workers=2)
    http = HttpClient(server.url)
    doc = json.loads(http.get(f"/verify/{newest.code}.json").body)
    keys = json.loads(http.get("/.well-known/portal-keys.json").body)
    out = run_recipe(tmp_path, doc, keys, monkeypatch)
    entry = doc["transparency"]
    number, size = entry["leaf_index"] + 1, entry["tree_size"]
    assert out.strip() == f"recorded in the public log: entry {number} of {size}"
    assert entry["tree_size"] >= entry["leaf_index"] + 1

    # Anything changed in what the reader holds fails the recipe.
    older = json.loads(http.get(f"/verify/{newest.code}.json").body)
    for change in ("proof", "leaf", "checkpoint", "holder"):
        doc = json.loads(json.dumps(older))
        log = doc["transparency"]
        if change == "proof":
            log["inclusion_proof"][0] = log["inclusion_proof"][1]
        elif change == "leaf":
            log["leaf_index"] = max(0, log["leaf_index"] - 1)
        elif change == "checkpoint":
            lines = log["checkpoint"].split("\n")
            lines[1] = str(int(lines[1]) + 1)
            log["checkpoint"] = "\n".join(lines)
        else:
            doc["holder"] = "Someone Else"
        with pytest.raises(Exception):  # noqa: B017, PT011 - an assertion or InvalidSignature
            run_recipe(tmp_path, doc, keys, monkeypatch)
