// Package ui is the Mutual web app's user interface: go-app components for
// onboarding, the chats list, conversations, contacts, safety numbers and
// settings, laid out as one pane on phones and two panes (chats beside the
// conversation) from 900 px on.
//
// The same package builds natively, for the server: Routes registers the
// app's paths with go-app and Prerender is the skeleton the server renders
// for every page (header, navigation and an empty main area with the
// heights the app uses), so that nothing moves when the WebAssembly takes
// over.
//
// # State
//
// A Session, made by the program's main, holds everything that lives as
// long as the app: the client (reopened after signing out), its connection
// loop and the connection status. There is no package-level state: every
// component reaches the Session through the factory given to Routes.
//
// One tab of a browser at a time uses the device's data (ClaimTab, a Web
// Lock): two clients over one store would advance the same sessions twice.
// Another tab shows why it waits and can take over; the tab that had the
// data then closes its client first.
//
// # Goroutines
//
// Components are touched only on go-app's UI goroutine. Blocking work (the
// store, the relay) runs in Context.Async and comes back with
// Context.Dispatch. The Session owns two goroutines per open client, the
// connection loop (client.Run) and the event pump that reads
// client.Events; Close and SignOut stop and wait for both. The pump hands
// each event to the root component, which posts it as a go-app action on
// the UI goroutine to the components that handle it.
//
// # Messages
//
// A conversation orders its messages, and files them under days, by when
// the relay took them (the same clock for everyone); the writer's clock,
// which may be wrong, is only in a message's details. An outgoing
// message's state is a mark told apart by shape and colour, with its
// state in words for assistive technology. A message that fails, or
// starts to wait (for the contact's device, or for the user to check a
// changed safety number), says why on a line under it, scrolled into
// view; Send again sends that same message (client.Client.Retry).
//
// # Long conversations
//
// A conversation shows a window of at most 300 messages: the newest page
// of 100 first (client.History), older pages as the reader nears the top,
// newer ones again on the way down. When the window
// changes, the message that was on screen is found again and the scroll
// position is set so that it stays where it was. Opening a conversation
// leaves the performance marks "chat-open-start" and "chat-open-done" and
// the measure "chat-open" in the page, for measurements.
package ui
