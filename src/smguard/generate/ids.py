"""Identifiers that look like AWS's, drawn from a seeded ``random.Random``.

Every id in the output comes from here so that one seed gives byte-identical files;
``uuid.uuid4()`` or ``os.urandom`` would break that.
"""

from __future__ import annotations

import random

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM_UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string from ``rng`` (fast: one getrandbits, one format)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def hexstr(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def key_id(rng: random.Random, prefix: str, length: int = 16) -> str:
    """Access key / unique ids: ``AKIA``/``ASIA`` + 16, ``AROA``/``AIDA`` + 17 characters."""
    return prefix + "".join(rng.choice(_B32) for _ in range(length))


def s3_request_id(rng: random.Random) -> str:
    """S3 request ids are 16 upper-case alphanumerics."""
    return "".join(rng.choice(_ALNUM_UP) for _ in range(16))


def amz_id2(rng: random.Random) -> str:
    import base64

    return base64.b64encode(rng.getrandbits(8 * 57).to_bytes(57, "big")).decode()


def token(rng: random.Random, n: int = 16) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def secret_suffix(name: str) -> str:
    """The 6 characters Secrets Manager appends to a secret's ARN, fixed per secret name.

    AWS draws them once when the secret is created; deriving them from the name keeps every
    call on one secret (baseline or scenario) naming the same ARN.
    """
    import hashlib

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    digest = hashlib.sha256(f"secret:{name}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:6])
