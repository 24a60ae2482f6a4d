// glucolink site script: the API client (session cookie + CSRF double submit) and each page's behaviour.
// Pages say which behaviour they want with <body data-page="...">; there is no inline script (CSP).

const CSRF_COOKIE = "csrf";

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

/** An error answer of the API: `code` is stable, `message` is for people. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The request failed (${status}).`);
    this.status = status;
    this.code = error.code || "unknown";
    this.field = error.field || null;
  }
}

/** Makes sure the browser holds a CSRF cookie (any API answer hands one out). */
async function ensureCsrf() {
  if (!readCookie(CSRF_COOKIE)) {
    await fetch("/api/me", { credentials: "same-origin" });
  }
  return readCookie(CSRF_COOKIE) || "";
}

/** Calls the API; resolves to the parsed JSON (or null), rejects with ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = await ensureCsrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** Where to go after signing in: a same-site path from ?next=, else the default. */
function nextPath(fallback) {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : fallback;
}

function clearErrors(form) {
  form.querySelector("[data-form-error]").textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
}

function showError(form, error) {
  const input = error.field && form.elements.namedItem(error.field);
  const slot = input && form.querySelector(`#${input.id}-error`);
  if (input && slot) {
    input.setAttribute("aria-invalid", "true");
    slot.textContent = error.message;
    input.focus();
  }
  const alert = form.querySelector("[data-form-error]");
  alert.textContent = error.message;
}

/** Wires a form to an API call: collects its fields, shows errors beside them, then moves on. */
function apiForm(form, path, after) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    for (const [name, value] of new FormData(form)) {
      if (value !== "" || form.elements.namedItem(name).required) body[name] = value;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await api("POST", path, body);
      after(result);
    } catch (error) {
      showError(form, error instanceof ApiError ? error : new ApiError(0, null));
    } finally {
      button.disabled = false;
    }
  });
}

/** The signed-in account, or a redirect to the right sign-in page. */
async function whoAmI(kind, signInPath) {
  try {
    const me = await api("GET", "/api/me");
    if (me.kind !== kind) {
      location.replace(me.kind === "person" ? "/personal/" : "/clinic/");
      return null;
    }
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.replace(`${signInPath}?next=${encodeURIComponent(location.pathname)}`);
      return null;
    }
    throw error;
  }
}

function fill(data) {
  for (const slot of document.querySelectorAll("[data-fill]")) {
    const value = data[slot.dataset.fill];
    slot.textContent = value === null || value === undefined || value === "" ? "—" : value;
  }
}

function wireSignOut(target) {
  const button = document.querySelector("[data-sign-out]");
  if (!button) return;
  button.addEventListener("click", async () => {
    await api("POST", "/api/signout");
    location.assign(target);
  });
}

const pages = {
  "clinic-signup": () => apiForm(document.querySelector("form"), "/api/clinic/signup", () => location.assign("/clinic/")),
  "clinic-signin": () => apiForm(document.querySelector("form"), "/api/clinic/signin", () => location.assign(nextPath("/clinic/"))),
  "personal-signup": () => apiForm(document.querySelector("form"), "/api/personal/signup", () => location.assign(nextPath("/personal/"))),
  "personal-signin": () => apiForm(document.querySelector("form"), "/api/personal/signin", () => location.assign(nextPath("/personal/"))),
  "clinic-home": async () => {
    const me = await whoAmI("clinic_user", "/clinic/signin");
    if (!me) return;
    fill(me);
    wireSignOut("/clinic/signin");
  },
  "personal-home": async () => {
    const me = await whoAmI("person", "/personal/signin");
    if (!me) return;
    fill(me);
    wireSignOut("/personal/signin");
  },
};

const page = pages[document.body.dataset.page];
if (page) page();
