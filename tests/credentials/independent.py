"""An independent verifier of Portal's credentials, written from the W3C texts and sharing no
code with Portal: pyld canonicalises (RDFC-1.0, with its own offline loader reading the
context files), hashlib hashes, `cryptography` checks the Ed25519 signature, and the keys
come from the DID document as served."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

CONTEXT_FILES = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.jsonld",
}
FOLDER = Path(__file__).resolve().parents[2] / "portal" / "credentials" / "contexts"
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def offline_loader(url, options=None):
    return {"contextUrl": None, "documentUrl": url,
            "document": json.loads((FOLDER / CONTEXT_FILES[url]).read_text())}


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        n = n * 58 + ALPHABET.index(c)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def rdfc(doc: dict) -> bytes:
    return jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                  "documentLoader": offline_loader}).encode()


def verify(credential: dict, did_document: dict) -> bool:
    proof = dict(credential["proof"])
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    signature = b58decode(proof.pop("proofValue")[1:])
    proof["@context"] = credential["@context"]
    document = {k: v for k, v in credential.items() if k != "proof"}
    data = hashlib.sha256(rdfc(proof)).digest() + hashlib.sha256(rdfc(document)).digest()
    named = credential["proof"]["verificationMethod"]
    method = next(m for m in did_document["verificationMethod"] if m["id"] == named)
    key = b58decode(method["publicKeyMultibase"][1:])
    assert key[:2] == b"\xed\x01"
    try:
        Ed25519PublicKey.from_public_bytes(key[2:]).verify(signature, data)
    except Exception:
        return False
    return True
