//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mutualcoop/mutual/relay/wire"
)

// appDBName is the web app's IndexedDB database (cmd/web).
const appDBName = "mutual"

// appData is what the browser's IndexedDB holds for the app: whether its
// database exists, and how many records each bucket of the store has in
// it (see app/store/idbstore for the keys' layout).
type appData struct {
	Exists  bool           `json:"exists"`
	Buckets map[string]int `json:"buckets"`
}

// records is how many records the database holds.
func (d appData) records() int {
	n := 0
	for _, c := range d.Buckets {
		n += c
	}
	return n
}

// appDataJS reads the app's database without creating it: it opens the
// database only when indexedDB.databases() lists it (an open of a missing
// database would create an empty one, without the app's object store), at
// its current version, and closes it at once.
const appDataJS = `(async () => {
  const name = %s;
  const dbs = await indexedDB.databases();
  if (!dbs.some((d) => d.name === name)) return {exists: false, buckets: {}};
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  try {
    if (!db.objectStoreNames.contains('kv')) return {exists: true, buckets: {}};
    const keys = await new Promise((resolve, reject) => {
      const r = db.transaction('kv', 'readonly').objectStore('kv').getAllKeys();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const buckets = {};
    for (const k of keys) {
      const b = new Uint8Array(ArrayBuffer.isView(k) ? k.buffer : k);
      const name = new TextDecoder().decode(b.subarray(1, 1 + b[0]));
      buckets[name] = (buckets[name] ?? 0) + 1;
    }
    return {exists: true, buckets};
  } finally {
    db.close();
  }
})()`

// appData reads what the browser's IndexedDB holds for the app.
func (p *profile) appData() appData {
	p.t.Helper()
	return eval[appData](p, fmt.Sprintf(appDataJS, js(appDBName)))
}

// thisDevice opens the settings and returns the ID of the device the
// profile is, from the list of the account's devices.
func (p *profile) thisDevice() wire.DeviceID {
	p.t.Helper()
	p.goTo("/settings")
	s := waitJS[string](p, messageTimeout, "this device in the list of devices",
		`[...document.querySelectorAll('#devices li.device')].find((d) => d.querySelector('.badge'))?.dataset.device ?? ''`)
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		p.fatalf("this device's ID %q: %v", s, err)
	}
	return wire.DeviceID(id)
}

// askSignOut clicks Sign out on the settings page and waits for the modal
// confirmation dialog.
func (p *profile) askSignOut() {
	p.t.Helper()
	p.do(stepTimeout, "sign out", chromedp.Click(chromedp.ID("sign-out")))
	waitJS[bool](p, stepTimeout, "the confirmation dialog",
		`(() => { const d = document.querySelector('#confirm-dialog');
		  return !!d?.open && d.matches(':modal') && !!d.querySelector('button#confirm-sign-out:not([disabled])'); })()`)
}

// waitOnboarding waits for the onboarding page: the address to register
// with, and no chats list.
func (p *profile) waitOnboarding(what string) {
	p.t.Helper()
	p.do(messageTimeout, what, chromedp.WaitVisible(chromedp.ID("address")))
	waitJS[bool](p, stepTimeout, "no chats list on onboarding", `!document.querySelector('#chats')`)
}

// device is the seeder's own device.
func (s *seeder) device() wire.DeviceID {
	s.t.Helper()
	acct, err := s.c.Account()
	if err != nil {
		s.t.Fatalf("seeder: account: %v", err)
	}
	return acct.Device
}

// devices lists the account's devices as the relay knows them.
func (s *seeder) devices() []wire.DeviceID {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	list, err := s.c.Devices(ctx)
	if err != nil {
		s.t.Fatalf("list the account's devices: %v", err)
	}
	ids := make([]wire.DeviceID, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	return ids
}

// signOut: Alice signs out of her browser from the settings. Her account
// gains a second device first, on the native client, which lists the
// account's devices as the relay knows them. Escape on the confirmation
// dialog closes it and signs nothing out. Confirmed, the app returns to
// onboarding; the browser's IndexedDB no longer holds her data; a reload
// (from the service worker) still shows onboarding; and the relay no
// longer lists the browser's device, while her other one stays.
func signOut(t *testing.T, r *relay, alice *profile) {
	other := newSeeder(t, r, "email:"+aliceAddress)
	device := alice.thisDevice()
	if got := other.devices(); !slices.Contains(got, device) || !slices.Contains(got, other.device()) {
		t.Fatalf("the relay lists devices %v for Alice, want the browser's %d and the native client's %d", got, device, other.device())
	}
	before := alice.appData()
	if !before.Exists || before.records() == 0 {
		t.Fatalf("before signing out, the app's database is %+v", before)
	}
	t.Logf("before signing out, the app's database holds %d records: %v", before.records(), before.Buckets)

	alice.askSignOut()
	alice.do(stepTimeout, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitJS[bool](alice, stepTimeout, "the dialog to close on Escape",
		`!document.querySelector('#confirm-dialog')?.open`)
	if path := eval[string](alice, `location.pathname`); path != "/settings" {
		t.Errorf("after Escape on the dialog the app is at %s, want /settings", path)
	}
	if got := alice.thisDevice(); got != device {
		t.Errorf("after Escape on the dialog this device is %d, want %d", got, device)
	}
	if after := alice.appData(); after.records() < before.records() {
		t.Errorf("after Escape on the dialog the app's database holds %d records, had %d", after.records(), before.records())
	}
	if got := other.devices(); !slices.Contains(got, device) {
		t.Errorf("after Escape on the dialog the relay lists devices %v, without the browser's %d", got, device)
	}
	alice.goTo("/")
	alice.do(stepTimeout, "the chats list after Escape", chromedp.WaitVisible(chromedp.ID("chats")))

	alice.goTo("/settings")
	alice.askSignOut()
	alice.do(stepTimeout, "confirm signing out", chromedp.Click(chromedp.ID("confirm-sign-out")))
	alice.waitOnboarding("onboarding after signing out")
	d := alice.appData()
	if d.records() != 0 {
		t.Errorf("after signing out the app's database holds %d records: %v", d.records(), d.Buckets)
	}
	t.Logf("after signing out, the app's database exists: %v, with %d records", d.Exists, d.records())

	alice.reload()
	alice.waitOnboarding("onboarding after signing out and reloading")
	if d = alice.appData(); d.records() != 0 {
		t.Errorf("after signing out and reloading the app's database holds %d records: %v", d.records(), d.Buckets)
	}

	got := other.devices()
	if slices.Contains(got, device) {
		t.Errorf("after signing out the relay still lists the browser's device %d: %v", device, got)
	}
	if !slices.Contains(got, other.device()) {
		t.Errorf("after the browser signed out the relay lists devices %v, without the other device %d", got, other.device())
	}
}

// approve has the seeder's device approve other, a device of its account
// that signed in by code alone and is held by account protection.
func (s *seeder) approve(other *seeder) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if err := s.c.ApproveDevice(ctx, other.device()); err != nil {
		s.t.Fatalf("approve device %d: %v", other.device(), err)
	}
}
