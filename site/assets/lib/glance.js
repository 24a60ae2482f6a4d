// The patient at a glance (the Patient Profile's overview and the patient's home page): the period's
// numbers against their goals, the report's own charts (SVG drawn by the server's report code), the
// comparison with the period before, and a warning at the top when the data is old. One component,
// so the clinic and the patient see the same thing.

import { api } from "/assets/lib/api.js";
import { el } from "/assets/lib/dom.js";
import { calendarDay, relative, when } from "/assets/lib/format.js";

/** An SVG document from the server as a node of this page (parsed as XML: no markup runs). */
function svgNode(text) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (root.nodeName !== "svg" || parsed.querySelector("parsererror")) return null;
  return document.importNode(root, true);
}

function stat(label, value, detail) {
  return el("div", {}, el("p", { className: "stat-label" }, label), el("p", { className: "stat" }, value), detail ? el("p", { className: "hint" }, detail) : "");
}

const orNone = (value, suffix) => (value === null || value === undefined ? "—" : `${value}${suffix}`);

/**
 * Shows the overview from `url` (an overview route) in the `[data-glance]` section under `root`, and
 * again whenever its period changes; answers the function that loads it again (after an upload).
 * `uploadNowTarget` (the Patient Profile's "Ask the patient to Upload now") is linked from the
 * old-data warning.
 */
export async function showGlance(root, url, { uploadNowTarget = null } = {}) {
  const section = root.querySelector("[data-glance]");
  const days = section.querySelector("[data-glance-days]");
  const body = section.querySelector("[data-glance-body]");
  const empty = section.querySelector("[data-glance-empty]");
  const stale = section.querySelector("[data-glance-stale]");
  const error = section.querySelector("[data-glance-error]");
  section.hidden = false;

  async function load() {
    error.textContent = "";
    let g;
    try {
      g = await api("GET", `${url}?days=${encodeURIComponent(days.value)}`);
    } catch (problem) {
      error.textContent = problem.message;
      body.hidden = true;
      return;
    }
    const units = g.units;
    const m = g.metrics;
    const p = g.period;
    section.querySelector("[data-glance-period]").textContent =
      `${calendarDay(p.from)} to ${calendarDay(p.to)} (${p.days} ${p.days === 1 ? "day" : "days"}${p.ends_at_newest_data ? ", ending at the newest data" : ""}), ${g.time_zone} time, ${units}.`;
    if (g.freshness === "old" || g.freshness === "none") {
      stale.hidden = false;
      stale.replaceChildren(
        g.last_reading_at
          ? `The newest reading is from ${relative(g.last_reading_at)} (${when(g.last_reading_at)}), older than ${g.freshness_days} days: these numbers are of the days up to it. `
          : "There is no reading yet. ",
        ...(uploadNowTarget
          ? ["Check that the right personal account is linked, then ", el("a", { href: uploadNowTarget }, "ask the patient to Upload now"), "."]
          : ["Upload now to bring them up to date."]),
      );
    } else {
      stale.hidden = true;
    }
    const hasReadings = m.readings > 0;
    empty.hidden = hasReadings;
    body.hidden = !hasReadings;
    if (!hasReadings) return;
    for (const slot of section.querySelectorAll("[data-chart]")) {
      const svg = g.charts[slot.dataset.chart];
      const node = svg ? svgNode(svg) : null;
      slot.replaceChildren(node || "");
      const figure = slot.closest("figure");
      if (figure) figure.hidden = !node;
    }
    const tir = m.time_in_ranges;
    section.querySelector("[data-glance-stats]").replaceChildren(
      stat("Time in range", `${tir.in_range.toFixed(1)} %`, `Below: ${(tir.very_low + tir.low).toFixed(1)} % · Above: ${(tir.high + tir.very_high).toFixed(1)} %`),
      stat("GMI", orNone(m.gmi_percent, " %"), `Mean ${orNone(m.mean, ` ${units}`)}`),
      stat("Variability (CV)", orNone(m.cv_percent, " %"), "Goal: 36 % or less"),
      stat("CGM active", `${m.cgm_active_percent} %`, `${m.days_with_data} of ${p.days} days with data`),
    );
    const t = g.targets;
    section.querySelector("[data-glance-goals-caption]").textContent = `Goals: ${t.label} (target ${t.target_low}–${t.target_high} ${units})`;
    section.querySelector("[data-glance-goals]").replaceChildren(
      ...t.goals.map((goal) =>
        el("tr", { className: goal.met ? "met" : "missed" },
          el("th", { scope: "row" }, goal.label),
          el("td", {}, goal.goal),
          el("td", { className: "num" }, `${goal.value_percent.toFixed(1)} %`),
          el("td", {}, goal.met ? "Yes" : "No")),
      ),
    );
    section.querySelector("[data-glance-agp-caption]").textContent = `Ambulatory glucose profile (AGP): median, 25–75 % and 5–95 % by time of day, ${units}`;
    const compare = section.querySelector("[data-glance-compare]");
    compare.hidden = g.comparison.length === 0;
    section.querySelector("[data-glance-comparison]").replaceChildren(
      ...g.comparison.map((row) =>
        el("tr", {}, el("th", { scope: "row" }, row.measure), el("td", {}, row.this_period), el("td", {}, row.previous_period), el("td", {}, row.change)),
      ),
    );
    section.querySelector("[data-glance-report]").setAttribute("href", g.report_url);
    section.querySelector("[data-glance-notice]").textContent = g.notice;
  }

  days.addEventListener("change", load);
  await load();
  return load;
}
