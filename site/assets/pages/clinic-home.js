// Patients: find a record, see its link state and data freshness at a glance, add a record.

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { FRESHNESS_TEXT, LINK_TEXT, badge, el, fill } from "/assets/lib/dom.js";
import { calendarDay, day, when } from "/assets/lib/format.js";
import { apiForm } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

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
            el("td", { "data-label": "Date of birth" }, calendarDay(p.date_of_birth)),
            el("td", { "data-label": "MRN" }, p.mrn || "—"),
            el("td", { "data-label": "Linked to Personal" },
              badge("link", p.link.status, LINK_TEXT[p.link.status]),
              p.link.identity === "mismatch" ? [" ", badge("identity", "mismatch", "Check identity")] : "",
              p.link.since && p.link.status !== "linked"
                ? el("span", { className: "link-note" }, p.link.status === "pending" ? `until ${day(p.link.code_expires_at)}` : `since ${day(p.link.since)}`)
                : ""),
            el("td", { "data-label": "Data" }, p.link.status === "linked" ? badge("data", p.freshness, FRESHNESS_TEXT[p.freshness]) : "—",
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

start(clinicHome);
