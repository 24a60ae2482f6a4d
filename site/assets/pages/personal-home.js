// The patient's home: Upload now first (drop a file, steps to get it from each vendor, what was read and
// who sees it), reports, how fresh the data is and who sees it, account settings, upload tokens under
// Advanced, and recent activity.

import { start } from "/assets/lib/shell.js";
import { api, uploadFile } from "/assets/lib/api.js";
import { el, fill } from "/assets/lib/dom.js";
import { browserZone, calendarDay, count, day, relative, when } from "/assets/lib/format.js";
import { apiForm, checkForm, showError, wireReportForm } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";
import { showGlance } from "/assets/lib/glance.js";

/** "A", "A and B", "A, B and C" in the reader's language. */
const listInWords = (items) => new Intl.ListFormat(undefined, { style: "long", type: "conjunction" }).format(items);

/** The names of the clinics that see this person's data. */
async function clinicsThatSee() {
  const sharing = await api("GET", "/api/personal/sharing");
  return sharing.clinics.map((c) => c.clinic_name);
}

/** A drop zone around the file input: a file dropped on it is chosen as if picked. */
function wireDropZone(zone, input) {
  const over = (on) => (event) => {
    event.preventDefault();
    zone.toggleAttribute("data-over", on);
  };
  zone.addEventListener("dragenter", over(true));
  zone.addEventListener("dragover", over(true));
  zone.addEventListener("dragleave", over(false));
  zone.addEventListener("drop", (event) => {
    over(false)(event);
    if (event.dataTransfer && event.dataTransfer.files.length > 0) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
}

/** Every IANA time zone the browser knows, as choices for the time zone field. */
function offerTimeZones(list) {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  list.replaceChildren(...zones.map((zone) => el("option", { value: zone })));
}

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
function showUploadSummary(summary, seenBy) {
  const c = summary.completeness;
  const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;
  const parts = [
    `${count(summary.accepted)} new readings and events`,
    `${count(summary.duplicates)} already stored`,
  ];
  if (summary.conflict_count > 0) parts.push(plural(summary.conflict_count, "conflicting value not stored", "conflicting values not stored"));
  parts.push(plural(summary.rejected_count, "row not used", "rows not used"));
  const devicesRead = summary.devices.map((d) => d.device);
  fill({
    upload_result_text: `Uploaded: ${parts.join(", ")}.`,
    upload_read_text: summary.first_event_at
      ? `Read from ${devicesRead.length ? devicesRead.join(", ") : "the file"}, ${day(summary.first_event_at)} to ${day(summary.last_event_at)}.`
      : "The file held no readings, insulin or carbs.",
    upload_seen_by_text: seenBy.length
      ? `${listInWords(seenBy)} ${seenBy.length === 1 ? "sees" : "see"} it now.`
      : "No clinic sees your data yet: a clinic sends you a code, which you enter on the Data Sharing page.",
  }, document.querySelector("[data-upload-result]"));
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

  wireDropZone(form.querySelector("[data-dropzone]"), form.elements.namedItem("file"));
  const progress = document.querySelector("[data-upload-progress]");
  const result = document.querySelector("[data-upload-result]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
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
      showUploadSummary(summary, await clinicsThatSee());
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
  fill({ ...me, date_of_birth: me.date_of_birth ? calendarDay(me.date_of_birth) : "Not given" });
  wireSignOut("/personal/signin");
  // No confirmed recovery contact: "Forgot password?" could not help; say so first.
  document.querySelector("[data-confirm-contact]").hidden = Boolean(me.email_verified || me.phone_verified);
  const noContact = !me.email && !me.phone;
  document.querySelector("[data-confirm-waiting]").hidden = noContact;
  document.querySelector("[data-confirm-none]").hidden = !noContact;
  const times = (at) => ({
    ago: at.last_upload_at ? relative(at.last_upload_at) : "Never",
    text: at.last_upload_at ? when(at.last_upload_at) : "Nothing uploaded yet",
    readingAgo: at.last_reading_at ? relative(at.last_reading_at) : "None yet",
    readingText: at.last_reading_at ? when(at.last_reading_at) : "No readings stored",
  });
  const fillTimes = (at) => {
    const t = times(at);
    fill({ last_upload_ago: t.ago, last_upload_text: t.text, last_reading_ago: t.readingAgo, last_reading_text: t.readingText });
  };
  const showTimes = async () => fillTimes(await api("GET", "/api/me"));
  const clinics = await clinicsThatSee();
  fillTimes(me);
  fill({
    clinics_count: clinics.length === 1 ? "1 clinic" : `${count(clinics.length)} clinics`,
    clinics_text: clinics.length ? listInWords(clinics) : "No clinic yet",
    site_origin: location.origin,
    time_zone: me.time_zone || "UTC",
  });
  offerTimeZones(document.getElementById("time-zones"));
  const zoneForm = document.querySelector("[data-time-zone]");
  zoneForm.elements.namedItem("time_zone").value = me.time_zone || browserZone();
  zoneForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(zoneForm)) return;
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
    if (!checkForm(unitsForm)) return;
    try {
      const updated = await api("PUT", "/api/personal/profile", { glucose_units: unitsForm.elements.namedItem("glucose_units").value });
      document.querySelector("[data-units-saved]").textContent = `Saved: your reports show ${updated.glucose_units}.`;
    } catch (error) {
      showError(unitsForm, error);
    }
  });
  wireReportForm(document.querySelector("[data-report-form]"), "/api/personal/report");
  const reloadGlance = await showGlance(document, "/api/personal/overview");
  wireUpload(async () => {
    await showTimes();
    await reloadGlance();
  });
  await wireTokens();
  const log = await api("GET", "/api/personal/audit");
  document.querySelector("[data-activity]").replaceChildren(
    ...log.events.slice(0, 20).map((e) => el("li", {}, el("span", {}, e.detail), el("time", { datetime: e.at }, when(e.at)))),
  );
  document.querySelector("[data-no-activity]").hidden = log.events.length > 0;
}

start(personalHome);
