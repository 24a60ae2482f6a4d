// Who is signed in, where sign-in sends people next (?next= kept on this site), and signing out.

import { ApiError, api } from "/assets/lib/api.js";
import { el } from "/assets/lib/dom.js";

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
    if (me.kind === "clinic_user") showClinic(me);
    if (me.clinic_verification === "pending") showVerificationNeeded(me);
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

/**
 * The clinic this session works in, beside the brand: its name, or (for someone on the staff of several
 * clinics) a switcher that starts a session in the chosen clinic and opens its patient list.
 */
function showClinic(me) {
  const brand = document.querySelector("header.site .brand");
  if (!brand || document.querySelector("[data-clinic-switch]")) return;
  const clinics = me.clinics ?? [];
  if (clinics.length < 2) {
    brand.after(el("span", { className: "clinic-switch", "data-clinic-switch": "", title: "Your clinic" }, me.clinic_name));
    return;
  }
  const error = el("span", { className: "clinic-switch-error", role: "alert" });
  const select = el("select", { "aria-label": "Clinic: switch to another of your clinics" },
    clinics.map((c) => {
      const option = el("option", { value: c.clinic_id }, c.role === "admin" ? `${c.clinic_name} (admin)` : c.clinic_name);
      option.selected = c.current;
      return option;
    }));
  select.addEventListener("change", async () => {
    select.disabled = true;
    error.textContent = "";
    try {
      await api("POST", "/api/me/clinic", { clinic_id: select.value });
      location.assign("/clinic/");
    } catch (failure) {
      error.textContent = failure.message;
      select.value = me.clinic_id;
      select.disabled = false;
    }
  });
  brand.after(el("div", { className: "clinic-switch", "data-clinic-switch": "" }, select, error));
}

/**
 * Until a new clinic's email is verified it cannot work with patients: every clinic page says so at its
 * top, with the address the link went to and a way to send it again.
 */
function showVerificationNeeded(me) {
  const main = document.querySelector("main");
  if (!main || main.querySelector("[data-verify-banner]")) return;
  const status = el("p", { className: "success", role: "status" });
  const button = el("button", { type: "button", className: "secondary" }, "Send the link again");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      status.textContent = (await api("POST", "/api/clinic/verification-email")).message;
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  const banner = el("section", { className: "card warning", "aria-labelledby": "verify-heading", "data-verify-banner": "" },
    el("h2", { id: "verify-heading" }, "Verify your clinic's email"),
    el("p", {}, `We emailed a link to ${me.email}. Follow it to add patients, link their accounts and see their data: until then ${me.clinic_name} cannot work with patients. Patients will see that the clinic's administrator receives email at ${me.email.split("@").pop()}.`),
    el("p", {}, "Nothing arrived after a few minutes? Check your spam folder, or send the link again."),
    el("p", {}, button),
    status);
  main.querySelector("h1")?.after(banner);
}
