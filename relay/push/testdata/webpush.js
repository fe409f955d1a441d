// The npm web-push package's side of relay/push's interoperability test
// (webpush_test.go). Reads one JSON request on stdin:
//   {"op": "send", endpoint, p256dh, auth, payload, vapidPublic, vapidPrivate, subject}
//     sends payload with web-push to a push service (the test's stand-in,
//     trusted through NODE_EXTRA_CA_CERTS) and prints {"status": N}
//   {"op": "encrypt", p256dh, auth, payload}
//     encrypts payload with web-push (aes128gcm) and prints {"body": base64url}
// Keys and secrets are base64url, as web-push takes them.
"use strict";
const webpush = require("web-push");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const req = JSON.parse(input);
  try {
    if (req.op === "send") {
      const res = await webpush.sendNotification(
        { endpoint: req.endpoint, keys: { p256dh: req.p256dh, auth: req.auth } },
        req.payload,
        {
          vapidDetails: { subject: req.subject, publicKey: req.vapidPublic, privateKey: req.vapidPrivate },
          contentEncoding: "aes128gcm",
          TTL: 60,
        },
      );
      console.log(JSON.stringify({ status: res.statusCode }));
    } else if (req.op === "encrypt") {
      const out = webpush.encrypt(req.p256dh, req.auth, req.payload, "aes128gcm");
      console.log(JSON.stringify({ body: Buffer.from(out.cipherText).toString("base64url") }));
    } else {
      throw new Error("unknown op " + req.op);
    }
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && (e.body || e.message) || e) }));
    process.exitCode = 1;
  }
});
