// Who is signed in, where sign-in sends people next (?next= kept on this site), and signing out.

import { ApiError, api } from "/assets/lib/api.js";

/** The ?next= of this page as a path on this site, or null: it is resolved against our origin the way
 * the browser will (backslashes, tabs and other tricks included) and kept only if it stays here. */
export function safeNext() {
  const raw = new URLSearchParams(location.search).get("next");
  if (!raw || !raw.startsWith("/")) return null;
  try {
    const url = new URL(raw, location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : null;
  } catch {
    return null;
  }
}

/** Where to go after signing in: a same-site path from ?next=, else the default. */
export function nextPath(fallback) {
  return safeNext() ?? fallback;
}

/** The signed-in account, or a redirect to the right sign-in page. */
export async function whoAmI(kind, signInPath) {
  try {
    const me = await api("GET", "/api/me");
    if (me.kind !== kind) {
      location.replace(me.kind === "person" ? "/personal/" : "/clinic/");
      return null;
    }
    // Links to what only a clinic's administrators may see are shown to them alone.
    for (const link of document.querySelectorAll("header [data-admin-only]")) link.hidden = me.role !== "admin";
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.replace(`${signInPath}?next=${encodeURIComponent(location.pathname + location.search)}`);
      return null;
    }
    throw error;
  }
}

export function signInPathFor(path) {
  return path.startsWith("/clinic") ? "/clinic/signin" : "/personal/signin";
}

export function wireSignOut(target) {
  const button = document.querySelector("[data-sign-out]");
  if (!button) return;
  button.addEventListener("click", async () => {
    await api("POST", "/api/signout");
    location.assign(target);
  });
}
