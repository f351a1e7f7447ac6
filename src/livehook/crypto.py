"""Encryption of signing secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

Operators give any high-entropy string as LIVEHOOK_SECRET_KEY; it is stretched to a Fernet key with
HKDF so they need not know Fernet's key format. Several comma-separated keys allow key rotation:
the first encrypts, all decrypt.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

# Fixed salt and info: the input key is already high-entropy; HKDF only reshapes it.
_HKDF_INFO = b"livehook secret encryption v1"
MIN_KEY_CHARS = 16


class DecryptionError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def _fernet_key(material: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(derived)


class SecretBox:
    """Encrypts and decrypts short secrets (webhook and callback signing secrets)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        for key in keys:
            if len(key) < MIN_KEY_CHARS:
                raise ValueError(
                    f"LIVEHOOK_SECRET_KEY must be at least {MIN_KEY_CHARS} characters of "
                    "random text"
                )
        self._keys = tuple(keys)

    # Built when a secret is first sealed or opened: `cryptography` is a good part of the start
    # of a command that never does (`livehook keys list`).
    @cached_property
    def _fernet(self) -> MultiFernet:
        from cryptography.fernet import Fernet, MultiFernet

        return MultiFernet([Fernet(_fernet_key(k)) for k in self._keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "a stored secret cannot be decrypted: was LIVEHOOK_SECRET_KEY changed?"
            ) from None
