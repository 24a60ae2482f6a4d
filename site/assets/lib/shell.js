// The page shell's behaviour, shared by every page: the phone menu, ?next= passed on to sign-in and
// sign-up links, and the page's own behaviour started with `data-ready` set once it has loaded.

import { zoneName } from "/assets/lib/format.js";
import { safeNext } from "/assets/lib/session.js";

function wireMenu() {
  const toggle = document.querySelector("[data-menu-toggle]");
  const nav = document.getElementById("site-nav");
  if (!toggle || !nav) return;
  const close = () => {
    toggle.setAttribute("aria-expanded", "false");
    nav.removeAttribute("data-open");
  };
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.toggleAttribute("data-open", open);
    if (open) nav.querySelector("a, button")?.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      close();
      toggle.focus();
    }
  });
}

// A sign-in page passes ?next on to its sign-up link, so a patient who follows a code link and has
// no account yet comes back to the request after signing up.
function passNextOn() {
  const next = safeNext();
  if (!next) return;
  for (const link of document.querySelectorAll('main a[href="/personal/signup"], main a[href="/personal/signin"]')) {
    link.href = `${link.getAttribute("href")}?next=${encodeURIComponent(next)}`;
  }
}

// Times on signed-in pages are in the reader's time zone, named once in the footer rather than
// beside every time.
function nameTheTimeZone() {
  const note = document.querySelector("[data-zone-note]");
  if (!note || !["clinic", "personal"].includes(document.body.dataset.area)) return;
  note.textContent = `Times are shown in your time zone: ${zoneName()}.`;
  note.hidden = false;
}

/**
 * Starts a page: wires the shell, runs the page's behaviour, then sets `body[data-ready]`, so that
 * nothing typed before then is overwritten unseen (the browser tests wait for it too).
 */
/**
 * Until the page has wired its forms, a submit (a quick click while the page still loads its data on a
 * slow connection) is held and sent once the page is ready, instead of the browser's own submission,
 * which would reload the page and lose the file or the words chosen. Forms say method="post", so even
 * a submit before this script runs never puts what was typed into the address.
 */
function holdEarlySubmits() {
  let held = null;
  const hold = (event) => {
    event.preventDefault();
    event.stopImmediatePropagation();
    held = { form: event.target, submitter: event.submitter };
  };
  document.addEventListener("submit", hold, true);
  return () => {
    document.removeEventListener("submit", hold, true);
    if (held && held.form.isConnected) held.form.requestSubmit(held.submitter || undefined);
  };
}

export function start(page) {
  const release = holdEarlySubmits();
  wireMenu();
  passNextOn();
  nameTheTimeZone();
  Promise.resolve(page ? page() : null).finally(() => {
    document.body.dataset.ready = "true";
    release();
  });
}
