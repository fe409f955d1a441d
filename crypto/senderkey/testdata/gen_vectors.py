#!/usr/bin/env python3
"""Known-answer vectors for package senderkey (Sender Keys).

Computed from the construction alone, independently of the Go code under
test: HMAC-SHA256 and HKDF-SHA256 (RFC 5869) with hashlib/hmac, AES-256-CBC
with PKCS#7 padding with the `cryptography` package, and the protobuf
encoding of SenderKeyMessage and SenderKeyDistributionMessage written out by
hand (WhisperTextProtocol.proto field numbers, every field present, in
order).

Run from this directory: python3 gen_vectors.py  (writes vectors.json)
"""

import hashlib
import hmac
import json

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

VERSION_BYTE = bytes([0x33])

# The bytes Generate reads: 4 for the chain ID (big-endian, shifted right
# by one), 32 for the chain key, 32 for the signing key. The signing key
# pair is the one of libsignal's XEdDSA test vector "libsignal rust
# test_signature" (crypto/xeddsa/testdata/libsignal_xeddsa.json).
CHAIN_ID_BYTES = bytes.fromhex("c0ffee43")
CHAIN_KEY = bytes.fromhex(
    "8f4e1b5ad9c2e07361a4b38d92f05c1e7a6d3b2f40c8e19a5b7d6c3e2f1a0b9c")
SIGNING_PRIVATE = bytes.fromhex(
    "c097248412e58bf05df487968205132794178e367637f5818f81e0e6ce73e865")
SIGNING_PUBLIC = bytes.fromhex(
    "ab7e717d4a163b7d9a1d8071dfe9dcf8cdcd1cea3339b6356be84d887e322c64")

PLAINTEXTS = [
    b"",
    b"a",
    b"fifteen bytes!!",
    b"sixteen bytes!!!",
    b"seventeen bytes!!",
    "Grüße an die Gruppe: ".encode() + bytes(range(80)),
]

# Iterations whose keys are checked after a long walk down the chain.
FAR = [1999, 2000, 2001, 25000]


def hmac_sha256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_sha256(ikm, info, length):
    prk = hmac_sha256(bytes(32), ikm)  # no salt: HashLen zero bytes
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac_sha256(prk, t + info + bytes([i]))
        out += t
        i += 1
    return out[:length]


def message_keys(chain_key):
    seed = hmac_sha256(chain_key, b"\x01")
    derived = hkdf_sha256(seed, b"WhisperGroup", 48)
    return seed, derived[:16], derived[16:]


def next_chain_key(chain_key):
    return hmac_sha256(chain_key, b"\x02")


def aes_cbc(key, iv, plaintext):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3 | 0) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def distribution(chain_id, iteration, chain_key):
    return (VERSION_BYTE + field_varint(1, chain_id) + field_varint(2, iteration)
            + field_bytes(3, chain_key) + field_bytes(4, b"\x05" + SIGNING_PUBLIC))


def main():
    chain_id = int.from_bytes(CHAIN_ID_BYTES, "big") >> 1
    ck = CHAIN_KEY
    messages = []
    for i, pt in enumerate(PLAINTEXTS):
        seed, iv, key = message_keys(ck)
        ct = aes_cbc(key, iv, pt)
        body = (VERSION_BYTE + field_varint(1, chain_id) + field_varint(2, i)
                + field_bytes(3, ct))
        messages.append({
            "iteration": i,
            "chain_key": ck.hex(),
            "message_seed": seed.hex(),
            "iv": iv.hex(),
            "cipher_key": key.hex(),
            "plaintext": pt.hex(),
            "ciphertext": ct.hex(),
            "signed_body": body.hex(),
        })
        ck = next_chain_key(ck)
    after = len(PLAINTEXTS)
    distributions = [
        {"iteration": 0, "message": distribution(chain_id, 0, CHAIN_KEY).hex()},
        {"iteration": after, "message": distribution(chain_id, after, ck).hex()},
    ]

    far = []
    ck, it = CHAIN_KEY, 0
    for target in FAR:
        while it < target:
            ck, it = next_chain_key(ck), it + 1
        seed, iv, key = message_keys(ck)
        far.append({"iteration": it, "chain_key": ck.hex(), "message_seed": seed.hex(),
                    "iv": iv.hex(), "cipher_key": key.hex()})

    doc = {
        "source": "crypto/senderkey/testdata/gen_vectors.py (hashlib, hmac, cryptography)",
        "generate_random": (CHAIN_ID_BYTES + CHAIN_KEY + SIGNING_PRIVATE).hex(),
        "chain_id": chain_id,
        "chain_key": CHAIN_KEY.hex(),
        "signing_private": SIGNING_PRIVATE.hex(),
        "signing_public": SIGNING_PUBLIC.hex(),
        "messages": messages,
        "distributions": distributions,
        "far": far,
    }
    with open("vectors.json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
