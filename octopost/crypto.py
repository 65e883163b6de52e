"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

The key comes from config (`security.encryption_key` / OCTOPOST_SECURITY_ENCRYPTION_KEY)
or from `<data dir>/secret.key`, generated on first start (mode 0600). A copy of
the database alone reveals no token; losing the key means reconnecting accounts.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

log = logging.getLogger("octopost.crypto")
KEY_FILE = "secret.key"


def generate_key() -> bytes:
    """A new Fernet key: 32 random bytes, url-safe base64 (what `Fernet.generate_key` makes)."""
    return base64.urlsafe_b64encode(os.urandom(32))


def _check_key(key: bytes) -> None:
    """Fernet's own test of a key (32 url-safe base64-encoded bytes), without loading
    `cryptography` (its native module costs ~60 ms of every start)."""
    try:
        raw = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.") from exc
    if len(raw) != 32:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.")


class CredentialBox:
    """Seals and opens credentials. The key is checked at once; `cryptography` is loaded
    by the first seal or open (or by the start-up warm-up, `octopost.warmup`)."""

    def __init__(self, key: bytes) -> None:
        _check_key(key)
        self._key = key
        self._box: Fernet | None = None

    def _fernet(self) -> Fernet:
        if self._box is None:
            from cryptography.fernet import Fernet

            self._box = Fernet(self._key)
        return self._box

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet().encrypt(msgspec.json.encode(credentials))

    def open(self, sealed: bytes) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            data = msgspec.json.decode(self._fernet().decrypt(sealed))
        except InvalidToken as exc:
            raise RuntimeError(
                "stored credentials cannot be decrypted: the encryption key changed "
                "(security.encryption_key or secret.key); restore the old key or reconnect the account"
            ) from exc
        if not isinstance(data, dict):
            raise RuntimeError("stored credentials are corrupt")
        return data

    def __repr__(self) -> str:
        return "CredentialBox(<key hidden>)"


def load_box(configured: str, data_dir: Path) -> CredentialBox:
    """The box for configured key, else the data directory's key file (created if missing)."""
    if configured:
        try:
            return CredentialBox(configured.encode())
        except ValueError as exc:
            raise ValueError(
                "security.encryption_key must be a Fernet key (32 url-safe base64-encoded bytes); "
                'generate one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from exc
    path = data_dir / KEY_FILE
    if path.exists():
        return CredentialBox(path.read_bytes().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    log.warning(
        "generated a new credentials encryption key at %s: back it up with the database; "
        "without it connected accounts must be reconnected",
        path,
    )
    return CredentialBox(key)
