// loadmon's few lines of plain JavaScript (no build step): the service worker, and the symptom
// form offline. A symptom submitted while the server cannot be reached is kept in IndexedDB
// (this browser only) and sent through POST /api/symptoms, with the CSRF token of /api/session,
// as soon as the server answers again (at the next page load, when the browser is back online,
// and every few seconds while one waits).
"use strict";
(function () {
  const DB_NAME = "loadmon";
  const STORE = "symptom-outbox";
  const FIELDS = ["site", "side", "location", "severity", "note", "at"];
  const RETRY_MS = 5000;
  const OFFLINE_SAVED = "Saved offline, will be sent when you are back online.";

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => undefined);  // no worker: the app works, only not offline
  }

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function withStore(mode, work) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  function say(text) {
    let box = document.getElementById("offline-status");
    if (!box) {
      box = document.createElement("p");
      box.id = "offline-status";
      box.className = "notice";
      box.setAttribute("role", "status");
      const main = document.querySelector("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
  }

  // "YYYY-MM-DDTHH:MM" (athlete-local, as rendered) moved on by `ms`: a form served from the cache keeps its time current
  function later(value, ms) {
    const moved = new Date(Date.parse(value + ":00Z") + ms);
    return isNaN(moved.getTime()) ? value : moved.toISOString().slice(0, 16);
  }

  let timer = null;
  function retrySoon() {
    if (timer === null) {
      timer = setTimeout(() => { timer = null; send(); }, RETRY_MS);
    }
  }

  let sending = false;
  async function sendPending() {
    const items = await withStore("readonly", (store) => store.getAll());
    if (!items.length) {
      return;
    }
    let session;
    try {
      const response = await fetch("/api/session", { credentials: "same-origin", cache: "no-store" });
      if (response.status !== 200) {
        return;  // logged out: sent after the next login
      }
      session = await response.json();
    } catch (error) {
      retrySoon();  // still offline
      return;
    }
    let sent = 0;
    const refused = [];
    for (const item of items) {
      if (item.user && item.user !== session.user) {
        continue;  // logged while another user was logged in: theirs to send
      }
      let response;
      try {
        response = await fetch("/api/symptoms", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf_token },
          body: JSON.stringify(item.fields),
        });
      } catch (error) {
        retrySoon();
        break;
      }
      if (response.status === 201) {
        await withStore("readwrite", (store) => store.delete(item.id));
        sent += 1;
      } else if (response.status === 400) {  // a value the server refuses: sending again would not help
        const body = await response.json().catch(() => ({}));
        await withStore("readwrite", (store) => store.delete(item.id));
        refused.push(body.error || "refused");
      } else {
        retrySoon();  // a server error: try again later
        break;
      }
    }
    if (sent || refused.length) {
      say((sent ? `Sent ${sent} symptom${sent === 1 ? "" : "s"} saved offline.` : "") +
          (refused.length ? ` Not sent (refused): ${refused.join("; ")}` : ""));
    }
  }

  async function send() {
    if (sending) {
      return;
    }
    sending = true;
    try {
      if (navigator.locks) {  // one tab at a time sends the outbox
        await navigator.locks.request("loadmon-symptom-outbox", sendPending);
      } else {
        await sendPending();
      }
    } catch (error) {
      retrySoon();
    } finally {
      sending = false;
    }
  }

  function symptomForm(form) {
    const at = form.elements.at;
    const rendered = Number(form.dataset.renderedMs);
    const now = () => (rendered ? later(at.defaultValue, Date.now() - rendered) : "");
    if (at && rendered && at.value === at.defaultValue && Date.now() - rendered > 60000) {
      at.value = now();
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      let response;
      try {
        response = await fetch(form.action, {
          method: "POST", body: new URLSearchParams(data), credentials: "same-origin", redirect: "manual",
        });
      } catch (error) {  // the server cannot be reached: keep it here
        const fields = {};
        for (const name of FIELDS) {
          const value = data.get(name);
          if (value !== null && value !== "") {
            fields[name] = String(value);
          }
        }
        if (!fields.at && rendered) {
          fields.at = now();
        }
        await withStore("readwrite", (store) => store.add({ fields: fields, user: document.body.dataset.user || null,
                                                             saved_at: new Date().toISOString() }));
        form.reset();
        say(OFFLINE_SAVED);
        retrySoon();
        return;
      }
      if (response.type === "opaqueredirect") {
        location.assign("/symptoms");  // stored
      } else {
        form.submit();  // the server's own answer (a refused value with its reason)
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("form[data-offline=symptom]");
    if (form) {
      symptomForm(form);
    }
    const logout = document.querySelector("form[action='/logout']");
    if (logout && navigator.serviceWorker && navigator.serviceWorker.controller) {
      logout.addEventListener("submit", () => navigator.serviceWorker.controller.postMessage("logout"));
    }
    if (document.body.dataset.user) {
      send();
    }
  });
  window.addEventListener("online", () => send());
})();
