#!/usr/bin/env python3
"""Known-answer vectors for the Stripe webhook signature check.

Computed from Stripe's documented scheme alone, independently of the Go
code under test: the Stripe-Signature header is "t=TIMESTAMP,v1=HEX", where
HEX is the hex HMAC-SHA256, under the endpoint's signing secret, of the
timestamp, a full stop and the raw body (hmac and hashlib). A signature is
good when its timestamp is within 300 seconds of now, either way, and one
of its v1 values matches under one of the configured secrets.

Run from this directory: python3 gen_vectors.py  (writes vectors.json)
"""

import hashlib
import hmac
import json

NOW = 1767225600  # 2026-01-01T00:00:00Z
CURRENT = "whsec_8f3c1a6e0b9d4f2a7c5e1b3d9f0a2c4e"
PREVIOUS = "whsec_1d7b3f9a5c0e2b4d6f8a1c3e5b7d9f0a"
OTHER = "whsec_00000000000000000000000000000000"

BODY = json.dumps({
    "id": "evt_1QvTestCheckout",
    "object": "event",
    "api_version": "2025-08-27.basil",
    "created": NOW - 30,
    "type": "checkout.session.completed",
    "data": {"object": {
        "id": "cs_test_a1b2c3",
        "object": "checkout.session",
        "client_reference_id": "m_abcdefghijklmnopqrstuvwxyz",
        "customer": "cus_Test123",
        "subscription": "sub_Test456",
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
    }},
}, indent=2, sort_keys=True)


def sign(secret, t, body):
    msg = ("%s.%s" % (t, body)).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def header(t, *sigs, scheme="v1"):
    return ",".join(["t=%s" % t] + ["%s=%s" % (scheme, s) for s in sigs])


def cases():
    t = NOW - 30
    good = sign(CURRENT, t, BODY)
    yield "good", [CURRENT], header(t, good), BODY, True
    yield "rotated: signed with the previous secret", [CURRENT, PREVIOUS], \
        header(t, sign(PREVIOUS, t, BODY)), BODY, True
    yield "rotated: signed with the new secret", [PREVIOUS, CURRENT], \
        header(t, good), BODY, True
    yield "several v1, the second matches", [CURRENT], \
        header(t, sign(OTHER, t, BODY), good), BODY, True
    yield "several v1 and a v0, the first v1 matches", [CURRENT], \
        header(t, good, sign(OTHER, t, BODY)) + ",v0=" + sign(OTHER, t, BODY), BODY, True
    yield "five minutes old", [CURRENT], \
        header(NOW - 300, sign(CURRENT, NOW - 300, BODY)), BODY, True
    yield "five minutes ahead", [CURRENT], \
        header(NOW + 300, sign(CURRENT, NOW + 300, BODY)), BODY, True
    yield "stale", [CURRENT], \
        header(NOW - 301, sign(CURRENT, NOW - 301, BODY)), BODY, False
    yield "future", [CURRENT], \
        header(NOW + 301, sign(CURRENT, NOW + 301, BODY)), BODY, False
    yield "tampered body", [CURRENT], header(t, good), \
        BODY.replace("cus_Test123", "cus_Test124"), False
    yield "wrong secret", [CURRENT], header(t, sign(OTHER, t, BODY)), BODY, False
    yield "rotated out", [CURRENT], header(t, sign(PREVIOUS, t, BODY)), BODY, False
    yield "missing header", [CURRENT], None, BODY, False
    yield "empty header", [CURRENT], "", BODY, False
    yield "v0 only", [CURRENT], header(t, good, scheme="v0"), BODY, False
    yield "no timestamp", [CURRENT], "v1=" + good, BODY, False
    yield "timestamp signed differently", [CURRENT], \
        header(t + 1, good), BODY, False
    yield "truncated signature", [CURRENT], header(t, good[:-2]), BODY, False


def main():
    out = {"now": NOW, "cases": []}
    for name, secrets, hdr, body, ok in cases():
        out["cases"].append({"name": name, "secrets": secrets, "header": hdr,
                             "body": body, "ok": ok})
    with open("vectors.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
