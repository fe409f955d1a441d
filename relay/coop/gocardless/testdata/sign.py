#!/usr/bin/env python3
"""Signs the webhook bodies in webhooks/ as GoCardless does, for the
tests: the Webhook-Signature header is the lower-case hex HMAC-SHA256 of
the raw body (every byte of the file) under the endpoint's secret.

Run from anywhere: python3 sign.py. It rewrites signatures.json next to
it, which the tests read; commit its output with the bodies.
"""
import hashlib
import hmac
import json
import pathlib

SECRET = b"wh_sandbox_3yJ8n1TqLq7mVh0pXc2R9bUe"

here = pathlib.Path(__file__).resolve().parent
signatures = {}
for body in sorted((here / "webhooks").glob("*.json")):
    signatures[body.name] = hmac.new(SECRET, body.read_bytes(), hashlib.sha256).hexdigest()
out = {"secret": SECRET.decode(), "signatures": signatures}
(here / "signatures.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
