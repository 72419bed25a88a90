"""The admin's password, kept as a salted scrypt hash. Pure.

scrypt comes with the standard library (hashlib, backed by OpenSSL): memory-hard, so a
stolen hash is expensive to brute-force on GPUs, with no new dependency. `cryptography`'s
Scrypt would give the same result; the stored string names its parameters, so they can be
raised later without breaking stored hashes.
"""

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**15, 8, 1
"""About 32 MiB and 0.1 s per hash on a small server (OWASP's minimum is N=2**17 with
r=8 for interactive logins on dedicated hardware; 2**15 keeps sign-in snappy on 2 cores)."""
SALT_BYTES = 16
KEY_BYTES = 32


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash`, base64 parts; never the password."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))
