// Package session keeps Mutual's end-to-end sessions, one Record per
// remote device, Sesame-style: a device may hold several session states
// with another (both may have started one at once, or one side restarted),
// sends with the current one, decrypts with whichever state a message
// belongs to and makes that one current. Up to MaxArchivedStates (40,
// libsignal's number) archived states are kept.
//
// A Manager does the work over a Store the client provides (MemoryStore is
// one in memory):
//
//	m, _ := session.New(store, session.Config{})
//	_ = m.ProcessBundle(ctx, bob, bundle)            // PQXDH, signatures checked
//	ct, _ := m.Encrypt(ctx, bob, []byte("hi"))       // stored before returned
//	pt, _ := m.Decrypt(ctx, alice, ct)               // committed only if authentic
//
// Guarantees: a record is stored before Encrypt returns its ciphertext, so
// no message key is used twice across a crash; Decrypt stores nothing and
// uses up no prekey unless the message authenticates, so a forged,
// replayed or truncated message changes nothing. Version 3 (X3DH) is
// refused unless Config.AllowX3DH, which only interoperability tests set.
//
// Records serialize with protowire and carry a format version (field 15,
// now 1); parsers refuse versions they do not know.
package session
