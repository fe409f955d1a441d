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
// Notifications (go-app's protocol: app.Context's notification API)
// -----------------------------------------------------------------------------
self.addEventListener("push", (event) => {
  event.waitUntil((async () => {
    let notification = null;
    try {
      notification = event.data ? event.data.json() : null;
    } catch (err) {
      notification = null;
    }
    if (notification) {
      await showNotification(self.registration, notification);
    }
  })());
});

self.addEventListener("message", (event) => {
  const msg = event.data;
  if (!msg || msg.type !== "goapp:notify") {
    return;
  }
  event.waitUntil(showNotification(self.registration, msg.options));
});

async function showNotification(registration, notification) {
  const title = notification.title || "Mutual";
  const actions = [];
  for (const action of notification.actions || []) {
    actions.push({ action: action.action, path: action.path });
    delete action.path;
  }
  await registration.showNotification(title, {
    body: notification.body,
    icon: notification.icon,
    badge: notification.badge,
    actions: notification.actions,
    data: { goapp: { path: notification.path, actions: actions } },
  });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = (event.notification.data && event.notification.data.goapp) || {};
  let path = data.path || "/";
  for (const action of data.actions || []) {
    if (action.action === event.action) {
      path = action.path;
      break;
    }
  }
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    for (const client of windows) {
      if ("focus" in client) {
        await client.focus();
        client.postMessage({ goapp: { type: "notification", path: path } });
        return;
      }
    }
    if (self.clients.openWindow) {
      await self.clients.openWindow(path);
    }
  })());
});
