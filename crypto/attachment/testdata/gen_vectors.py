#!/usr/bin/env python3
"""Known-answer vectors for package attachment (the attachment blob format).

Computed from the format alone, independently of the Go code under test:
HKDF-SHA-256 and ChaCha20-Poly1305 with the `cryptography` package, SHA-256
with hashlib, and the padding buckets with exact rational arithmetic
(fractions): floor(1.05^k) for the smallest k with 1.05^k >= size, and at
least 541.

Run from this directory: python3 gen_vectors.py  (writes vectors.json)
"""

import hashlib
import json
from fractions import Fraction

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHUNK = 64 * 1024
KEY = bytes.fromhex(
    "5f1c7a2e9b0d4c83a6e1f27b9d3c0a5e81b4d6f2093c7e5a1d8b6f4c2e0a9d17")
NONCE = bytes.fromhex("a3b1c2d4e5f60718293a4b5c6d7e8f90")

SIZES = [0, 1, 65535, 65536, 65537, 200000]
# Blobs small enough to store whole.
WHOLE = {0, 1}
# Buckets are listed up to the first one of at least this size.
BUCKETS_UP_TO = 100 * 1024 * 1024 + 1


def plaintext(size):
    """Byte i is i mod 251."""
    return bytes(i % 251 for i in range(size))


def padded_size(size):
    k, power = 0, Fraction(1)
    while power < size:
        k, power = k + 1, power * Fraction(21, 20)
    return max(541, power.numerator // power.denominator)


def buckets():
    """Every padded size from 541 up to the first >= BUCKETS_UP_TO."""
    out, power = [], Fraction(1)
    while not out or out[-1] < BUCKETS_UP_TO:
        b = power.numerator // power.denominator
        if b >= 541 and (not out or b != out[-1]):
            out.append(b)
        power *= Fraction(21, 20)
    return out


def payload_key(key, nonce):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce,
                info=b"payload").derive(key)


def blob(key, nonce, plain):
    padded = plain + bytes(padded_size(len(plain)) - len(plain))
    aead = ChaCha20Poly1305(payload_key(key, nonce))
    chunks = [padded[i:i + CHUNK] for i in range(0, len(padded), CHUNK)]
    out = nonce
    for i, chunk in enumerate(chunks):
        last = 1 if i == len(chunks) - 1 else 0
        out += aead.encrypt(i.to_bytes(11, "big") + bytes([last]), chunk, None)
    return out


def main():
    blobs = []
    for size in SIZES:
        b = blob(KEY, NONCE, plaintext(size))
        v = {
            "size": size,
            "padded_size": padded_size(size),
            "blob_size": len(b),
            "sha256": hashlib.sha256(b).hexdigest(),
        }
        if size in WHOLE:
            v["blob"] = b.hex()
        blobs.append(v)
    doc = {
        "source": "crypto/attachment/testdata/gen_vectors.py (cryptography, hashlib, fractions)",
        "plaintext": "byte i is i mod 251",
        "key": KEY.hex(),
        "nonce": NONCE.hex(),
        "payload_key": payload_key(KEY, NONCE).hex(),
        "blobs": blobs,
        "buckets": buckets(),
    }
    with open("vectors.json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
