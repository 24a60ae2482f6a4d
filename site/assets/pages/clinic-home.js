// Patients: the clinic's triage list. Each record with its link state, data freshness and, for linked
// records with data, its numbers over the chosen period (time in ranges, lows, GMI, CV, CGM active,
// newest reading, change in time in range) and what needs attention; sort by any number, filter by a
// flag or a link state, search by name. The choices stay in the address. Add a record below.

import { start } from "/assets/lib/shell.js";
import { api, apiFile } from "/assets/lib/api.js";
import { FRESHNESS_TEXT, LINK_TEXT, badge, el, fill } from "/assets/lib/dom.js";
import { calendarDay, day, relative, when } from "/assets/lib/format.js";
import { apiForm } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

/** What each flag says, and its rule (docs/METRICS.md, "Triage flags"). */
const FLAG_TEXT = {
  time_below_54: ["Very lows", "Time very low (below 54 mg/dL) is 1 % or more."],
  time_below_70: ["Lows", "Time below the target range is at or above its goal (4 %; 1 % for older or high-risk adults)."],
  time_in_range: ["Low time in range", "Time in the target range is at or below its goal (70 %; 50 % for older or high-risk adults)."],
  cv: ["High variability", "Glucose variability (CV) is over 36 %."],
  cgm_active: ["Little CGM data", "The CGM was active less than 70 % of the period."],
  no_recent_data: ["No recent data", "The newest reading is older than the clinic's limit for recent data."],
  in_range_drop: ["Time in range dropped", "Time in range fell by 15 points or more from the period before."],
};

/** Sorting a column by a number puts who needs attention first: most time low, highest GMI and CV. */
const ATTENTION_DESC = new Set(["very_low", "low", "gmi", "cv"]);

const RANGES = [
  ["very_low", "Very low"],
  ["low", "Low"],
  ["in_range", "In range"],
  ["high", "High"],
  ["very_high", "Very high"],
];

const SVG = "http://www.w3.org/2000/svg";

/** The five ranges as one bar (SVG, so no inline style is needed), with the shares in its label. */
function rangeBar(tir) {
  const label = RANGES.map(([key, name]) => `${name} ${percent(tir[key])}`).join(", ");
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 10");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "tir-bar");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  let x = 0;
  for (const [key] of RANGES) {
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", String(x));
    rect.setAttribute("y", "0");
    rect.setAttribute("width", String(tir[key]));
    rect.setAttribute("height", "10");
    rect.setAttribute("class", `tir-${key.replace("_", "-")}`);
    svg.append(rect);
    x += tir[key];
  }
  const title = document.createElementNS(SVG, "title");
  title.textContent = label;
  svg.prepend(title);
  return svg;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${value.toFixed(1)} %`;
}

function change(summary) {
  const now = summary.time_in_ranges?.in_range;
  if (now === undefined || summary.previous_in_range === null || summary.previous_in_range === undefined) return "—";
  const points = Math.round((now - summary.previous_in_range) * 10) / 10;
  const text = `${points > 0 ? "+" : points < 0 ? "−" : "±"}${Math.abs(points).toFixed(1)} pts`;
  return el("span", { className: points <= -15 ? "change worse" : points >= 15 ? "change better" : "change", title: `Time in range: ${percent(now)} now, ${percent(summary.previous_in_range)} the period before` }, text);
}

function flagChips(summary) {
  if (!summary || summary.flags.length === 0) return summary ? el("span", { className: "hint" }, "Nothing flagged") : "—";
  return el("ul", { className: "flags" }, summary.flags.map((flag) => {
    const [text, rule] = FLAG_TEXT[flag] || [flag, ""];
    return el("li", { className: `flag ${flag}`, title: rule }, text);
  }));
}

function numbers(p) {
  const s = p.summary;
  // Without numbers these cells say nothing: on a phone's card they are left out.
  const none = (label) => el("td", { "data-label": label, className: "num nodata" }, "—");
  if (!s) {
    const why = p.link.status === "linked" ? el("span", { className: "hint" }, "No data yet") : "—";
    return [
      el("td", { "data-label": "Time in ranges", className: p.link.status === "linked" ? "" : "nodata" }, why),
      none("Very low"), none("Low"), none("GMI"), none("CV"), none("CGM active"),
    ];
  }
  const tir = s.time_in_ranges;
  return [
    el("td", { "data-label": "Time in ranges" }, tir
      ? [rangeBar(tir), el("div", { className: "tir-text" }, `${percent(tir.in_range)} in range`)]
      : el("span", { className: "hint" }, "No readings in the period")),
    el("td", { "data-label": "Very low", className: "num" }, tir ? percent(tir.very_low) : "—"),
    el("td", { "data-label": "Low", className: "num" }, tir ? percent(tir.low) : "—"),
    el("td", { "data-label": "GMI", className: "num" }, s.gmi_percent === null ? "—" : `${s.gmi_percent.toFixed(1)} %`),
    el("td", { "data-label": "CV", className: "num" }, percent(s.cv_percent)),
    el("td", { "data-label": "CGM active", className: "num" }, percent(s.cgm_active_percent)),
  ];
}

function row(p, chosen) {
  const box = p.link.status === "linked"
    ? el("input", { type: "checkbox", className: "choose", "data-choose": p.patient_id, "aria-label": `Choose ${p.name} for printing` })
    : "";
  if (box && chosen.has(p.patient_id)) box.checked = true;
  return el("tr", { "data-patient": p.patient_id },
    el("td", {},
      box,
      el("a", { href: `/clinic/patient?id=${encodeURIComponent(p.patient_id)}` }, p.name),
      p.archived_at ? [" ", el("span", { className: "badge archived" }, "Archived")] : "",
      el("div", { className: "hint" }, `Born ${calendarDay(p.date_of_birth)}${p.mrn ? ` · MRN ${p.mrn}` : ""}`)),
    el("td", { "data-label": "Linked to Personal" },
      badge("link", p.link.status, LINK_TEXT[p.link.status]),
      p.link.identity === "mismatch" ? [" ", badge("identity", "mismatch", "Check identity")] : "",
      p.link.since && p.link.status !== "linked"
        ? el("span", { className: "link-note" }, p.link.status === "pending" ? `until ${day(p.link.code_expires_at)}` : `since ${day(p.link.since)}`)
        : ""),
    ...numbers(p),
    el("td", { "data-label": "Newest reading", className: p.link.status === "linked" ? "" : "nodata" },
      p.link.status === "linked" ? badge("data", p.freshness, FRESHNESS_TEXT[p.freshness]) : "—",
      p.last_reading_at ? el("div", { className: "hint", title: when(p.last_reading_at) }, relative(p.last_reading_at)) : ""),
    el("td", { "data-label": "Change", className: p.summary ? "num" : "num nodata" }, p.summary ? change(p.summary) : "—"),
    el("td", { "data-label": "Needs attention", className: p.summary ? "" : "nodata" }, flagChips(p.summary)),
  );
}

async function clinicHome() {
  const me = await whoAmI("clinic_user", "/clinic/signin");
  if (!me) return;
  fill(me);
  wireSignOut("/clinic/signin");
  // An unverified clinic has no patients yet: the page shows only how to verify (whoAmI's banner).
  if (me.clinic_verification === "pending") {
    for (const section of document.querySelectorAll("main > section:not([data-verify-banner])")) section.hidden = true;
    return;
  }
  const rows = document.querySelector("[data-patient-rows]");
  const more = document.querySelector("[data-more]");
  const empty = document.querySelector("[data-list-empty]");
  const listError = document.querySelector("[data-list-error]");
  const periodNote = document.querySelector("[data-period-note]");
  const controls = document.querySelector("[data-triage]").elements;
  const search = document.querySelector("[data-search]");
  let cursor = null;

  // The address keeps the choices: a reload or a shared link shows the same list.
  const address = new URLSearchParams(location.search);
  for (const name of ["period_days", "sort", "order", "flag", "link_status"]) {
    const value = address.get(name);
    const control = controls.namedItem(name);
    if (value && control && [...control.options].some((o) => o.value === value)) control.value = value;
  }
  if (address.get("archived") === "true") controls.namedItem("link_status").value = "archived";
  search.elements.namedItem("q").value = address.get("q") || "";

  function query(append) {
    const params = new URLSearchParams();
    const q = search.elements.namedItem("q").value.trim();
    if (q) params.set("q", q);
    const sort = controls.namedItem("sort").value;
    params.set("period_days", controls.namedItem("period_days").value);
    if (sort !== "name") params.set("sort", sort);
    if (controls.namedItem("order").value === "reverse") {
      params.set("order", ATTENTION_DESC.has(sort) ? "asc" : "desc");
    }
    for (const name of ["flag", "link_status"]) {
      const value = controls.namedItem(name).value;
      // "Archived records" is not a link state: the archived records, by name.
      if (value === "archived") params.set("archived", "true");
      else if (value) params.set(name, value);
    }
    // The address names only what differs from the defaults (the last 14 days, by name).
    const shown = new URLSearchParams(params);
    if (shown.get("period_days") === "14") shown.delete("period_days");
    if (controls.namedItem("order").value === "reverse") shown.set("order", "reverse");
    const address = shown.toString();
    history.replaceState(null, "", address ? `${location.pathname}?${address}` : location.pathname);
    const exported = new URLSearchParams(params);
    exported.delete("cursor");
    // The download is of the active records (archived ones have no numbers).
    exported.delete("archived");
    document.querySelector("[data-export-list]").setAttribute("href", `/api/clinic/patients/export.csv?${exported}`);
    if (append && cursor) params.set("cursor", cursor);
    return params;
  }

  function markSorted() {
    const sort = controls.namedItem("sort").value;
    const reversed = controls.namedItem("order").value === "reverse";
    for (const th of document.querySelectorAll("th[data-sort-key]")) {
      if (th.dataset.sortKey !== sort) {
        th.removeAttribute("aria-sort");
        continue;
      }
      const descending = ATTENTION_DESC.has(sort) !== reversed;
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    }
  }

  // Only the newest request's answer is shown: a filter changed while the first page still loads must
  // not be overwritten by that page's late answer.
  let latest = 0;
  async function load(append) {
    listError.textContent = "";
    const mine = ++latest;
    try {
      const page = await api("GET", `/api/clinic/patients?${query(append)}`);
      if (mine !== latest) return;
      if (!append) rows.replaceChildren();
      rows.append(...page.patients.map((p) => row(p, chosen)));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = rows.children.length > 0;
      const mmol = page.glucose_units === "mmol/L";
      periodNote.textContent = `Numbers over the last ${page.period_days} days, in each patient's time zone, up to today. Time in range is ${mmol ? "3.9–10.0 mmol/L" : "70–180 mg/dL"}; flags follow each record's targets.`;
      if (mmol) {
        const sort = controls.namedItem("sort");
        sort.querySelector("option[value='very_low']").textContent = "Time very low (below 3.0 mmol/L)";
        sort.querySelector("option[value='low']").textContent = "Time low (3.0–3.8 mmol/L)";
      }
      markSorted();
    } catch (error) {
      if (mine === latest) listError.textContent = error.message;
    }
  }

  for (const name of ["period_days", "sort", "order", "flag", "link_status"]) {
    controls.namedItem(name).addEventListener("change", () => load(false));
  }
  // A column heading sorts by its number; again, the other way round.
  for (const th of document.querySelectorAll("th[data-sort-key]")) {
    const key = th.dataset.sortKey;
    const button = el("button", { type: "button", className: "sort-button" }, th.textContent);
    th.replaceChildren(button);
    button.addEventListener("click", () => {
      const sort = controls.namedItem("sort");
      const order = controls.namedItem("order");
      order.value = sort.value === key && order.value === "" ? "reverse" : "";
      sort.value = key;
      load(false);
    });
  }
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  document.querySelector("[data-triage]").addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", () => load(true));
  // Batch print: the overview page of each chosen linked patient, in one PDF opened in a new tab.
  const chosen = new Set();
  const printButton = document.querySelector("[data-batch-print]");
  const batchStatus = document.querySelector("[data-batch-status]");
  const showChosen = () => {
    printButton.disabled = chosen.size === 0;
    batchStatus.textContent = chosen.size === 0
      ? "Choose linked patients with the boxes in the list."
      : `${chosen.size} ${chosen.size === 1 ? "patient" : "patients"} chosen (at most 50).`;
  };
  rows.addEventListener("change", (event) => {
    const id = event.target.dataset.choose;
    if (!id) return;
    if (event.target.checked) chosen.add(id);
    else chosen.delete(id);
    showChosen();
  });
  printButton.addEventListener("click", async () => {
    listError.textContent = "";
    const tab = window.open("", "_blank");
    try {
      batchStatus.textContent = "Preparing the PDF…";
      const pdf = await apiFile("POST", "/api/clinic/reports/batch", {
        patient_ids: [...chosen],
        period_days: Number(controls.namedItem("period_days").value),
      });
      const url = URL.createObjectURL(pdf);
      if (tab) tab.location.href = url;
      else location.assign(url);
      showChosen();
    } catch (error) {
      if (tab) tab.close();
      listError.textContent = error.message;
      showChosen();
    }
  });
  // A record with the same name and date of birth as another asks first: it may be the same person.
  apiForm(document.querySelector("[data-add-patient]"), "/api/clinic/patients", (created) =>
    location.assign(`/clinic/patient?id=${encodeURIComponent(created.patient_id)}`),
  { onError: (error) => {
    if (error.code === "possible_duplicate") document.querySelector("[data-duplicate]").hidden = false;
  } });
  await load(false);
}

start(clinicHome);
