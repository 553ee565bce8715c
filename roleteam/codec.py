"""Optional AES-GCM encryption of every payload roleteam puts into Temporal.

Set `ROLETEAM_ENCRYPTION_KEY_FILE` to a file of keys, one per line, `KEY_ID BASE64_KEY` (a 32-byte
AES-256 key; `roleteam codec-key KEY_ID` prints a new line). The first key encrypts; every key in
the file decrypts, so a rotated key is added as the new first line while the old ones stay below
until no history needs them. Each payload names its key id, so Temporal never holds a key, only
which one to use.

Every client roleteam builds (worker, CLI, demo, tests) gets its data converter from
`data_converter()`, so all of them encrypt and decrypt the same way; `roleteam codec-server` serves
the same codec over HTTP for the Temporal Web UI and `temporal … --codec-endpoint`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from roleteam.errors import InvalidInputError
from roleteam.payload_converter import shared_pydantic_data_converter

KEY_FILE_ENV = "ROLETEAM_ENCRYPTION_KEY_FILE"
ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NONCE_BYTES = 12
MAX_KEY_FILE_BYTES = 64 * 1024


class AesGcmCodec(PayloadCodec):
    """Encrypts each payload whole (metadata and data) with AES-256-GCM under the active key."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise InvalidInputError(f"encryption key {active!r} is not among the keys given")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active = active

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.encrypt(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.decrypt(payloads)

    def encrypt(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.active]
        key_id = self.active.encode()
        out = []
        for payload in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id}, data=nonce + sealed))
        return out

    def decrypt(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt what this codec encrypted; pass anything else (plain payloads) through."""
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise ValueError(
                    f"payload is encrypted with key {key_id[:64]!r}, which is not in ${KEY_FILE_ENV}; "
                    "keep old keys in the file after rotating"
                )
            data = payload.data
            try:
                plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
            except InvalidTag:
                raise ValueError(
                    f"payload encrypted with key {key_id!r} does not decrypt: the key file holds a "
                    "different key under that id, or the payload was altered"
                ) from None
            out.append(Payload.FromString(plain))
        return out


def load_key_file(path: Path) -> AesGcmCodec:
    """The codec for a key file; errors name the file and line, never a key."""
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise InvalidInputError(f"{KEY_FILE_ENV}={str(path)!r} is over {MAX_KEY_FILE_BYTES} bytes")
        text = path.read_text()
    except OSError as err:
        raise InvalidInputError(
            f"{KEY_FILE_ENV}={str(path)!r} cannot be read ({err.strerror}); create one with "
            "'roleteam codec-key KEY_ID > FILE'"
        ) from None
    keys: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {number}"
        parts = line.split()
        if len(parts) != 2 or not KEY_ID_PATTERN.fullmatch(parts[0]):
            raise InvalidInputError(f"{where}: write 'KEY_ID BASE64_KEY' (key id: letters, digits, '._-')")
        key_id, encoded = parts
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError(f"{where}: key {key_id!r} is not valid base64") from None
        if len(key) != 32:
            raise InvalidInputError(
                f"{where}: key {key_id!r} is {len(key)} bytes; use a 32-byte AES-256 key "
                "('roleteam codec-key KEY_ID' prints one)"
            )
        if key_id in keys:
            raise InvalidInputError(f"{where}: key id {key_id!r} appears twice")
        keys[key_id] = key
    if not keys:
        raise InvalidInputError(f"{KEY_FILE_ENV}={str(path)!r} holds no keys; add 'KEY_ID BASE64_KEY'")
    return AesGcmCodec(keys, active=next(iter(keys)))


def configured_codec() -> AesGcmCodec | None:
    """The codec from `$ROLETEAM_ENCRYPTION_KEY_FILE`, or None when encryption is off."""
    raw = os.environ.get(KEY_FILE_ENV, "").strip()
    return load_key_file(Path(raw).expanduser()) if raw else None


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """The pydantic data converter every roleteam client uses, with the codec when configured.

    Its payloads are `pydantic_data_converter`'s; its payload converter is built once per process
    (`roleteam.payload_converter`)."""
    codec = codec or configured_codec()
    if codec is None:
        return shared_pydantic_data_converter
    # Failure messages and stack traces go into an encrypted payload too: an error can quote
    # what the model or a validator was given.
    return dataclasses.replace(
        shared_pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def new_key_line(key_id: str) -> str:
    """A fresh `KEY_ID BASE64_KEY` line for the key file."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise InvalidInputError(f"key id {key_id!r}: use 1-64 letters, digits, '.', '_', '-'")
    return f"{key_id} {base64.b64encode(secrets.token_bytes(32)).decode()}"
