// glucolink site script: the API client (session cookie + CSRF double submit) and each page's behaviour.
// Pages say which behaviour they want with <body data-page="...">; there is no inline script (CSP).

// In the cloud the cookie carries the __Host- prefix (Secure, host-only); locally it is plain.
const CSRF_COOKIES = ["__Host-csrf", "csrf"];
const csrfToken = () => CSRF_COOKIES.map(readCookie).find(Boolean) || null;

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
  if (!csrfToken()) {
    await fetch("/api/me", { credentials: "same-origin" });
  }
  return csrfToken() || "";
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

/** The browser's IANA time zone. */
function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The ?next= of this page as a path on this site, or null: it is resolved against our origin the way
 * the browser will (backslashes, tabs and other tricks included) and kept only if it stays here. */
function safeNext() {
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
function nextPath(fallback) {
  return safeNext() ?? fallback;
}

function clearErrors(form) {
  form.querySelector("[data-form-error]").textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
}

function showError(form, error) {
  if (error.code === "unauthenticated") {
    location.assign(signInPathFor(location.pathname) + `?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
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

/**
 * Wires a form to an API call: collects its fields (checkboxes as booleans), shows errors beside them,
 * then moves on. `path` may be a function of nothing, for paths known only later.
 */
function apiForm(form, path, after) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    if (form.dataset.addTimeZone !== undefined) body.time_zone = browserZone();
    for (const input of form.elements) {
      if (!input.name) continue;
      if (input.type === "checkbox") body[input.name] = input.checked;
      else if (input.value !== "" || input.required) body[input.name] = input.value;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await api("POST", typeof path === "function" ? path() : path, body);
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
      location.replace(`${signInPath}?next=${encodeURIComponent(location.pathname + location.search)}`);
      return null;
    }
    throw error;
  }
}

function signInPathFor(path) {
  return path.startsWith("/clinic") ? "/clinic/signin" : "/personal/signin";
}

/** Builds an element: el("a", {href: "/x"}, "text", child). Text is always set as text, never as HTML. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "className") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** A time as people read it, in their own time zone; "—" for none. */
function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const LINK_TEXT = {
  linked: "Linked",
  pending: "Pending code",
  not_linked: "Not linked",
  sharing_stopped: "Sharing stopped",
  code_expired: "Code expired",
  code_declined: "Code declined",
  unlinked: "Unlinked",
};
const FRESHNESS_TEXT = { recent: "Recent data", old: "Old data", none: "No data" };

function badge(kind, text) {
  return el("span", { className: `badge ${kind}` }, text);
}

function fill(data, root = document) {
  for (const slot of root.querySelectorAll("[data-fill]")) {
    if (!(slot.dataset.fill in data)) continue;
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

/** Shows the elements whose data-when lists the state, hides the others. */
function showWhen(state) {
  for (const node of document.querySelectorAll("[data-when]")) {
    node.hidden = !node.dataset.when.split(" ").includes(state);
  }
}

async function clinicHome() {
  const me = await whoAmI("clinic_user", "/clinic/signin");
  if (!me) return;
  fill(me);
  wireSignOut("/clinic/signin");
  const rows = document.querySelector("[data-patient-rows]");
  const more = document.querySelector("[data-more]");
  const empty = document.querySelector("[data-list-empty]");
  const listError = document.querySelector("[data-list-error]");
  let cursor = null;
  let query = "";
  const linkFilter = document.querySelector("[data-link-filter]");
  linkFilter.addEventListener("change", () => load(false));
  async function load(append) {
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    if (linkFilter.value) params.set("link", linkFilter.value);
    if (append && cursor) params.set("cursor", cursor);
    listError.textContent = "";
    try {
      const page = await api("GET", `/api/clinic/patients?${params}`);
      if (!append) rows.replaceChildren();
      for (const p of page.patients) {
        rows.append(
          el("tr", {},
            el("td", {}, el("a", { href: `/clinic/patient?id=${encodeURIComponent(p.patient_id)}` }, p.name)),
            el("td", {}, p.date_of_birth),
            el("td", {}, p.mrn || "—"),
            el("td", {},
              badge(p.link.status, LINK_TEXT[p.link.status]),
              p.link.identity === "mismatch" ? [" ", badge("identity", "Check identity")] : "",
              p.link.since && p.link.status !== "linked"
                ? el("span", { className: "link-note" }, p.link.status === "pending" ? `until ${day(p.link.code_expires_at)}` : `since ${day(p.link.since)}`)
                : ""),
            el("td", {}, p.link.status === "linked" ? badge(p.freshness, FRESHNESS_TEXT[p.freshness]) : "—",
              p.last_reading_at ? el("div", { className: "hint" }, `Newest reading ${when(p.last_reading_at)}`) : ""),
          ),
        );
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = rows.children.length > 0;
    } catch (error) {
      listError.textContent = error.message;
    }
  }
  document.querySelector("[data-search]").addEventListener("submit", (event) => {
    event.preventDefault();
    query = event.target.elements.namedItem("q").value.trim();
    load(false);
  });
  more.addEventListener("click", () => load(true));
  apiForm(document.querySelector("[data-add-patient]"), "/api/clinic/patients", (created) =>
    location.assign(`/clinic/patient?id=${encodeURIComponent(created.patient_id)}`),
  );
  await load(false);
}

/** Wires a report form: custom dates show (and are sent) only when "Custom dates" is chosen. */
function wireReportForm(form, action) {
  form.action = action;
  const days = form.elements.namedItem("days");
  const custom = form.querySelector("[data-custom-dates]");
  const sync = () => {
    const isCustom = days.value === "";
    custom.hidden = !isCustom;
    for (const input of custom.querySelectorAll("input")) input.disabled = !isCustom;
  };
  days.addEventListener("change", sync);
  sync();
}

/** A day as people read it, in their own locale: "2 Dec 2026". */
function day(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

/** What differs between a record and an account, in words: "date of birth", "name and date of birth". */
function differsText(differs) {
  return (differs || []).map((d) => d.replaceAll("_", " ")).join(" and ");
}

/** Where a record stands, in words, with the next step: [heading, text]. */
function linkStory(link) {
  switch (link.status) {
    case "pending":
      return ["Waiting for the patient", `A unique code is waiting for the patient until ${when(link.code_expires_at)}.`];
    case "sharing_stopped":
      return ["Sharing stopped", `${link.by} stopped sharing their data on ${day(link.since)}. Send a new code only if the patient asks to share again.`];
    case "code_expired":
      return ["Code expired", `The code expired on ${day(link.since)} without an answer. Generate a unique code and send the new one.`];
    case "code_declined":
      return ["Request declined", `${link.by} declined the request on ${day(link.since)}. Talk with the patient before sending a new code.`];
    case "unlinked":
      return ["Unlinked", `${link.by} unlinked this record on ${day(link.since)}. Link to Personal again when the patient agrees.`];
    default:
      return ["Not linked yet", "Link to Personal below to see this patient’s device data."];
  }
}

async function clinicPatient() {
  const me = await whoAmI("clinic_user", "/clinic/signin");
  if (!me) return;
  fill({ clinic_name: me.clinic_name });
  wireSignOut("/clinic/signin");
  const id = new URLSearchParams(location.search).get("id") || "";
  const base = `/api/clinic/patients/${encodeURIComponent(id)}`;
  const pageError = document.querySelector("[data-page-error]");
  const pageStatus = (text) => {
    document.querySelector("[data-page-status]").textContent = text;
  };
  const codeStatus = document.querySelector("[data-code-status]");
  const codePanel = document.querySelector("[data-code-panel]");
  const noCode = document.querySelector("[data-no-code]");
  let current = null;
  async function run(action, errorSlot = pageError) {
    errorSlot.textContent = "";
    try {
      await action();
    } catch (error) {
      errorSlot.textContent = error.message;
    }
  }
  function showCode(pending) {
    current.pending_code = pending;
    fill({
      code: pending.code,
      accept_url: pending.accept_url,
      code_expires_text: when(pending.expires_at),
      code_sent_text: pending.sent_to && pending.sent_to.length ? `Sent to ${pending.sent_to.join(", ")}.` : "Not sent by email or SMS yet.",
    });
    document.querySelector("[data-print]").href = `${base}/link/code/print?code=${encodeURIComponent(pending.code)}`;
    codePanel.hidden = false;
    noCode.hidden = true;
  }
  async function render() {
    const p = await api("GET", base);
    current = p;
    const account = p.linked_account || {};
    const [stateHeading, stateText] = linkStory(p.link);
    fill({
      name: p.name,
      date_of_birth: p.date_of_birth,
      mrn: p.mrn,
      link_text: LINK_TEXT[p.link.status],
      last_upload_text: when(p.last_upload_at),
      last_reading_text: when(p.last_reading_at),
      state_heading: stateHeading,
      state_text: stateText,
      account_name: account.name,
      account_username: account.username,
      account_date_of_birth: account.date_of_birth,
      identity_text: p.link.identity === "mismatch"
        ? `The ${differsText(p.link.differs)} of the linked personal account (${account.name || "—"}, born ${account.date_of_birth || "not given"}) ${p.link.differs.length > 1 ? "differ" : "differs"} from this record (${p.name}, born ${p.date_of_birth}).`
        : "",
      stale_heading: p.freshness === "none" ? "No data yet." : `Data is old (newest reading ${when(p.last_reading_at)}).`,
      what_the_clinic_sees: "your uploaded pump, meter and CGM data and the reports made from it, until you stop sharing on your Data Sharing page.",
      upload_request_text: p.upload_request
        ? `Last asked ${when(p.upload_request.at)} by ${p.upload_request.channel === "sms" ? "SMS Text" : "Email"}.`
        : "Not asked yet.",
    });
    document.querySelector("[data-link-badge]").replaceChildren(badge(p.link.status, LINK_TEXT[p.link.status]));
    document.querySelector("[data-link-state]").hidden = p.link.status === "linked";
    // Every state but "linked" and "pending" is a record the clinic can link again.
    showWhen(["linked", "pending"].includes(p.link.status) ? p.link.status : "not_linked");
    document.querySelector("[data-identity]").hidden = p.link.identity !== "mismatch";
    if (p.ranges) document.querySelector("#record-ranges").value = p.ranges.preset;
    document.querySelector("[data-stale]").hidden = p.freshness === "recent";
    const correct = document.querySelector("[data-correct-form]");
    correct.elements.namedItem("name").value = p.name;
    correct.elements.namedItem("date_of_birth").value = p.date_of_birth;
    correct.elements.namedItem("mrn").value = p.mrn || "";
    if (p.pending_code) showCode(p.pending_code);
    else {
      codePanel.hidden = true;
      noCode.hidden = false;
    }
  }

  // The patient at the clinic's screen: a full-screen step in the patient's words, then back to staff
  // only if the account's details differ from the record.
  const handoff = document.querySelector("[data-handoff]");
  const patientStep = handoff.querySelector("[data-handoff-patient]");
  const staffStep = handoff.querySelector("[data-handoff-staff]");
  const credentials = document.querySelector("[data-credentials]");
  const confirmForm = document.querySelector("[data-confirm-mismatch]");
  let typed = null;
  function closeHandoff() {
    credentials.reset();
    confirmForm.reset();
    clearErrors(credentials);
    clearErrors(confirmForm);
    typed = null;
    handoff.close();
  }
  document.querySelector("[data-open-handoff]").addEventListener("click", () => {
    patientStep.hidden = false;
    staffStep.hidden = true;
    handoff.showModal();
    credentials.elements.namedItem("username").focus();
  });
  for (const button of handoff.querySelectorAll("[data-close-handoff]")) button.addEventListener("click", closeHandoff);
  handoff.addEventListener("cancel", () => {
    typed = null;
    credentials.reset();
  });
  async function linked(result) {
    const name = (result.linked_account && result.linked_account.name) || "the patient";
    closeHandoff();
    await render();
    pageStatus(`Linked to the personal account of ${name}.`);
    document.querySelector("#linked-heading").focus();
  }
  credentials.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(credentials);
    const body = {
      username: credentials.elements.namedItem("username").value,
      password: credentials.elements.namedItem("password").value,
      consent: credentials.elements.namedItem("consent").checked,
    };
    try {
      await linked(await api("POST", `${base}/link/credentials`, body));
    } catch (error) {
      if (error.code === "identity_mismatch") {
        typed = body;
        fill({ mismatch_message: error.message }, staffStep);
        patientStep.hidden = true;
        staffStep.hidden = false;
        staffStep.querySelector("h2").focus();
        return;
      }
      showError(credentials, error);
    }
  });
  confirmForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(confirmForm);
    if (!typed) return;
    const reason = confirmForm.elements.namedItem("reason").value;
    try {
      await linked(await api("POST", `${base}/link/credentials`, { ...typed, confirm_mismatch: true, reason }));
    } catch (error) {
      showError(confirmForm, error);
    }
  });

  const correctForm = document.querySelector("[data-correct-form]");
  correctForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(correctForm);
    const field = (name) => correctForm.elements.namedItem(name).value.trim();
    const body = { name: field("name"), date_of_birth: field("date_of_birth") };
    if (field("mrn")) body.mrn = field("mrn");
    try {
      await api("PUT", base, body);
      await render();
      correctForm.querySelector("[data-form-status]").textContent = current.link.identity === "mismatch"
        ? "Saved. The details still differ from the linked account: check the identity."
        : "Saved.";
    } catch (error) {
      showError(correctForm, error);
    }
  });
  document.querySelector("[data-open-correct]").addEventListener("click", () => {
    const details = document.querySelector("[data-correct]");
    details.open = true;
    correctForm.elements.namedItem("name").focus();
  });

  wireReportForm(document.querySelector("[data-report-form]"), `${base}/report`);
  const rangesForm = document.querySelector("[data-ranges]");
  rangesForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(rangesForm);
    try {
      const saved = await api("PUT", `${base}/ranges`, { ranges: rangesForm.elements.namedItem("ranges").value });
      pageStatus(`Reports of this patient now use: ${saved.ranges.label}.`);
    } catch (error) {
      showError(rangesForm, error);
    }
  });
  async function newCode(replace) {
    const issued = await api("POST", `${base}/link/code`, replace ? { replace: true } : undefined);
    await render();
    codeStatus.textContent = `${replace ? "New code" : "Code"} ${issued.code}, valid until ${when(issued.expires_at)}.${replace ? " The earlier code no longer works." : ""}`;
    codeStatus.focus();
  }
  document.querySelector("[data-generate-code]").addEventListener("click", () =>
    run(() => newCode(false), document.querySelector("[data-code-error]")),
  );
  document.querySelector("[data-replace-code]").addEventListener("click", () =>
    run(async () => {
      if (!confirm("Replace this code? It stops working, and anyone it was sent to is told.")) return;
      await newCode(true);
    }, document.querySelector("[data-code-panel-error]")),
  );
  for (const form of document.querySelectorAll("[data-send]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const status = form.querySelector("[data-form-status]");
      status.textContent = "";
      const channel = form.dataset.send;
      const input = form.elements.namedItem("to");
      try {
        const code = current.pending_code ? current.pending_code.code : undefined;
        await api("POST", `${base}/link/code/send`, { channel, to: input.value, code });
        await render();
        status.textContent = `The code was sent by ${channel === "sms" ? "SMS Text" : "Email"} to ${input.value}.`;
      } catch (error) {
        showError(form, error);
      }
    });
  }
  const uploadForm = document.querySelector("[data-upload-request]");
  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(uploadForm);
    const channel = uploadForm.elements.namedItem("channel").value;
    const to = uploadForm.elements.namedItem("to").value.trim();
    try {
      await api("POST", `${base}/upload-request`, to ? { channel, to } : { channel });
      await render();
      pageStatus("The patient was asked to Upload now.");
    } catch (error) {
      showError(uploadForm, error);
    }
  });
  document.querySelector("[data-cancel-code]").addEventListener("click", () =>
    run(async () => {
      if (!confirm("Cancel this code? It stops working, and anyone it was sent to is told.")) return;
      await api("DELETE", `${base}/link/code`);
      await render();
      codeStatus.textContent = "The code was cancelled.";
      codeStatus.focus();
    }, document.querySelector("[data-code-panel-error]")),
  );
  for (const button of document.querySelectorAll("[data-unlink]")) {
    button.addEventListener("click", () =>
      run(async () => {
        if (!confirm("Unlink this record? The clinic stops seeing the patient's data.")) return;
        await api("DELETE", `${base}/link`);
        await render();
        pageStatus("The record was unlinked.");
        document.querySelector("#state-heading").focus();
      }),
    );
  }
  await run(render);
}

async function personalSharing() {
  const me = await whoAmI("person", "/personal/signin");
  if (!me) return;
  wireSignOut("/personal/signin");
  const status = document.querySelector("[data-status]");
  const requestCard = document.querySelector("[data-request]");
  const requestError = document.querySelector("[data-request-error]");
  let current = null;
  async function refresh() {
    const sharing = await api("GET", "/api/personal/sharing");
    const clinics = document.querySelector("[data-clinics]");
    clinics.replaceChildren(
      ...sharing.clinics.map((c) =>
        el("li", {},
          el("span", {},
            el("strong", {}, c.clinic_name), ` — since ${day(c.since)}`,
            c.record
              ? el("span", { className: "link-note" }, `Their record: ${c.record.patient_name}, born ${c.record.patient_date_of_birth}`)
              : "",
            c.record && c.record.identity === "mismatch"
              ? el("span", { className: "link-note mismatch" },
                  `The ${differsText(c.record.differs)} on this record ${c.record.differs.length > 1 ? "differ" : "differs"} from your account. If this is not your record, stop sharing and tell the clinic.`)
              : ""),
          el("button", { type: "button", className: "secondary", "aria-label": `Stop sharing with ${c.clinic_name}`, onclick: () => revoke(c) }, "Stop sharing"),
        ),
      ),
    );
    document.querySelector("[data-no-clinics]").hidden = sharing.clinics.length > 0;
    const pending = document.querySelector("[data-pending]");
    pending.replaceChildren(
      ...sharing.pending.map((r) =>
        el("li", {},
          el("span", {}, `${r.clinic_name} — for ${r.patient_name}, until ${when(r.expires_at)}`),
          el("span", {},
            el("button", { type: "button", "aria-label": `Accept the request of ${r.clinic_name}`, onclick: () => answer("accept", { request_id: r.request_id }, r.clinic_name, r) }, "Accept"),
            " ",
            el("button", { type: "button", className: "secondary", "aria-label": `Decline the request of ${r.clinic_name}`, onclick: () => answer("decline", { request_id: r.request_id }, r.clinic_name) }, "Decline"),
          ),
        ),
      ),
    );
    document.querySelector("[data-pending-section]").hidden = sharing.pending.length === 0;
  }
  async function revoke(clinic) {
    if (!confirm(`Stop sharing your data with ${clinic.clinic_name}?`)) return;
    await api("DELETE", `/api/personal/sharing/${encodeURIComponent(clinic.clinic_id)}`);
    status.textContent = `You no longer share your data with ${clinic.clinic_name}.`;
    await refresh();
  }
  async function answer(verb, body, clinicName, listed) {
    requestError.textContent = "";
    if (listed) {
      // Answered from the list: the request's card shows it, so that an error has a place beside it.
      current = listed;
      fill({
        what_the_clinic_sees: "Your uploaded pump, meter and CGM data and the reports made from it, for as long as you share it.",
        ...listed,
        expires_text: when(listed.expires_at),
      }, requestCard);
      requestCard.querySelector("[data-request-mismatch]").hidden = true;
      acceptButton.textContent = "Accept";
    }
    status.textContent = "";
    try {
      await api("POST", `/api/personal/sharing/${verb}`, body);
      requestCard.hidden = true;
      current = null;
      status.textContent = verb === "accept" ? `You now share your data with ${clinicName}.` : `You declined the request of ${clinicName}.`;
      await refresh();
      status.focus();
    } catch (error) {
      // An error is shown as an error, beside the buttons, with the next step in its words.
      requestError.textContent = error.message;
      requestCard.hidden = false;
      if (error.code === "identity_mismatch" && current) {
        showMismatch(error.message);
      }
      requestError.setAttribute("tabindex", "-1");
      requestError.focus();
    }
  }
  const acceptButton = document.querySelector("[data-accept]");
  function showMismatch(text) {
    fill({ mismatch_text: text }, requestCard);
    requestCard.querySelector("[data-request-mismatch]").hidden = false;
    current.confirm = true;
    acceptButton.textContent = "This is me — accept anyway";
  }
  const form = document.querySelector("[data-lookup]");
  apiForm(form, "/api/personal/sharing/lookup", (request) => {
    current = request;
    fill({ ...request, expires_text: when(request.expires_at) }, requestCard);
    requestError.textContent = "";
    requestCard.querySelector("[data-request-mismatch]").hidden = true;
    acceptButton.textContent = "Accept";
    if (request.differs && request.differs.includes("date_of_birth")) {
      showMismatch(`The clinic’s record is for ${request.patient_name}, born ${request.patient_date_of_birth}, but your account says you were born on another day.`);
    }
    requestCard.hidden = false;
    requestCard.querySelector("h2").setAttribute("tabindex", "-1");
    requestCard.querySelector("h2").focus();
    refresh();
  });
  acceptButton.addEventListener("click", () =>
    answer("accept", current.confirm ? { request_id: current.request_id, confirm_mismatch: true } : { request_id: current.request_id }, current.clinic_name),
  );
  document.querySelector("[data-decline]").addEventListener("click", () => answer("decline", { request_id: current.request_id }, current.clinic_name));
  await refresh();
  const code = new URLSearchParams(location.search).get("code");
  if (code) {
    form.elements.namedItem("code").value = code;
    form.requestSubmit();
  }
}

async function clinicStaff() {
  const me = await whoAmI("clinic_user", "/clinic/signin");
  if (!me) return;
  wireSignOut("/clinic/signin");
  const isAdmin = me.role === "admin";
  for (const node of document.querySelectorAll("[data-admin-only]")) node.hidden = !isAdmin;
  const pageError = document.querySelector("[data-page-error]");
  const status = (text) => {
    document.querySelector("[data-page-status]").textContent = text;
  };
  async function refresh() {
    const list = await api("GET", "/api/clinic/staff");
    document.querySelector("[data-staff]").replaceChildren(
      ...list.staff.map((member) =>
        el("li", {},
          el("span", {}, `${member.name} — ${member.email} — ${member.role}`),
          isAdmin && member.user_id !== me.user_id
            ? el("button", { type: "button", className: "secondary", "aria-label": `Remove ${member.name}`, onclick: () => remove(member) }, "Remove")
            : "",
        ),
      ),
    );
    document.querySelector("[data-invitations]").replaceChildren(
      ...list.invitations.map((i) => el("li", {}, `${i.email} — ${i.role} — until ${when(i.expires_at)}`)),
    );
    document.querySelector("[data-no-invitations]").hidden = list.invitations.length > 0;
    if (isAdmin) {
      const log = await api("GET", "/api/clinic/audit");
      document.querySelector("[data-audit]").replaceChildren(
        ...log.events.map((e) => el("li", {}, el("span", {}, `${e.actor.name}: ${e.detail}`), el("time", { datetime: e.at }, when(e.at)))),
      );
      const patients = await api("GET", "/api/clinic/patients");
      document.querySelector("#freshness_days").value = patients.freshness_days;
      document.querySelector("#glucose_units").value = patients.glucose_units || "mg/dL";
    }
  }
  async function remove(member) {
    if (!confirm(`Remove ${member.name}? Their sessions end at once.`)) return;
    pageError.textContent = "";
    try {
      await api("DELETE", `/api/clinic/staff/${encodeURIComponent(member.user_id)}`);
      status(`${member.name} was removed.`);
      await refresh();
    } catch (error) {
      pageError.textContent = error.message;
    }
  }
  const invite = document.querySelector("[data-invite]");
  invite.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(invite);
    const email = invite.elements.namedItem("email").value;
    try {
      await api("POST", "/api/clinic/staff/invitations", { email, role: invite.elements.namedItem("role").value });
      status(`An invitation was sent to ${email}.`);
      invite.reset();
      await refresh();
    } catch (error) {
      showError(invite, error);
    }
  });
  const settings = document.querySelector("[data-settings]");
  settings.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(settings);
    try {
      const days = Number(settings.elements.namedItem("freshness_days").value);
      const units = settings.elements.namedItem("glucose_units").value;
      await api("PUT", "/api/clinic/settings", { freshness_days: Number.isInteger(days) ? days : 0, glucose_units: units });
      status(`Saved: data older than ${days} days counts as old; reports show ${units}.`);
      await refresh();
    } catch (error) {
      showError(settings, error);
    }
  });
  await refresh();
}

async function clinicJoin() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const pageError = document.querySelector("[data-page-error]");
  try {
    const invitation = await api("POST", "/api/clinic/staff/invitations/lookup", { token });
    fill(invitation);
    document.querySelector("[data-invitation]").hidden = false;
  } catch (error) {
    pageError.textContent = error.message;
    return;
  }
  const form = document.querySelector("[data-join]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api("POST", "/api/clinic/staff/invitations/accept", {
        token,
        name: form.elements.namedItem("name").value,
        password: form.elements.namedItem("password").value,
      });
      location.assign("/clinic/");
    } catch (error) {
      showError(form, error);
    }
  });
}

/** Wraps the links of a plain-text message in anchors, building text nodes only. */
function linkified(text) {
  const parts = text.split(/(https?:\/\/[^\s)]+)/);
  return parts.map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const href = part.replace(/[.,]$/, "");
    return el("a", { href }, part);
  });
}

async function devOutbox() {
  try {
    const { messages } = await api("GET", "/api/dev/outbox");
    document.querySelector("[data-messages]").replaceChildren(
      ...messages.map((m) =>
        el("article", { className: "card" },
          el("h2", {}, m.subject || `SMS Text to ${m.to}`),
          el("p", {}, `${m.channel === "sms" ? "SMS Text" : "Email"} to ${m.to}, ${when(m.at)}`),
          el("div", { className: "outbox-message" }, ...linkified(m.text)),
        ),
      ),
    );
    document.querySelector("[data-no-messages]").hidden = messages.length > 0;
  } catch (error) {
    document.querySelector("[data-outbox-error]").textContent =
      error.status === 404 ? "The outbox exists only on the local server." : error.message;
  }
}

/** Sends a file as the raw body with the CSRF header, reporting progress (fetch cannot). */
function uploadFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    ensureCsrf().then((token) => {
      const request = new XMLHttpRequest();
      request.open("POST", path);
      request.setRequestHeader("X-CSRF-Token", token);
      request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
      });
      request.addEventListener("load", () => {
        let body = null;
        try {
          body = request.responseText ? JSON.parse(request.responseText) : null;
        } catch {
          body = null;
        }
        if (request.status >= 200 && request.status < 300) resolve(body);
        else reject(new ApiError(request.status, body));
      });
      request.addEventListener("error", () => reject(new ApiError(0, null)));
      request.send(file);
    }, reject);
  });
}

const count = (n) => Number(n).toLocaleString();

/** What each kind of stored event is called on screen. */
const KIND_WORDS = {
  cgm: "sensor glucose",
  smbg: "meter glucose",
  bolus: "boluses",
  basal: "basal",
  carbs: "carbs",
  auto_insulin: "SmartGuard insulin",
  pump_mode: "SmartGuard on and off",
  long_acting: "long-acting insulin",
};

/** Everything an upload answer says, in a person's words: what was stored, from which devices and
 * period, how complete it is, and every row that was not used, with its reason. */
function showUploadSummary(summary) {
  const c = summary.completeness;
  const day = (iso) => new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });
  const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;
  const parts = [
    `${count(summary.accepted)} new readings and events`,
    `${count(summary.duplicates)} already stored`,
  ];
  if (summary.conflict_count > 0) parts.push(plural(summary.conflict_count, "conflicting value not stored", "conflicting values not stored"));
  parts.push(plural(summary.rejected_count, "row not used", "rows not used"));
  fill({ upload_result_text: `Uploaded: ${parts.join(", ")}.` }, document.querySelector("[data-upload-result]"));
  const devices = summary.devices.map((d) =>
    el("li", {}, `${d.device}: ${d.kinds.map((k) => KIND_WORDS[k] ?? k).join(", ")}, ${day(d.first_event_at)} to ${day(d.last_event_at)}`));
  const readings = c.readings.map((r) =>
    el("li", {}, `${r.device}: ${count(r.present)} of ${count(r.expected)} expected sensor readings (${r.percent} %, every ${r.interval_minutes} min)`));
  const completeness = [
    ...readings,
    el("li", {}, c.gap_count === 0 ? "No gap of more than 2 hours in the sensor readings." : `${count(c.gap_count)} gaps of more than 2 hours in the sensor readings.`),
  ];
  if (c.insulin_recorded && c.days_without_insulin_count > 0) {
    completeness.push(el("li", {}, `${count(c.days_without_insulin_count)} days with sensor readings but no insulin data.`));
  }
  const problems = [
    ...summary.conflicts.slice(0, 10).map((x) => el("li", {},
      `${x.row ? `Row ${x.row}, ` : ""}${when(x.time)}, ${x.device}: kept ${x.kept} (${x.kept_from === "stored" ? "already stored" : "earlier in the file"}), not ${x.not_kept}`)),
    ...summary.rejected.slice(0, 10).map((r) => el("li", {}, `${r.item ?? `Row ${r.row}`}: ${r.reason}`)),
  ];
  const skipped = summary.skipped.map((x) => el("li", {}, `${count(x.count)} ${x.reason}`));
  document.querySelector("[data-upload-devices]").replaceChildren(...devices);
  document.querySelector("[data-upload-completeness]").replaceChildren(...completeness);
  document.querySelector("[data-upload-rejected]").replaceChildren(...problems);
  document.querySelector("[data-upload-skipped]").replaceChildren(...skipped);
  document.querySelector("[data-upload-notes]").replaceChildren(...summary.notes.map((n) => el("li", {}, n)));
  for (const list of document.querySelectorAll("[data-upload-result] ul")) {
    list.closest("div[data-upload-part]").hidden = list.children.length === 0;
  }
}

function wireUpload(refresh) {
  const form = document.querySelector("[data-upload]");
  if (!form) return;

  const progress = document.querySelector("[data-upload-progress]");
  const result = document.querySelector("[data-upload-result]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.hidden = true;
    const file = form.elements.namedItem("file").files[0];
    if (!file) {
      showError(form, { field: "file", message: "Choose a file to upload." });
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      const summary = await uploadFile("/api/personal/uploads", file, (p) => {
        progress.value = p;
      });
      showUploadSummary(summary);
      result.hidden = false;
      form.reset();
      await refresh();
    } catch (error) {
      showError(form, error);
    } finally {
      button.disabled = false;
      progress.hidden = true;
    }
  });
}

async function wireTokens() {
  const list = document.querySelector("[data-tokens]");
  async function refresh() {
    const { tokens } = await api("GET", "/api/personal/upload-tokens");
    list.replaceChildren(
      ...tokens.map((t) =>
        el("li", {},
          el("span", {}, `${t.name} — created ${when(t.created_at)}`),
          el("button", { type: "button", className: "secondary", "aria-label": `Revoke ${t.name}`, onclick: async () => {
            await api("DELETE", `/api/personal/upload-tokens/${encodeURIComponent(t.token_id)}`);
            document.querySelector("[data-new-token-shown]").hidden = true;
            await refresh();
          } }, "Revoke"),
        ),
      ),
    );
  }
  apiForm(document.querySelector("[data-new-token]"), "/api/personal/upload-tokens", async (created) => {
    fill({ new_token: created.token });
    document.querySelector("[data-new-token-shown]").hidden = false;
    document.querySelector("[data-new-token]").reset();
    await refresh();
  });
  await refresh();
}

async function personalHome() {
  const me = await whoAmI("person", "/personal/signin");
  if (!me) return;
  fill(me);
  wireSignOut("/personal/signin");
  const showTimes = async () => {
    const fresh = await api("GET", "/api/me");
    fill({ last_upload_text: when(fresh.last_upload_at), last_reading_text: when(fresh.last_reading_at) });
  };
  fill({
    last_upload_text: when(me.last_upload_at),
    last_reading_text: when(me.last_reading_at),
    site_origin: location.origin,
    time_zone: me.time_zone || "UTC",
  });
  const zoneForm = document.querySelector("[data-time-zone]");
  zoneForm.elements.namedItem("time_zone").value = me.time_zone || browserZone();
  zoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(zoneForm);
    try {
      const updated = await api("PUT", "/api/personal/profile", { time_zone: zoneForm.elements.namedItem("time_zone").value.trim() });
      fill({ time_zone: updated.time_zone });
      document.querySelector("[data-time-zone-saved]").textContent = `Saved: ${updated.time_zone}.`;
    } catch (error) {
      showError(zoneForm, error);
    }
  });
  const unitsForm = document.querySelector("[data-units]");
  unitsForm.elements.namedItem("glucose_units").value = me.glucose_units || "mg/dL";
  unitsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(unitsForm);
    try {
      const updated = await api("PUT", "/api/personal/profile", { glucose_units: unitsForm.elements.namedItem("glucose_units").value });
      document.querySelector("[data-units-saved]").textContent = `Saved: your reports show ${updated.glucose_units}.`;
    } catch (error) {
      showError(unitsForm, error);
    }
  });
  wireReportForm(document.querySelector("[data-report-form]"), "/api/personal/report");
  wireUpload(showTimes);
  await wireTokens();
  const log = await api("GET", "/api/personal/audit");
  document.querySelector("[data-activity]").replaceChildren(
    ...log.events.slice(0, 20).map((e) => el("li", {}, el("span", {}, e.detail), el("time", { datetime: e.at }, when(e.at)))),
  );
  document.querySelector("[data-no-activity]").hidden = log.events.length > 0;
}

const pages = {
  "clinic-signup": () => apiForm(document.querySelector("form"), "/api/clinic/signup", () => location.assign("/clinic/")),
  "clinic-signin": () => apiForm(document.querySelector("form"), "/api/clinic/signin", () => location.assign(nextPath("/clinic/"))),
  "personal-signup": () => apiForm(document.querySelector("form"), "/api/personal/signup", () => location.assign(nextPath("/personal/"))),
  "personal-signin": () => apiForm(document.querySelector("form"), "/api/personal/signin", () => location.assign(nextPath("/personal/"))),
  "clinic-home": clinicHome,
  "clinic-patient": clinicPatient,
  "personal-sharing": personalSharing,
  "personal-home": personalHome,
  "dev-outbox": devOutbox,
  "clinic-staff": clinicStaff,
  "clinic-join": clinicJoin,
};

// A sign-in page passes ?next on to its sign-up link, so a patient who follows a code link and has
// no account yet comes back to the request after signing up.
const next = safeNext();
if (next) {
  for (const link of document.querySelectorAll('a[href="/personal/signup"], a[href="/personal/signin"]')) {
    link.href = `${link.getAttribute("href")}?next=${encodeURIComponent(next)}`;
  }
}

// Once a page has loaded its data and wired its forms it says so (`data-ready`), so nothing typed
// before then is overwritten unseen (the browser tests wait for it too).
const page = pages[document.body.dataset.page];
Promise.resolve(page ? page() : null).finally(() => {
  document.body.dataset.ready = "true";
});
