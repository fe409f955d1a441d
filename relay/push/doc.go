// Package push sends Web Push notifications: it wakes a device that is
// not connected when a message arrives for it, through the push service
// its browser subscribed with (Firefox's, Google's, Apple's, Microsoft's).
//
// Three standards, written here on the standard library alone:
//
//   - RFC 8291 message encryption with the aes128gcm content coding of
//     RFC 8188 (Encrypt): one record, padded to PadTo bytes so that every
//     push of the relay has the same length; the push service reads
//     nothing of it.
//   - RFC 8292 VAPID (Key): each request carries an ES256 JWT for the
//     endpoint's origin, valid for 12 hours, naming the relay's contact
//     (Config.Subject), and the relay's public key.
//   - RFC 8030 headers: TTL two days, Urgency high, and one Topic
//     ("inbox"), so that a push service keeps at most one undelivered push
//     per device.
//
// A push says nothing but "something arrived in this conversation":
// {"v":1,"c":"<conversation ID in hex>"}, encrypted to the device. The
// device fetches the messages themselves when it connects.
//
// Endpoints are URLs that clients chose, so the relay fetches them with
// care (Hosts): https only, the host on an allowed list, no connection to
// a loopback or private address unless that address itself is listed, no
// redirects, response bodies read to at most 4 KiB, 10 seconds a request.
//
// Pusher decides who is pushed: the router tells it of every inbox record
// that asks to wake its recipient; for each of the recipient's devices
// with a subscription that is not connected and has not muted the
// conversation, it sends at most one push every Config.Window (later
// records within the window add nothing). It works asynchronously, with
// a bounded queue and a few workers: a full queue drops and counts, and
// routing never waits for a push service. A subscription its push
// service calls gone (404, 410) is deleted.
package push
