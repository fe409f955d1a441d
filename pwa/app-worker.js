// Mutual's service worker, version {{.Version}}.
//
// install:  precache every resource of this version, bypassing the HTTP
//           cache; if any one fails, the install fails and the previous
//           version stays in charge.
// activate: delete the caches of earlier versions and take control of the
//           open pages (the page then offers to reload into this version).
// fetch:    only same-origin GET requests, never the relay's API and
//           WebSocket (/v1/) nor /metrics and /healthz. Page loads go to the
//           network first and fall back to the cached app shell, so that an
//           offline reload of any page, deep links included, opens the app;
//           everything else is served from the cache first.
// push:     a notification that a message arrived in a chat, unless the app
//           is in front; a click on it opens that chat.
"use strict";

const cacheName = "mutual-{{.Version}}";
const cachePrefix = "mutual-";
const resourcesToCache = {{.ResourcesToCache}};

// The app shell: every page of the app renders from it.
const shell = "/";

// How long a page load waits for the network before opening the cached
// shell instead.
const navigationTimeout = 3000;

// bypassed reports whether the worker leaves a same-origin request alone.
function bypassed(url) {
  const path = url.pathname;
  return path === "/v1" || path.startsWith("/v1/") ||
    path === "/metrics" || path === "/healthz";
}

// -----------------------------------------------------------------------------
// Install and activate
// -----------------------------------------------------------------------------
self.addEventListener("install", (event) => {
  event.waitUntil(install());
});

async function install() {
  const cache = await caches.open(cacheName);
  try {
    // addAll stores nothing unless every response is ok, and rejects
    // otherwise; the rejection fails the install.
    await cache.addAll(resourcesToCache.map((url) => new Request(url, { cache: "reload" })));
  } catch (err) {
    await caches.delete(cacheName);
    throw err;
  }
  await self.skipWaiting();
}

self.addEventListener("activate", (event) => {
  event.waitUntil(activate());
});

async function activate() {
  const keys = await caches.keys();
  await Promise.all(keys
    .filter((key) => key.startsWith(cachePrefix) && key !== cacheName)
    .map((key) => caches.delete(key)));
  await self.clients.claim();
}

// -----------------------------------------------------------------------------
// Fetch
// -----------------------------------------------------------------------------
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || bypassed(url)) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
    return;
  }
  event.respondWith(cacheFirst(request));
});

// navigate answers a page load from the network when it answers in time
// and without a server error, and with the cached shell otherwise.
async function navigate(request) {
  let response;
  try {
    response = await fetchWithin(request, navigationTimeout);
    if (response.status < 500) {
      return response;
    }
  } catch (err) {
    // Offline, or too slow: the shell below.
  }
  const cache = await caches.open(cacheName);
  const cached = await cache.match(shell);
  if (cached) {
    return cached;
  }
  return response || Response.error();
}

// fetchWithin is fetch that gives up waiting after ms milliseconds.
function fetchWithin(request, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
    fetch(request).then(
      (response) => { clearTimeout(timer); resolve(response); },
      (err) => { clearTimeout(timer); reject(err); });
  });
}

// cacheFirst answers from this version's cache, else from the network.
async function cacheFirst(request) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) {
    return cached;
  }
  return fetch(request);
}

// -----------------------------------------------------------------------------
// Push and notifications
// -----------------------------------------------------------------------------
// The relay pushes (Web Push, encrypted to this device) when a message
// waits for a device that is not connected. The payload is
// {"v":1,"c":"<conversation ID, 32 hex digits>"}: that something arrived
// in that conversation, never what or from whom. The worker cannot read
// messages (their keys are the app's), so a notification says "New
// message", or "New message from <name>" when the person turned on
// "Show names in notifications": the page then keeps a small map of
// conversation IDs to chat names in the IndexedDB database notifyDB
// (app/ui/notifications.go), and empties it when it is turned off.

const notifyDB = "mutual-notify";
const notifyStore = "names";
const conversationHex = /^[0-9a-f]{32}$/;

self.addEventListener("push", (event) => {
  event.waitUntil(onPush(event.data));
});

// pushedConversation is the conversation a push names, in hex, or "" if
// the payload is not one of the relay's.
function pushedConversation(data) {
  let payload = null;
  try {
    payload = data ? data.json() : null;
  } catch (err) {
    payload = null;
  }
  if (payload && payload.v === 1 && typeof payload.c === "string" && conversationHex.test(payload.c)) {
    return payload.c;
  }
  return "";
}

// onPush shows a notification unless the app is in front of the person,
// where the message shows as it arrives (a push is then only a wake-up;
// browsers require a notification for every push otherwise). Each chat
// has one notification, replaced by the next (tag), which alerts again.
async function onPush(data) {
  const conv = pushedConversation(data);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (windows.some((w) => w.focused && w.visibilityState === "visible")) {
    return;
  }
  const name = conv ? await chatName(conv) : "";
  await self.registration.showNotification("Mutual", {
    body: name ? "New message from " + name : "New message",
    tag: conv || "mutual",
    renotify: true,
    icon: "/web/icons/icon-192.png",
    data: { c: conv },
  });
}

// chatName is the name the page left for conv, or "" (the option is off,
// or the chat is new since).
async function chatName(conv) {
  try {
    const db = await openNotifyDB();
    try {
      const name = await idbRequest(db.transaction(notifyStore).objectStore(notifyStore).get(conv));
      return typeof name === "string" ? name : "";
    } finally {
      db.close();
    }
  } catch (err) {
    return "";
  }
}

// openNotifyDB opens the names database (the page opens it the same way).
function openNotifyDB() {
  const req = indexedDB.open(notifyDB, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(notifyStore);
  return idbRequest(req);
}

function idbRequest(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(openChat(data.c));
});

// chatRoute is the page that opens conv's chat: the chats list, told
// which conversation to open (the app finds the chat, a person's or a
// group's; app/ui/notifications.go).
function chatRoute(conv) {
  return typeof conv === "string" && conversationHex.test(conv) ? "/?open=" + conv : "/";
}

// openChat shows conv's chat in a window of the app already open (go-app
// navigates it, see app.js), or in a new one.
async function openChat(conv) {
  const path = chatRoute(conv);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const win = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (win) {
    win.postMessage({ goapp: { type: "notification", path: path } });
    try {
      await win.focus();
    } catch (err) {
      // Focusing is for a click on the notification; the window has
      // gone to the chat anyway.
    }
    return;
  }
  await self.clients.openWindow(path);
}
