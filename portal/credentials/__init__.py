"""Portable credentials (SPEC §13): every license as an Open Badges 3.0 credential.

- :mod:`.documents`: the JSON-LD contexts shipped with the portal, and the document loader
  that serves only them (never the network).
- :mod:`.proofs`: Data Integrity proofs (``eddsa-rdfc-2022``), multibase and ``did:web``.
- :mod:`.issuing`: the credential of a license, the DID document, VC-JWT.
- :mod:`.status`: Bitstring Status Lists (revocation, suspension) and the hook the license
  services call on every change.
- :mod:`.routes`: the pages and files (blueprint ``credentials``, imported by ``create_app``).
- :mod:`.verifying`: checking a credential with only the published files.
"""
