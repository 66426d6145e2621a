"""Verifying a credential with only the published files: the DID document and the status
lists. Used by ``/verify/credential`` (with the portal's own, built in-process) and by
``flask credentials verify`` (with files a third party downloaded). Never touches the network.

The answer is a :class:`Verdict` whose ``code`` is one of ``CODES``; the route and the CLI
turn it into words.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal.credentials import documents, proofs, status
from portal.signing import b64url, unb64url

MAX_BYTES = 64 * 1024
JWT_ALGORITHMS = ("EdDSA", "Ed25519")  # the second is RFC 9864's name for the same

VALID = "valid"
REVOKED = "revoked"
SUPERSEDED = "superseded"
SUSPENDED = "suspended"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
FOREIGN = "foreign_issuer"
ALTERED = "altered"
UNKNOWN_KEY = "unknown_key"
CONTEXT_REFUSED = "context_refused"
TOO_LARGE = "too_large"
MALFORMED = "malformed"
STATUS_UNKNOWN = "status_unknown"
CODES = (VALID, REVOKED, SUPERSEDED, SUSPENDED, EXPIRED, NOT_YET_VALID, FOREIGN, ALTERED, UNKNOWN_KEY,
         CONTEXT_REFUSED, TOO_LARGE, MALFORMED, STATUS_UNKNOWN)

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@dataclass
class Verdict:
    code: str
    detail: str = ""
    credential: dict | None = None
    form: str | None = None  # "data-integrity" or "jwt"
    since: datetime | None = None  # revoked or expired on...
    extra: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.code == VALID

    @property
    def name(self) -> str | None:
        return (self.credential or {}).get("name") if isinstance(self.credential, dict) else None


class _Stop(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail)
        self.verdict = Verdict(code, detail)


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_contexts(document: dict) -> None:
    """Only the shipped contexts, named by address, and no context anywhere else: a
    credential cannot redefine what its terms mean."""
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != documents.CREDENTIALS_V2:
        raise _Stop(CONTEXT_REFUSED, "the first @context must be " + documents.CREDENTIALS_V2)
    for item in contexts:
        if not isinstance(item, str) or item not in documents.FILES:
            raise _Stop(CONTEXT_REFUSED, f"@context {str(item)[:120]!r} is not accepted")

    def walk(node, top: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@context" and not top:
                    raise _Stop(CONTEXT_REFUSED, "an embedded @context is not accepted")
                walk(value, False)
        elif isinstance(node, list):
            for value in node:
                walk(value, False)

    for key, value in document.items():
        if key != "@context":
            walk(value, False)


def _issuer(document: dict) -> str | None:
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer if isinstance(issuer, str) else None


def _key(did_document: dict, method: str) -> Ed25519PublicKey:
    """The public key of verification method ``method`` in the DID document."""
    subject = did_document.get("id")
    if not isinstance(method, str) or not method.startswith(f"{subject}#"):
        raise _Stop(UNKNOWN_KEY, f"key {str(method)[:120]!r} is not one of the academy's")
    allowed = did_document.get("assertionMethod") or []
    for entry in did_document.get("verificationMethod") or []:
        if isinstance(entry, dict) and entry.get("id") == method and method in allowed:
            try:
                raw = proofs.raw_from_multikey(entry.get("publicKeyMultibase"))
                return Ed25519PublicKey.from_public_bytes(raw)
            except (proofs.ProofError, ValueError):
                break
    raise _Stop(UNKNOWN_KEY, f"key {method[:120]!r} is not in the academy's DID document")


def check_proof(document: dict, did_document: dict) -> None:
    """Raise _Stop unless ``document`` carries a valid eddsa-rdfc-2022 proof by one of the
    DID document's keys."""
    try:
        unsecured, proof = proofs.split_proof(document)
    except proofs.ProofError as exc:
        raise _Stop(MALFORMED, str(exc)) from None
    key = _key(did_document, proof["verificationMethod"])
    try:
        signature = proofs.from_multibase_z(proof.get("proofValue"))
        data = proofs.hash_data(unsecured, proof)
    except proofs.ProofError as exc:
        raise _Stop(ALTERED, str(exc)) from None
    except Exception as exc:  # pyld: a document that is not valid JSON-LD
        if isinstance(exc.__cause__, documents.ContextRefused) or "not shipped" in str(exc):
            raise _Stop(CONTEXT_REFUSED, "a context that is not shipped was asked for") from None
        raise _Stop(MALFORMED, "the credential is not valid JSON-LD") from None
    try:
        key.verify(signature, data)
    except (InvalidSignature, ValueError):
        raise _Stop(ALTERED, "the proof does not match the credential") from None


def _jwt(token: str, did_document: dict) -> dict:
    from joserfc import jws  # noqa: PLC0415
    from joserfc.errors import JoseError  # noqa: PLC0415
    from joserfc.jwk import OKPKey  # noqa: PLC0415

    try:
        header = json.loads(unb64url(token.split(".")[0]))
    except ValueError:
        raise _Stop(MALFORMED, "the JWT header is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") not in JWT_ALGORITHMS:
        raise _Stop(MALFORMED, "the JWT is not signed with EdDSA")
    key = _key(did_document, header.get("kid"))
    jwk = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64url(key.public_bytes_raw())})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc warns that "EdDSA" is now spelt "Ed25519"
            payload = jws.deserialize_compact(token, jwk, algorithms=list(JWT_ALGORITHMS)).payload
    except (JoseError, ValueError):
        raise _Stop(ALTERED, "the JWT's signature does not match") from None
    try:
        document = json.loads(payload)
    except ValueError:
        raise _Stop(MALFORMED, "the JWT's payload is not JSON") from None
    if not isinstance(document, dict):
        raise _Stop(MALFORMED, "the JWT's payload is not a credential")
    return document


def _status(document: dict, did_document: dict, status_lists: dict[str, dict]) -> set[str]:
    """The purposes whose bit is set for this credential."""
    entries = document.get("credentialStatus") or []
    if isinstance(entries, dict):
        entries = [entries]
    found = set()
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            continue
        url, purpose = entry.get("statusListCredential"), entry.get("statusPurpose")
        listing = status_lists.get(url)
        if listing is None:
            raise _Stop(STATUS_UNKNOWN, f"no status list given for {str(url)[:120]!r}")
        if _issuer(listing) != did_document.get("id"):
            raise _Stop(STATUS_UNKNOWN, "the status list is not the academy's")
        try:
            check_proof(listing, did_document)
        except _Stop as stop:
            raise _Stop(STATUS_UNKNOWN, f"the status list does not verify: {stop}") from None
        subject = listing.get("credentialSubject") or {}
        if subject.get("statusPurpose") != purpose:
            raise _Stop(STATUS_UNKNOWN, "the status list is for another purpose")
        try:
            if status.bit(status.decode(subject.get("encodedList")), int(entry.get("statusListIndex"))):
                found.add(purpose)
        except (TypeError, ValueError, OSError):
            raise _Stop(STATUS_UNKNOWN, "the status list cannot be read") from None
    return found


def load(data: bytes | str) -> tuple[str, dict | str]:
    """("jwt", token) or ("json", document) from what was pasted or uploaded; _Stop when it
    is too large or neither."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if len(data) > MAX_BYTES:
        raise _Stop(TOO_LARGE, f"over {MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise _Stop(MALFORMED, "not UTF-8 text") from None
    if _JWT.match(text):
        return "jwt", text
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise _Stop(MALFORMED, "neither JSON nor a JWT") from None
    if not isinstance(document, dict):
        raise _Stop(MALFORMED, "not a JSON object")
    return "json", document


def verify(data: bytes | str, did_document: dict, status_lists: dict[str, dict], now: datetime) -> Verdict:
    """Check a pasted or uploaded credential (JSON with a Data Integrity proof, or a VC-JWT)."""
    document = None
    form = None
    try:
        kind, value = load(data)
        if kind == "jwt":
            form = "jwt"
            document = _jwt(value, did_document)
            _check_contexts(document)
        else:
            form = "data-integrity"
            document = value
            _check_contexts(document)
        if _issuer(document) != did_document.get("id"):
            raise _Stop(FOREIGN, f"issuer {str(_issuer(document))[:120]!r}")
        if kind == "json":
            check_proof(document, did_document)
        purposes = _status(document, did_document, status_lists)
    except _Stop as stop:
        verdict = stop.verdict
        verdict.credential, verdict.form = document if isinstance(document, dict) else None, form
        return verdict
    except RecursionError:
        return Verdict(MALFORMED, "nested too deeply")
    valid_from, valid_until = _parse_time(document.get("validFrom")), _parse_time(document.get("validUntil"))
    verdict = Verdict(VALID, credential=document, form=form)
    if "revocation" in purposes:
        verdict.code = REVOKED
    elif "suspension" in purposes:
        verdict.code = SUSPENDED
    elif valid_until is not None and valid_until <= now:
        verdict.code, verdict.since = EXPIRED, valid_until
    elif valid_from is None or valid_from > now:
        verdict.code, verdict.since = NOT_YET_VALID, valid_from
    return verdict
