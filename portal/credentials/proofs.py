"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite, and the encodings they use.

The algorithm (W3C "Data Integrity EdDSA Cryptosuites v1.0", §3.2): the proof options
(the proof without ``proofValue``, given the document's ``@context``) and the document
(without ``proof``) are each canonicalised with RDFC-1.0 and hashed with SHA-256; the
signature is Ed25519 over the proof options' hash followed by the document's hash, written
as multibase base58btc (``z...``). Public keys are ``Multikey``: base58btc of the two-byte
Ed25519 multicodec header ``0xed01`` and the 32 raw bytes.

Free of Flask: the offline verifier (CLI) uses it with files only.
"""
from __future__ import annotations

import copy
import hashlib
from urllib.parse import quote, urlsplit

from portal.credentials import documents

CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"
_ED25519_HEADER = b"\xed\x01"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class ProofError(ValueError):
    """The proof is missing, malformed or names something we cannot check."""


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def unbase58btc(text: str) -> bytes:
    number = 0
    for char in text:
        index = _B58.find(char)
        if index < 0:
            raise ValueError("not base58btc")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multibase_z(data: bytes) -> str:
    return "z" + base58btc(data)


def from_multibase_z(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("z"):
        raise ProofError("not a base58btc multibase value")
    try:
        return unbase58btc(text[1:])
    except ValueError as exc:
        raise ProofError(str(exc)) from None


def multikey(raw_public_key: bytes) -> str:
    """An Ed25519 public key as ``publicKeyMultibase`` (``z6Mk...``)."""
    return multibase_z(_ED25519_HEADER + raw_public_key)


def raw_from_multikey(value: str) -> bytes:
    data = from_multibase_z(value)
    if not data.startswith(_ED25519_HEADER) or len(data) != 34:
        raise ProofError("not an Ed25519 Multikey")
    return data[2:]


def did_web(base_url: str) -> str:
    """``did:web`` of the host in ``base_url`` (a port is written ``%3A``, as did:web says)."""
    parts = urlsplit(base_url)
    did = "did:web:" + quote(parts.netloc, safe="")
    path = parts.path.strip("/")
    if path:
        did += ":" + ":".join(quote(p, safe="") for p in path.split("/"))
    return did


_resolved_contexts = None


def canonical(document: dict) -> bytes:
    """RDFC-1.0 (URDNA2015) N-Quads of ``document``, with the shipped contexts only. The
    resolved contexts are cached here, apart from pyld's process-wide cache, so another user
    of pyld in the process can never change what Portal's contexts mean."""
    global _resolved_contexts
    from cachetools import LRUCache  # noqa: PLC0415  (pyld's own dependency)
    from pyld import jsonld  # noqa: PLC0415
    from pyld.context_resolver import ContextResolver  # noqa: PLC0415

    if _resolved_contexts is None:
        _resolved_contexts = LRUCache(maxsize=32)
    return jsonld.normalize(document, {
        "algorithm": "URDNA2015", "format": "application/n-quads",
        "documentLoader": documents.loader,
        "contextResolver": ContextResolver(_resolved_contexts, documents.loader),
    }).encode()


def hash_data(document: dict, proof_options: dict) -> bytes:
    """The 64 bytes that are signed: SHA-256 of the proof options, then of the document."""
    options = {"@context": document["@context"], **{k: v for k, v in proof_options.items()
                                                    if k not in ("proofValue", "@context")}}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return hashlib.sha256(canonical(options)).digest() + hashlib.sha256(canonical(unsecured)).digest()


def add_proof(document: dict, verification_method: str, created: str, sign) -> dict:
    """``document`` with a proof; ``sign(bytes) -> bytes`` makes the Ed25519 signature."""
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    proof["proofValue"] = multibase_z(sign(hash_data(document, proof)))
    return {**document, "proof": proof}


def split_proof(document: dict) -> tuple[dict, dict]:
    """(the document without its proof, the proof); ProofError when the proof is not ours to check."""
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ProofError("no proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError("not a DataIntegrityProof with eddsa-rdfc-2022")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("the proof's purpose is not assertionMethod")
    if not isinstance(proof.get("verificationMethod"), str):
        raise ProofError("the proof names no verification method")
    return {k: v for k, v in copy.deepcopy(document).items() if k != "proof"}, proof
