"""The JSON-LD contexts a credential may use, shipped with the portal.

Where they come from: ``credentials-v2.jsonld`` is the W3C's ``contexts/credentials/v2``
(w3c/vc-data-model), ``ob-v3p0-context-3.0.3.jsonld`` 1EdTech's ``ob_v3p0/context-3.0.3.json``
(1EdTech/openbadges-specification), ``ob-v3p0-extensions.jsonld`` the extensions context as
the openbadgeslib package pins it.

The document loader serves these files and refuses every other address, so canonicalising
a credential (ours or one pasted by a visitor) never opens a network connection, and a
credential naming a context we do not know is refused rather than fetched.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# 1EdTech's extensions context, which Open Badges issuers commonly add (not used by Portal's own).
OPEN_BADGES_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"

_FOLDER = Path(__file__).parent / "contexts"
FILES = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OPEN_BADGES_V3: "ob-v3p0-context-3.0.3.jsonld",
    OPEN_BADGES_EXTENSIONS: "ob-v3p0-extensions.jsonld",
}


class ContextRefused(ValueError):
    """A credential named a JSON-LD context that is not shipped with the portal."""


@cache
def _load(url: str) -> dict:
    return json.loads((_FOLDER / FILES[url]).read_text(encoding="utf-8"))


def context(url: str) -> dict:
    """The shipped context document for ``url``; ContextRefused for any other address."""
    if url not in FILES:
        raise ContextRefused(url)
    return _load(url)


def loader(url: str, options=None) -> dict:
    """A pyld document loader that never goes to the network."""
    from pyld.jsonld import JsonLdError  # noqa: PLC0415  (pyld is heavy; load it when needed)

    if url not in FILES:
        raise JsonLdError(f"context {url[:200]!r} is not shipped with the portal",
                          "jsonld.LoadDocumentError", code="loading document failed")
    return {"contextUrl": None, "documentUrl": url, "document": context(url)}
