package ui

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// pathRestore is the page that follows signing in by email code: it
// offers to restore the account's backup, if it has one.
const pathRestore = "/restore"

// restoreStep is where the restore page stands.
type restoreStep int

const (
	restoreLooking    restoreStep = iota // asking the relay whether the account has a backup
	restoreOffer                         // there is one: the secret's field, Restore and Skip
	restoreRunning                       // restoring, with its progress
	restoreLookFailed                    // the relay could not be asked: Try again, Skip
)

// restoreState is what the restore page shows.
type restoreState struct {
	step     restoreStep
	backup   client.BackupInfo // with restoreOffer
	secret   string            // as typed, kept for another try
	progress client.Progress
	err      string
	now      time.Time
}

// restorePage offers, on a device that just signed in, to restore the
// account's backup (client.RestoreBackup) with its recovery key or
// passphrase; Skip leaves the device empty. Without a backup it goes on
// at once to the chats (or the invite link opened before signing in).
type restorePage struct {
	app.Compo
	s  *Session
	st restoreState

	// ctx is the component's own context: the work outlives the event
	// that started it.
	ctx  app.Context
	left bool // the page went on to the chats: late answers are dropped
}

// OnMount asks whether the account has a backup.
func (r *restorePage) OnMount(ctx app.Context) {
	r.ctx = ctx
	r.look()
}

// look asks the relay whether the account has a backup (on a connection
// of the client's own if the connection loop has none yet).
func (r *restorePage) look() {
	r.st.step, r.st.err = restoreLooking, ""
	s := r.s
	r.ctx.Async(func() {
		var info client.BackupInfo
		var found bool
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			info, found, err = c.FindBackup(rctx)
			cancel()
		}
		online := s.isOnline()
		r.ctx.Dispatch(func(ctx app.Context) {
			if r.left || r.st.step != restoreLooking {
				return
			}
			switch {
			case err != nil:
				r.st.step, r.st.err = restoreLookFailed, lookFailedText(err, online)
				r.focus("restore-look-again")
			case !found:
				r.goOn(ctx)
			default:
				r.st.step, r.st.backup = restoreOffer, info
				r.focus("restore-secret")
			}
		})
	})
}

// lookFailedText says why the page cannot tell whether there is a backup.
func lookFailedText(err error, online bool) string {
	return "Mutual could not ask the server whether your account has a backup. " + errorText(err, online)
}

// lookAgain is the failed look's Try again.
func (r *restorePage) lookAgain(ctx app.Context, e app.Event) {
	if r.st.step != restoreLookFailed {
		return
	}
	r.look()
}

// restore restores the backup with the secret typed.
func (r *restorePage) restore(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if r.st.step != restoreOffer {
		return
	}
	r.st.secret = byID("restore-secret").Get("value").String()
	if r.st.secret == "" {
		r.st.err = "Enter your recovery key or passphrase."
		r.focus("restore-secret")
		return
	}
	r.st.step, r.st.err, r.st.progress = restoreRunning, "", client.Progress{}
	s, secret := r.s, r.st.secret
	r.ctx.Async(func() {
		var stats client.HistoryStats
		c, err := s.client()
		if err == nil {
			stats, err = c.RestoreBackup(context.Background(), secret,
				progressTo(r.ctx, func(p client.Progress) { r.st.progress = p }))
		}
		online := s.isOnline()
		r.ctx.Dispatch(func(ctx app.Context) {
			if r.left {
				return
			}
			if err != nil {
				r.st.step, r.st.err = restoreOffer, restoreErrorText(err, online)
				r.focus("restore-secret")
				return
			}
			ctx.NewActionWithValue(actionAnnounce, restoredText(stats))
			ctx.NewAction(actionChatsChanged)
			r.goOn(ctx)
		})
	})
}

// restoreErrorText says why a restore failed: above all, a key or
// passphrase that does not open the backup.
func restoreErrorText(err error, online bool) string {
	if errors.Is(err, client.ErrWrongRecoveryKey) || errors.Is(err, client.ErrWrongPassphrase) {
		return "This recovery key or passphrase does not open your backup. Check it and try again."
	}
	return "The backup could not be restored. " + errorText(err, online)
}

// restoredText says what a restore brought.
func restoredText(st client.HistoryStats) string {
	return "Restored " + count(st.Messages, "message", "messages") + " in " + count(st.Chats, "chat", "chats") + "."
}

// count is n and the noun that goes with it.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// skip goes on with an empty device.
func (r *restorePage) skip(ctx app.Context, e app.Event) {
	if r.st.step == restoreRunning {
		return
	}
	r.goOn(ctx)
}

// goOn leaves for the chats, or the invite link opened before signing in.
func (r *restorePage) goOn(ctx app.Context) {
	r.left = true
	ctx.Navigate(afterSignIn(ctx))
}

// focus puts the cursor in the element with the ID once it is drawn.
func (r *restorePage) focus(id string) {
	r.ctx.Defer(func(app.Context) {
		if id == "restore-secret" {
			if in := byID(id); in.Truthy() {
				in.Call("select")
			}
		}
		focusID(id)
	})
}

// Render draws the page.
func (r *restorePage) Render() app.UI {
	r.st.now = r.s.now()
	return restoreView(r.st, r.restore, r.skip, r.lookAgain)
}

// restoreView draws the restore page; the handlers may be nil (tests).
func restoreView(st restoreState, restore, skip, lookAgain app.EventHandler) app.UI {
	var body app.UI
	title := "Restore from backup"
	skipButton := app.Button().ID("restore-skip").Type("button").Class("button", "button-ghost").
		Disabled(st.step == restoreRunning).OnClick(skip).Text("Skip")
	switch st.step {
	case restoreLooking:
		title = "Looking for a backup"
		body = app.Div().Class("stack").Body(
			app.P().ID("restore-status").Class("lead").Role("status").Text("Mutual is asking the server whether your account has a backup."),
			skipButton,
		)
	case restoreLookFailed:
		body = app.Div().Class("stack").Body(
			app.P().ID("restore-error").Class("error").Role("alert").Text(st.err),
			app.Div().Class("row").Body(
				app.Button().ID("restore-look-again").Type("button").Class("button", "button-primary").OnClick(lookAgain).Text("Try again"),
				skipButton,
			),
		)
	default:
		label := "Restore"
		if st.step == restoreRunning {
			label = "Restoring…"
		}
		body = app.Form().Class("stack").NoValidate(true).OnSubmit(restore).Body(
			app.P().ID("restore-found").Class("lead").Text(backupFoundText(st.backup, st.now)),
			app.Label().For("restore-secret").Text("Recovery key or passphrase"),
			app.Input().ID("restore-secret").Type("text").Class("restore-secret").Value(st.secret).
				Attr("autocomplete", "off").Attr("autocapitalize", "off").Spellcheck(false).
				Disabled(st.step == restoreRunning).Aria("describedby", "restore-secret-hint restore-error"),
			app.P().ID("restore-secret-hint").Class("hint").Text("A recovery key is "+strconv.Itoa(client.RecoveryKeyLen)+" letters and digits; type it with or without its spaces."),
			app.P().ID("restore-error").Class("error").Role("alert").Text(st.err),
			app.If(st.step == restoreRunning, func() app.UI {
				return backupProgress("restore-progress", "Restoring", st.progress, true)
			}),
			app.Button().ID("restore-backup").Type("submit").Class("button", "button-primary").
				Disabled(st.step == restoreRunning).Text(label),
			skipButton,
			app.P().Class("hint").Text("Skip to start with no chats on this device. Your backup stays on the server."),
		)
	}
	return app.Div().Class("welcome").Body(
		app.Div().ID("restore").Class("welcome-card").DataSet("step", strconv.Itoa(int(st.step))).Body(
			app.Div().Class("welcome-logo").Body(icon(logo)),
			app.H1().TabIndex(-1).Text(title),
			body,
		),
	)
}

// madeWhen says when a backup was made, in a sentence: "today at
// 14:02", "Monday, 3 March at 09:15".
func madeWhen(t, now time.Time) string {
	day := dayLabel(t, now)
	if d := calendarDays(t, now); d == 0 || d == 1 {
		day = strings.ToLower(day)
	}
	return day + " at " + clock(t, now)
}

// backupFoundText says which backup the account has.
func backupFoundText(b client.BackupInfo, now time.Time) string {
	s := "Your account has a backup"
	if !b.Created.IsZero() {
		s += " from " + madeWhen(b.Created, now)
	}
	if b.Size > 0 {
		s += " (" + megabytes(b.Size) + ")"
	}
	return s + ". Enter your recovery key or passphrase to bring your chats, photos and files to this device."
}
