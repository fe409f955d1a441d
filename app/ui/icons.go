package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Icons: inline SVG drawn with the text colour, hidden from assistive
// technology (the control that holds one carries the label).
const (
	svgOpen  = `<svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">`
	svgClose = `</svg>`

	iconChats    = svgOpen + `<path d="M21 11.5a8.5 8.5 0 0 1-12.4 7.6L3.5 20.5l1.4-4.7A8.5 8.5 0 1 1 21 11.5z"/>` + svgClose
	iconContacts = svgOpen + `<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M16 4.7a3.5 3.5 0 0 1 0 6.6"/><path d="M18.5 14.2a6.5 6.5 0 0 1 3 5.8"/>` + svgClose
	iconSettings = svgOpen + `<path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1"/><circle cx="15" cy="6" r="2"/><circle cx="9" cy="12" r="2"/><circle cx="17" cy="18" r="2"/>` + svgClose
	iconSend     = svgOpen + `<path d="M21 3 10.5 13.5"/><path d="M21 3l-6.5 18-4-7.5L3 9.5z"/>` + svgClose
	iconBack     = svgOpen + `<path d="M15 5l-7 7 7 7"/>` + svgClose
	iconShield   = svgOpen + `<path d="M12 3l8 3v6c0 4.5-3.4 8-8 9-4.6-1-8-4.5-8-9V6z"/><path d="M9 12l2 2 4-4"/>` + svgClose
	iconSearch   = svgOpen + `<circle cx="11" cy="11" r="6.5"/><path d="M20 20l-4.2-4.2"/>` + svgClose
	iconDown     = svgOpen + `<path d="M12 5v14M6 13l6 6 6-6"/>` + svgClose
	iconWarning  = svgOpen + `<path d="M12 3.5 2.5 20h19z"/><path d="M12 10v4.5M12 17.5v.01"/>` + svgClose

	// Message state marks, 16 px, told apart by shape as well as colour:
	// a clock while sending, an hourglass while waiting for the contact's
	// device, one tick sent, two ticks delivered, two ticks on a filled
	// pill read, a warning sign when it failed.
	tickOpen      = `<svg class="tick" viewBox="0 0 24 16" width="18" height="12" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round">`
	iconSending   = tickOpen + `<circle cx="12" cy="8" r="6"/><path d="M12 5v3.2l2 1.6"/>` + svgClose
	iconWaiting   = tickOpen + `<path d="M8 1.5h8M8 14.5h8"/><path d="M9 1.5c0 4 6 3.5 6 6.5s-6 2.5-6 6.5M15 1.5c0 4-6 3.5-6 6.5s6 2.5 6 6.5"/>` + svgClose
	iconSent      = tickOpen + `<path d="M6 8.5l3.5 3.5L17 4"/>` + svgClose
	iconDelivered = tickOpen + `<path d="M2 8.5l3.5 3.5L13 4"/><path d="M10.5 11l1 1L19 4"/>` + svgClose
	iconRead      = tickOpen + `<rect class="tick-fill" x="0.5" y="0.5" width="23" height="15" rx="7.5" fill="currentColor" stroke="none"/><path class="tick-on-fill" d="M4.5 8.5l2.8 2.8L13 5.3"/><path class="tick-on-fill" d="M11.3 10.6l.7.7L17.8 5.3"/>` + svgClose
	iconFailed    = tickOpen + `<path d="M12 1.5 3.5 14.5h17z"/><path d="M12 6.5v3.5M12 12.2v.01"/>` + svgClose

	logo = `<svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false"><circle cx="12.5" cy="13" r="8.5" fill="currentColor"/><circle cx="19.5" cy="19" r="8.5" fill="none" stroke="currentColor" stroke-width="2.5"/></svg>`
)

// icon returns a fresh element for an icon (a mounted element cannot be
// shared, so each use makes its own).
func icon(svg string) app.UI { return app.Raw(svg) }
