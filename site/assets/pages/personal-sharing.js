// Data Sharing: requests from clinics (enter a code or follow a link, check, accept or decline) and
// the clinics that see this person's data (stop sharing).

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { differsText, el, fill } from "/assets/lib/dom.js";
import { calendarDay, day, relative, when } from "/assets/lib/format.js";
import { apiForm } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

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
              ? el("span", { className: "link-note" }, `Their record: ${c.record.patient_name}, born ${calendarDay(c.record.patient_date_of_birth)}`)
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
        expires_text: `${when(listed.expires_at)} (${relative(listed.expires_at)})`,
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
    fill({ ...request, expires_text: `${when(request.expires_at)} (${relative(request.expires_at)})` }, requestCard);
    requestError.textContent = "";
    requestCard.querySelector("[data-request-mismatch]").hidden = true;
    acceptButton.textContent = "Accept";
    if (request.differs && request.differs.includes("date_of_birth")) {
      showMismatch(`The clinic’s record is for ${request.patient_name}, born ${calendarDay(request.patient_date_of_birth)}, but your account says you were born on another day.`);
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

start(personalSharing);
