// loadmon's service worker (served at /sw.js: its scope is the whole app).
// It keeps the app shell for offline use: the stylesheet, app.js and the symptom form.
// A symptom submitted offline is kept by app.js (IndexedDB) and sent when the server answers again;
// this worker never sends anything itself and passes every other request to the network untouched.
"use strict";

const CACHE = "loadmon-shell-v1";
const STATIC = ["/static/style.css", "/static/app.js"];
const PAGES = ["/symptoms/new"];  // cached when fetched while logged in (never a redirect to /login)

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(STATIC)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("loadmon-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) {
      await cache.put(new URL(request.url).pathname, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(new URL(request.url).pathname);
    if (cached) {
      return cached;
    }
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  const refresh = fetch(request).then((response) => {
    if (response.ok) {
      cache.put(request, response.clone());
    }
    return response;
  });
  if (cached) {
    refresh.catch(() => undefined);  // offline: the cached copy is used, the refresh waits for the next visit
    return cached;
  }
  return refresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (STATIC.includes(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else if (PAGES.includes(url.pathname) && request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  }
});

self.addEventListener("message", (event) => {
  if (event.data === "logout") {  // the shell page shows who is logged in: forget it
    event.waitUntil(caches.delete(CACHE));
  }
});
