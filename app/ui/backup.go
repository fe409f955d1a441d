package ui

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// keyGroup is how many characters of a recovery key are shown together.
const keyGroup = 4

// backupStep is where the settings' Backup card stands.
type backupStep int

const (
	backupLoading    backupStep = iota // asking the client
	backupOff                          // off, with "Turn on backup"
	backupChoose                       // what backup is; a recovery key or a passphrase
	backupShowKey                      // the new recovery key, shown once
	backupConfirmKey                   // typing the key's last group back
	backupPassphrase                   // typing a passphrase twice
	backupOn                           // on: the last backup, "Back up now", daily, "Turn off"
)

// backupState is what the Backup card shows.
type backupState struct {
	step       backupStep
	status     client.BackupStatus
	passphrase bool   // the passphrase was chosen over a recovery key
	key        string // the new recovery key, until backup is on
	busy       bool   // turning on or off, or changing the daily backup
	running    bool   // a backup is under way
	progress   client.Progress
	note       string // what Copy did
	err        string
	done       string
	now        time.Time
}

// backupCard is the settings' Backup card: an encrypted copy of this
// device's chats on the relay (client.SetBackup, BackupNow,
// BackupStatus, DisableBackup).
type backupCard struct {
	app.Compo
	s  *Session
	st backupState

	// ctx is the component's own context, for the work that outlives an
	// event: an event's context belongs to the element that fired it,
	// which the card may redraw as another (a button moved by the
	// progress bar), and go-app drops what is dispatched on a removed
	// element.
	ctx app.Context
}

// OnMount reads whether backup is on, and follows the daily backups.
func (b *backupCard) OnMount(ctx app.Context) {
	b.ctx = ctx
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		ev, ok := a.Value.(client.BackupMade)
		if !ok || b.st.running || b.st.step != backupOn {
			ctx.PreventUpdate()
			return
		}
		b.show(ev.Status)
	})
	b.load(ctx)
}

func (b *backupCard) load(ctx app.Context) {
	s := b.s
	b.ctx.Async(func() {
		var st client.BackupStatus
		c, err := s.client()
		if err == nil {
			st, err = c.BackupStatus(context.Background())
		}
		b.ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				b.st.step, b.st.err = backupOff, errorText(err, s.isOnline())
				return
			}
			b.show(st)
		})
	})
}

// show shows a status read from the client.
func (b *backupCard) show(st client.BackupStatus) {
	b.st.status = st
	if st.Enabled {
		b.st.step = backupOn
	} else if b.st.step == backupLoading || b.st.step == backupOn {
		b.st.step = backupOff
	}
}

// turnOn starts setting backup up: what it is, and the choice of secret.
func (b *backupCard) turnOn(ctx app.Context, e app.Event) {
	b.st.step, b.st.err, b.st.done = backupChoose, "", ""
	ctx.Defer(func(app.Context) { focusID("backup-setup-heading") })
}

// cancelSetup goes back to backup off, forgetting a key not confirmed.
func (b *backupCard) cancelSetup(ctx app.Context, e app.Event) {
	if b.st.busy {
		return
	}
	b.st.step, b.st.key, b.st.err, b.st.note = backupOff, "", "", ""
	ctx.Defer(func(app.Context) { focusID("backup-turn-on") })
}

// chooseSecret takes the choice between a recovery key and a passphrase.
func (b *backupCard) chooseSecret(ctx app.Context, e app.Event) {
	e.PreventDefault()
	b.st.passphrase = byID("backup-use-passphrase").Get("checked").Bool()
	b.st.err = ""
	if b.st.passphrase {
		b.st.step = backupPassphrase
		ctx.Defer(func(app.Context) { focusID("backup-passphrase") })
		return
	}
	b.st.key, b.st.note, b.st.step = client.NewRecoveryKey(), "", backupShowKey
	ctx.Defer(func(app.Context) { focusID("recovery-key-heading") })
}

// copyKey puts the recovery key, in its groups, on the clipboard.
func (b *backupCard) copyKey(ctx app.Context, e app.Event) {
	clip := app.Window().Get("navigator").Get("clipboard")
	if !clip.Truthy() {
		b.st.note = "The browser does not let the app copy: write the key down."
		return
	}
	var ok, fail app.Func
	release := func() {
		ok.Release()
		fail.Release()
	}
	ok = app.FuncOf(func(app.Value, []app.Value) any {
		b.ctx.Dispatch(func(app.Context) { b.st.note = "Key copied. Keep it somewhere safe, away from this device." })
		release()
		return nil
	})
	fail = app.FuncOf(func(app.Value, []app.Value) any {
		b.ctx.Dispatch(func(app.Context) { b.st.note = "The browser did not let the app copy: write the key down." })
		release()
		return nil
	})
	clip.Call("writeText", strings.Join(keyGroups(b.st.key), " ")).Call("then", ok, fail)
}

// keyWritten goes on from the key to typing its last group back.
func (b *backupCard) keyWritten(ctx app.Context, e app.Event) {
	b.st.step, b.st.err = backupConfirmKey, ""
	ctx.Defer(func(app.Context) { focusID("recovery-key-check") })
}

// showKeyAgain goes back from the check to the key.
func (b *backupCard) showKeyAgain(ctx app.Context, e app.Event) {
	if b.st.busy {
		return
	}
	b.st.step, b.st.err = backupShowKey, ""
	ctx.Defer(func(app.Context) { focusID("recovery-key-heading") })
}

// confirmKey checks the last group typed back and turns backup on with
// the recovery key.
func (b *backupCard) confirmKey(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if b.st.busy {
		return
	}
	typed := byID("recovery-key-check").Get("value").String()
	if !lastGroupMatches(b.st.key, typed) {
		b.st.err = "That is not the last group of your recovery key. Check what you wrote down, or show the key again."
		ctx.Defer(func(app.Context) { focusID("recovery-key-check") })
		return
	}
	b.enable(ctx, client.BackupSecret{RecoveryKey: b.st.key})
}

// setPassphrase checks the passphrase typed twice and turns backup on
// with it.
func (b *backupCard) setPassphrase(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if b.st.busy {
		return
	}
	first := byID("backup-passphrase").Get("value").String()
	second := byID("backup-passphrase-again").Get("value").String()
	if msg := passphraseProblem(first, second); msg != "" {
		b.st.err = msg
		ctx.Defer(func(app.Context) { focusID("backup-passphrase") })
		return
	}
	b.enable(ctx, client.BackupSecret{Passphrase: first})
}

// passphraseProblem says what is wrong with a passphrase typed twice,
// or "" if nothing is.
func passphraseProblem(first, second string) string {
	switch {
	case utf8.RuneCountInString(first) < client.MinPassphrase:
		return "Use at least " + strconv.Itoa(client.MinPassphrase) + " characters: a few words you will remember work well."
	case first != second:
		return "The two passphrases are not the same. Type it again in both fields."
	}
	return ""
}

// enable turns backup on with the secret, a daily backup included.
func (b *backupCard) enable(ctx app.Context, secret client.BackupSecret) {
	b.st.busy, b.st.err = true, ""
	s := b.s
	b.ctx.Async(func() {
		var st client.BackupStatus
		c, err := s.client()
		if err == nil {
			err = c.SetBackup(context.Background(), secret, true)
		}
		if err == nil {
			st, err = c.BackupStatus(context.Background())
		}
		b.ctx.Dispatch(func(ctx app.Context) {
			b.st.busy = false
			if err != nil {
				b.st.err = errorText(err, s.isOnline())
				return
			}
			b.st.key, b.st.note = "", ""
			b.st.step, b.st.done = backupOn, "Backup is on. Make the first one now."
			b.show(st)
			ctx.Defer(func(app.Context) { focusID("backup-now") })
		})
	})
}

// backUpNow makes a backup now, showing its progress.
func (b *backupCard) backUpNow(ctx app.Context, e app.Event) {
	if b.st.running || b.st.busy {
		return
	}
	b.st.running, b.st.progress, b.st.err, b.st.done = true, client.Progress{}, "", ""
	s := b.s
	b.ctx.Async(func() {
		var st client.BackupStatus
		c, err := s.client()
		if err == nil {
			st, err = c.BackupNow(context.Background(), progressTo(b.ctx, func(p client.Progress) { b.st.progress = p }))
		}
		b.ctx.Dispatch(func(ctx app.Context) {
			b.st.running = false
			if err != nil {
				b.st.err = "The backup failed: " + errorText(err, s.isOnline())
				return
			}
			b.show(st)
			b.st.done = "Backed up."
		})
	})
}

// progressTo returns a progress function that hands each change of a
// whole percent to set on the UI goroutine, and no more: a transfer
// reports far more often than a bar can show.
func progressTo(ctx app.Context, set func(client.Progress)) func(client.Progress) {
	last := -1
	return func(p client.Progress) {
		pc := percentOf(p)
		if pc == last {
			return
		}
		last = pc
		ctx.Dispatch(func(app.Context) { set(p) })
	}
}

// percentOf is how far a piece of work is, 0 to 100.
func percentOf(p client.Progress) int {
	if p.Total <= 0 || p.Done <= 0 {
		return 0
	}
	if p.Done >= p.Total {
		return 100
	}
	return int(p.Done * 100 / p.Total)
}

// setDaily turns the daily backup on or off; the derived key stays.
func (b *backupCard) setDaily(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	b.st.status.Daily, b.st.busy, b.st.err, b.st.done = on, true, "", ""
	s := b.s
	b.ctx.Async(func() {
		var st client.BackupStatus
		c, err := s.client()
		if err == nil {
			err = c.SetBackupDaily(context.Background(), on)
		}
		if err == nil {
			st, err = c.BackupStatus(context.Background())
		}
		b.ctx.Dispatch(func(ctx app.Context) {
			b.st.busy = false
			if err != nil {
				b.st.status.Daily = !on
				b.st.err = errorText(err, s.isOnline())
				return
			}
			b.show(st)
		})
	})
}

// askOff opens the dialog asking before turning backup off.
func (b *backupCard) askOff(ctx app.Context, e app.Event) {
	b.st.err, b.st.done = "", ""
	ctx.Defer(func(app.Context) { showDialog("backup-off-dialog") })
}

// closeOff closes that dialog (Cancel, Escape, or once backup is off).
func (b *backupCard) closeOff(ctx app.Context, e app.Event) {
	if dlg := byID("backup-off-dialog"); dlg.Truthy() && dlg.Get("open").Bool() {
		dlg.Call("close")
	}
}

// turnOff deletes the relay's copy and forgets the key.
func (b *backupCard) turnOff(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if b.st.busy {
		return
	}
	b.st.busy = true
	s := b.s
	b.ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			err = c.DisableBackup(rctx)
			cancel()
		}
		b.ctx.Dispatch(func(ctx app.Context) {
			b.st.busy = false
			b.closeOff(ctx, e)
			if err != nil {
				b.st.err = "Backup is still on: " + errorText(err, s.isOnline())
				return
			}
			b.st.step, b.st.status, b.st.done = backupOff, client.BackupStatus{}, "Backup is off. The copy on the server was deleted."
			ctx.Defer(func(app.Context) { focusID("backup-turn-on") })
		})
	})
}

// Render draws the card.
func (b *backupCard) Render() app.UI {
	b.st.now = b.s.now()
	return backupView(b.st, backupHandlers{
		turnOn: b.turnOn, cancel: b.cancelSetup, choose: b.chooseSecret,
		copyKey: b.copyKey, written: b.keyWritten, showAgain: b.showKeyAgain, confirmKey: b.confirmKey,
		passphrase: b.setPassphrase, now: b.backUpNow, daily: b.setDaily,
		askOff: b.askOff, closeOff: b.closeOff, off: b.turnOff,
	})
}

// backupHandlers are the Backup card's event handlers; any may be nil
// (tests).
type backupHandlers struct {
	turnOn, cancel, choose                        app.EventHandler
	copyKey, written, showAgain, confirmKey       app.EventHandler
	passphrase, now, daily, askOff, closeOff, off app.EventHandler
}

// backupExplained says what a backup is, before it is turned on.
const backupExplained = "A backup keeps a copy of your chats, photos and files on the server, end-to-end encrypted: the server stores it and cannot read it. Each backup replaces the one before, and it counts against your account's storage."

// backupWarning says what losing the secret means.
const backupWarning = "Without your recovery key or passphrase nobody, not even the co-op that runs Mutual, can restore the backup."

// backupView draws the Backup card.
func backupView(st backupState, h backupHandlers) app.UI {
	var body app.UI
	switch st.step {
	case backupLoading:
		body = app.P().Class("hint").Text("…")
	case backupOff:
		body = app.Div().Body(
			app.P().ID("backup-hint").Class("hint").Text(backupExplained),
			app.Button().ID("backup-turn-on").Type("button").Class("button", "button-primary").
				Aria("describedby", "backup-hint").OnClick(h.turnOn).Text("Turn on backup"),
		)
	case backupChoose:
		body = backupChooseView(st, h)
	case backupShowKey:
		body = recoveryKeyView(st, h)
	case backupConfirmKey:
		body = confirmKeyView(st, h)
	case backupPassphrase:
		body = passphraseView(st, h)
	case backupOn:
		body = backupOnView(st, h)
	}
	return app.Section().ID("backup").Class("card", "backup").DataSet("step", strconv.Itoa(int(st.step))).
		Aria("labelledby", "backup-heading").Body(
		app.H2().ID("backup-heading").Text("Backup"),
		body,
		app.P().ID("backup-error").Class("error").Role("alert").Text(st.err),
		app.P().ID("backup-done").Class("success").Role("status").Text(st.done),
		backupOffDialog(st, h),
	)
}

// backupChooseView says what backup is and offers a recovery key
// (suggested) or a passphrase.
func backupChooseView(st backupState, h backupHandlers) app.UI {
	return app.Form().Class("stack").OnSubmit(h.choose).Body(
		app.H3().ID("backup-setup-heading").TabIndex(-1).Text("Turn on backup"),
		app.P().Text(backupExplained),
		app.P().Class("warning").Text(backupWarning),
		app.FieldSet().Class("backup-choice").Body(
			app.Legend().Text("Protect the backup with"),
			app.Label().Class("link-mode").For("backup-use-key").Body(
				app.Input().ID("backup-use-key").Type("radio").Name("backup-secret").Value("key").
					Checked(!st.passphrase).Aria("describedby", "backup-use-key-hint"),
				app.Span().Text("A recovery key (recommended)"),
			),
			app.P().ID("backup-use-key-hint").Class("hint").Text("Mutual makes a key of "+strconv.Itoa(client.RecoveryKeyLen)+" letters and digits that nobody could guess. You write it down."),
			app.Label().Class("link-mode").For("backup-use-passphrase").Body(
				app.Input().ID("backup-use-passphrase").Type("radio").Name("backup-secret").Value("passphrase").
					Checked(st.passphrase).Aria("describedby", "backup-use-passphrase-hint"),
				app.Span().Text("A passphrase"),
			),
			app.P().ID("backup-use-passphrase-hint").Class("hint").Text("At least "+strconv.Itoa(client.MinPassphrase)+" characters that you choose. A long one is safer."),
		),
		app.Div().Class("row").Body(
			app.Button().ID("backup-continue").Type("submit").Class("button", "button-primary").Text("Continue"),
			app.Button().ID("backup-cancel").Type("button").Class("button", "button-ghost").OnClick(h.cancel).Text("Cancel"),
		),
	)
}

// recoveryKeyView shows the new recovery key, once, in groups, with
// Copy.
func recoveryKeyView(st backupState, h backupHandlers) app.UI {
	groups := keyGroups(st.key)
	return app.Div().Class("stack").Body(
		app.H3().ID("recovery-key-heading").TabIndex(-1).Text("Your recovery key"),
		app.P().ID("recovery-key-hint").Text("Write it down on paper, or keep it in a password manager, away from this device. Mutual shows it only now: you need it to restore your chats on a new device."),
		app.P().ID("recovery-key").Class("recovery-key").Aria("describedby", "recovery-key-hint").
			DataSet("key", strings.Join(groups, " ")).Body(
			app.Range(groups).Slice(func(i int) app.UI {
				return app.Span().Class("key-group").Text(groups[i])
			}),
		),
		app.P().ID("recovery-key-note").Class("hint").Role("status").Text(st.note),
		app.Div().Class("row").Body(
			app.Button().ID("copy-recovery-key").Type("button").Class("button").OnClick(h.copyKey).Text("Copy"),
			app.Button().ID("recovery-key-written").Type("button").Class("button", "button-primary").OnClick(h.written).Text("I wrote it down"),
		),
		app.Button().Type("button").Class("button", "button-ghost").OnClick(h.cancel).Text("Cancel"),
	)
}

// confirmKeyView asks for the key's last group, so that nobody goes on
// without having written the key down.
func confirmKeyView(st backupState, h backupHandlers) app.UI {
	label := "Turn on backup"
	if st.busy {
		label = "Turning on…"
	}
	return app.Form().Class("stack").NoValidate(true).OnSubmit(h.confirmKey).Body(
		app.H3().ID("recovery-key-check-heading").Text("Check your recovery key"),
		app.Label().For("recovery-key-check").Text("The last "+strconv.Itoa(keyGroup)+" characters of your key"),
		app.Input().ID("recovery-key-check").Type("text").Class("key-check").MaxLength(2*keyGroup).
			Attr("autocomplete", "off").Attr("autocapitalize", "off").Spellcheck(false).
			Aria("describedby", "recovery-key-check-hint backup-error"),
		app.P().ID("recovery-key-check-hint").Class("hint").Text("Type them from what you wrote down, not from the screen."),
		app.Div().Class("row").Body(
			app.Button().ID("confirm-recovery-key").Type("submit").Class("button", "button-primary").Disabled(st.busy).Text(label),
			app.Button().ID("show-recovery-key").Type("button").Class("button", "button-ghost").Disabled(st.busy).
				OnClick(h.showAgain).Text("Show the key again"),
		),
	)
}

// passphraseView takes a passphrase, typed twice.
func passphraseView(st backupState, h backupHandlers) app.UI {
	label := "Turn on backup"
	if st.busy {
		label = "Turning on…"
	}
	return app.Form().Class("stack").NoValidate(true).OnSubmit(h.passphrase).Body(
		app.H3().ID("backup-passphrase-heading").Text("Choose a passphrase"),
		app.P().Class("warning").Text(backupWarning),
		app.Label().For("backup-passphrase").Text("Passphrase"),
		app.Input().ID("backup-passphrase").Type("password").Attr("autocomplete", "new-password").
			Attr("minlength", client.MinPassphrase).Aria("describedby", "backup-passphrase-hint backup-error"),
		app.P().ID("backup-passphrase-hint").Class("hint").Text("At least "+strconv.Itoa(client.MinPassphrase)+" characters."),
		app.Label().For("backup-passphrase-again").Text("Passphrase again"),
		app.Input().ID("backup-passphrase-again").Type("password").Attr("autocomplete", "new-password").
			Aria("describedby", "backup-error"),
		app.Div().Class("row").Body(
			app.Button().ID("backup-set-passphrase").Type("submit").Class("button", "button-primary").Disabled(st.busy).Text(label),
			app.Button().Type("button").Class("button", "button-ghost").Disabled(st.busy).OnClick(h.cancel).Text("Cancel"),
		),
	)
}

// backupOnView is backup once on: the last backup, its progress while
// one is made, the daily backup and turning it off.
func backupOnView(st backupState, h backupHandlers) app.UI {
	last, size := "Never", "—"
	if !st.status.Last.IsZero() {
		last = dayLabel(st.status.Last, st.now) + ", " + clock(st.status.Last, st.now)
		size = megabytes(st.status.Size)
	}
	// A backup is under way: this card's (with its progress) or the
	// daily one (without).
	running := st.running || st.status.Running
	label := "Back up now"
	if running {
		label = "Backing up…"
	}
	secret := "Recovery key"
	if st.status.Passphrase {
		secret = "Passphrase"
	}
	return app.Div().Class("stack").Body(
		app.P().Class("hint").Text("Your chats, photos and files are backed up end-to-end encrypted. "+backupWarning),
		app.Dl().ID("backup-facts").Class("facts").Body(
			app.Dt().Text("Last backup"),
			app.Dd().ID("backup-last").Text(last),
			app.Dt().Text("Size"),
			app.Dd().ID("backup-size").DataSet("bytes", st.status.Size).Text(size),
			app.Dt().Text("Opened with"),
			app.Dd().ID("backup-secret").Text(secret),
		),
		app.If(st.status.Err != "" && !running, func() app.UI {
			return app.P().ID("backup-failed").Class("error").Text("The last backup failed: " + st.status.Err)
		}),
		app.If(running, func() app.UI { return backupProgress("backup-progress", "Backup", st.progress, st.running) }),
		app.Button().ID("backup-now").Type("button").Class("button", "button-primary").
			Disabled(running || st.busy).OnClick(h.now).Text(label),
		app.Div().Class("switch-row").Body(
			app.Input().ID("backup-daily").Type("checkbox").Class("switch").Checked(st.status.Daily).
				Disabled(st.busy).Aria("describedby", "backup-daily-hint").OnChange(h.daily),
			app.Label().For("backup-daily").Text("Back up every day"),
		),
		app.P().ID("backup-daily-hint").Class("hint").Text("While Mutual is open, once a day, in the background."),
		app.Button().ID("backup-turn-off").Type("button").Class("button", "button-danger").
			Disabled(running || st.busy).OnClick(h.askOff).Text("Turn off backup"),
	)
}

// backupProgress is a backup's or a restore's progress: a bar with its
// percentage, or, when known is false, a bar that only says it is under
// way.
func backupProgress(id, label string, p client.Progress, known bool) app.UI {
	bar := app.Progress().ID(id).Aria("label", label)
	if !known {
		return app.Div().Class("backup-progress").Body(bar)
	}
	pc := percentOf(p)
	return app.Div().Class("backup-progress").Body(
		bar.Max(100).Value(pc),
		app.Span().Class("hint").Aria("hidden", "true").Text(strconv.Itoa(pc)+"%"),
	)
}

// backupOffDialog asks before turning backup off: a modal <dialog>.
func backupOffDialog(st backupState, h backupHandlers) app.UI {
	label := "Turn off"
	if st.busy {
		label = "Turning off…"
	}
	return app.Dialog().ID("backup-off-dialog").Class("dialog").Aria("labelledby", "backup-off-title").
		Aria("describedby", "backup-off-text").On("close", h.closeOff).Body(
		app.Form().Class("stack").OnSubmit(h.off).Body(
			app.H2().ID("backup-off-title").Text("Turn off backup?"),
			app.P().ID("backup-off-text").Text("The backup on the server is deleted: you can no longer restore your chats from it on a new device. Your chats stay on this device."),
			app.Div().Class("row", "row-end").Body(
				app.Button().ID("cancel-backup-off").Type("button").Class("button").Disabled(st.busy).OnClick(h.closeOff).Text("Cancel"),
				app.Button().ID("confirm-backup-off").Type("submit").Class("button", "button-danger").Disabled(st.busy).Text(label),
			),
		),
	)
}

// keyGroups cuts a recovery key into groups of keyGroup characters.
func keyGroups(key string) []string {
	var gs []string
	for len(key) > keyGroup {
		gs = append(gs, key[:keyGroup])
		key = key[keyGroup:]
	}
	if key != "" {
		gs = append(gs, key)
	}
	return gs
}

// lastGroupMatches reports whether typed is the key's last group, case
// and spaces aside.
func lastGroupMatches(key, typed string) bool {
	gs := keyGroups(key)
	if len(gs) == 0 {
		return false
	}
	typed = strings.ToLower(strings.Join(strings.Fields(typed), ""))
	return typed == strings.ToLower(gs[len(gs)-1])
}
