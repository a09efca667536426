"""Secrets sealed at rest: platform credentials are stored as Fernet tokens.

The key comes from ``TRACKER_CREDENTIALS_KEY`` (one or more Fernet keys, comma separated:
the first seals, every one opens, so a key can be rotated with ``flask rotate-credentials``).
Without it, development derives a key from ``SECRET_KEY``; production refuses to start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(ValueError):
    """A key is malformed, or a sealed value cannot be opened with the configured keys."""


def derived_key(secret_key: str, purpose: str = "credentials") -> str:
    """A development key tied to SECRET_KEY (HKDF), so a demo needs no extra setting; one
    per purpose, so credentials and personal data never share a key."""
    info = f"tracker {purpose}".encode()
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw).decode()


class Sealer:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SealError("TRACKER_CREDENTIALS_KEY is empty")
        self._first = parts[0]
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except ValueError as exc:
            raise SealError(
                "TRACKER_CREDENTIALS_KEY must be Fernet keys (32 url-safe base64 bytes), "
                "e.g. python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc

    def seal(self, values: dict[str, Any]) -> str:
        """A token carrying ``values``; a fresh random IV each time, so equal values never
        give equal tokens."""
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()

    def fingerprint(self, text: str) -> str:
        """A keyed digest of ``text`` (HMAC-SHA256 under a key derived from the sealing
        key): equal values give equal fingerprints, so a number is found or kept once
        without being stored in clear. Resealing with a new key recomputes them."""
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fingerprint").derive(
            self._first.encode()
        )
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    def open(self, token: str) -> dict[str, Any]:
        try:
            values = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SealError("sealed with a key that is not configured") from exc
        if not isinstance(values, dict):
            raise SealError("sealed value is not an object")
        return values

    def reseal(self, token: str) -> str:
        """The same value sealed with the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SealError("sealed with a key that is not configured") from exc
