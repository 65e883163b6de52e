"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

The key comes from config (`security.encryption_key` / OCTOPOST_SECURITY_ENCRYPTION_KEY)
or from `<data dir>/secret.key`, generated on first start (mode 0600). A copy of
the database alone reveals no token; losing the key means reconnecting accounts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger("octopost.crypto")
KEY_FILE = "secret.key"


class CredentialBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(msgspec.json.encode(credentials))

    def open(self, sealed: bytes) -> dict[str, Any]:
        try:
            data = msgspec.json.decode(self._fernet.decrypt(sealed))
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
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    log.warning(
        "generated a new credentials encryption key at %s: back it up with the database; "
        "without it connected accounts must be reconnected",
        path,
    )
    return CredentialBox(key)
