// Audit log: the clinic's events, newest first, narrowed by who, what, dates and (from a Patient
// Profile) one patient record; page by page. The filters live in the address, so a filtered view can
// be bookmarked or sent to a colleague.

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { el, fill } from "/assets/lib/dom.js";
import { browserZone, count, when } from "/assets/lib/format.js";
import { checkForm, showError } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

const FILTERS = ["patient", "actor", "action", "from", "to"];

/** Who acted, without the clinic's name in brackets (this is the clinic's own log). */
const whoActed = (event) => event.actor.name.replace(/ \([^)]*\)$/, "");

/** The sentence of an event without the actor's name it starts with (the Who column has it). */
function whatWasDone(event) {
  const name = whoActed(event);
  if (name && event.detail.startsWith(`${name} `)) {
    const rest = event.detail.slice(name.length + 1);
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }
  return event.detail;
}

async function clinicAudit() {
  const me = await whoAmI("clinic_user", "/clinic/signin");
  if (!me) return;
  fill(me);
  wireSignOut("/clinic/signin");
  const pageError = document.querySelector("[data-page-error]");
  if (me.role !== "admin") {
    pageError.textContent = "Only your clinic’s administrators see the audit log.";
    return;
  }
  for (const part of document.querySelectorAll("[data-admin-view]")) part.hidden = false;
  const form = document.querySelector("[data-audit-filter]");
  const rows = document.querySelector("[data-events]");
  const older = document.querySelector("[data-older]");
  const none = document.querySelector("[data-no-events]");
  const shown = document.querySelector("[data-shown]");
  const patientFilter = document.querySelector("[data-patient-filter]");

  const staff = await api("GET", "/api/clinic/staff");
  const who = form.elements.namedItem("actor");
  who.append(...staff.staff.map((m) => el("option", { value: m.user_id }, m.name)));

  let filters = new URLSearchParams(location.search);
  let cursor = null;
  for (const name of FILTERS) {
    const input = form.elements.namedItem(name);
    if (input && filters.get(name)) input.value = filters.get(name);
  }

  function showPatientFilter() {
    const patient = filters.get("patient");
    patientFilter.hidden = !patient;
    if (patient) {
      document.querySelector("[data-patient-link]").href = `/clinic/patient?id=${encodeURIComponent(patient)}`;
    }
  }

  async function load(append) {
    const query = new URLSearchParams();
    for (const name of FILTERS) if (filters.get(name)) query.set(name, filters.get(name));
    if (filters.get("from") || filters.get("to")) query.set("tz", browserZone());
    if (append && cursor) query.set("cursor", cursor);
    try {
      const page = await api("GET", `/api/clinic/audit?${query}`);
      if (!append) rows.replaceChildren();
      rows.append(
        ...page.events.map((e) =>
          el("tr", {},
            el("td", { "data-label": "When" }, el("time", { datetime: e.at }, when(e.at))),
            el("td", { "data-label": "Who" }, whoActed(e)),
            el("td", { "data-label": "What" }, whatWasDone(e)),
          ),
        ),
      );
      cursor = page.next_cursor;
      older.hidden = !cursor;
      none.hidden = rows.children.length > 0 || Boolean(cursor);
      shown.textContent = rows.children.length
        ? `Showing ${count(rows.children.length)} ${rows.children.length === 1 ? "event" : "events"}${cursor ? "; older ones follow" : ""}.`
        : cursor ? "None of the most recent events match; older ones follow." : "";
    } catch (error) {
      showError(form, error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    const from = form.elements.namedItem("from").value;
    const to = form.elements.namedItem("to").value;
    if (from && to && from > to) {
      showError(form, { field: "to", message: "The end date is before the start date." });
      return;
    }
    const next = new URLSearchParams();
    if (filters.get("patient")) next.set("patient", filters.get("patient"));
    for (const name of ["actor", "action", "from", "to"]) {
      const value = form.elements.namedItem(name).value;
      if (value) next.set(name, value);
    }
    filters = next;
    history.replaceState(null, "", `${location.pathname}${next.size ? `?${next}` : ""}`);
    await load(false);
    document.getElementById("events-heading").focus();
  });
  form.addEventListener("reset", () => {
    const patient = filters.get("patient");
    filters = new URLSearchParams(patient ? { patient } : {});
    history.replaceState(null, "", `${location.pathname}${patient ? `?patient=${encodeURIComponent(patient)}` : ""}`);
    setTimeout(() => load(false));
  });
  document.querySelector("[data-clear-patient]").addEventListener("click", () => {
    filters.delete("patient");
    history.replaceState(null, "", `${location.pathname}${filters.size ? `?${filters}` : ""}`);
    showPatientFilter();
    load(false);
  });
  older.addEventListener("click", () => load(true));
  showPatientFilter();
  await load(false);
}

start(clinicAudit);
