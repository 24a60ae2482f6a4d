// Patient Profile: the record, its link to a personal account (Link to Personal, codes, hand-off),
// data freshness, Upload now requests and reports.

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { LINK_TEXT, badge, differsText, fill, showWhen } from "/assets/lib/dom.js";
import { calendarDay, day, relative, when } from "/assets/lib/format.js";
import { checkForm, clearErrors, showError, wireReportForm } from "/assets/lib/forms.js";
import { showGlance } from "/assets/lib/glance.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

/** Where a record stands, in words, with the next step: [heading, text]. */
function linkStory(link) {
  switch (link.status) {
    case "pending":
      return ["Waiting for the patient", `A unique code is waiting for the patient until ${when(link.code_expires_at)} (${relative(link.code_expires_at).replace(/^in /, "it expires in ")}).`];
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
  const auditLink = document.querySelector("[data-patient-audit]");
  auditLink.hidden = me.role !== "admin";
  auditLink.querySelector("a").href = `/clinic/audit?patient=${encodeURIComponent(id)}`;
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
      code_expires_text: `${when(pending.expires_at)} (${relative(pending.expires_at)})`,
      code_sent_text: pending.sent_to && pending.sent_to.length ? `Sent to ${pending.sent_to.join(", ")}.` : "Not sent by email or SMS yet.",
    });
    document.querySelector("[data-print]").href = `${base}/link/code/print?code=${encodeURIComponent(pending.code)}`;
    codePanel.hidden = false;
    noCode.hidden = true;
  }
  let glanceShown = false;
  async function render() {
    const p = await api("GET", base);
    current = p;
    const account = p.linked_account || {};
    const [stateHeading, stateText] = linkStory(p.link);
    fill({
      name: p.name,
      date_of_birth: calendarDay(p.date_of_birth),
      mrn: p.mrn,
      link_text: LINK_TEXT[p.link.status],
      last_upload_text: when(p.last_upload_at),
      last_reading_text: when(p.last_reading_at),
      state_heading: stateHeading,
      state_text: stateText,
      account_name: account.name,
      account_username: account.username,
      account_date_of_birth: calendarDay(account.date_of_birth),
      identity_text: p.link.identity === "mismatch"
        ? `The ${differsText(p.link.differs)} of the linked personal account (${account.name || "—"}, born ${account.date_of_birth ? calendarDay(account.date_of_birth) : "not given"}) ${p.link.differs.length > 1 ? "differ" : "differs"} from this record (${p.name}, born ${p.date_of_birth}).`
        : "",
      stale_heading: p.freshness === "none" ? "No data yet." : `Data is old (newest reading ${when(p.last_reading_at)}).`,
      what_the_clinic_sees: "your uploaded pump, meter and CGM data and the reports made from it, until you stop sharing on your Data Sharing page.",
      upload_request_text: p.upload_request
        ? `Last asked ${when(p.upload_request.at)} by ${p.upload_request.channel === "sms" ? "SMS Text" : "Email"}.`
        : "Not asked yet.",
    });
    document.querySelector("[data-link-badge]").replaceChildren(badge("link", p.link.status, LINK_TEXT[p.link.status]));
    document.querySelector("[data-link-state]").hidden = p.link.status === "linked";
    // Every state but "linked" and "pending" is a record the clinic can link again — unless archived.
    const archived = Boolean(p.archived_at);
    showWhen(archived ? "archived" : ["linked", "pending"].includes(p.link.status) ? p.link.status : "not_linked");
    if (archived) {
      document.querySelector("[data-link-state]").hidden = true;
      document.querySelector("[data-archived-text]").textContent =
        `Archived ${when(p.archived_at)}${p.archived_by ? ` by ${p.archived_by}` : ""}. It is not in the patient list or triage, and it cannot be linked until you restore it. Its history stays in the audit log.`;
    }
    document.querySelector("[data-archive-record]").hidden = archived || ["linked", "pending"].includes(p.link.status);
    document.querySelector("[data-identity]").hidden = p.link.identity !== "mismatch";
    for (const link of document.querySelectorAll("[data-export-data]")) {
      link.setAttribute("href", `${base}/data?format=${link.dataset.exportData}`);
    }
    // A linked record opens on its overview, the old-data warning at its top.
    if (p.link.status === "linked" && !glanceShown) {
      glanceShown = true;
      showGlance(document, `${base}/overview`, { uploadNowTarget: "#linked-heading" });
    } else if (p.link.status !== "linked") {
      glanceShown = false;
      document.querySelector("[data-glance]").hidden = true;
    }
    if (p.ranges) document.querySelector("#record-ranges").value = p.ranges.preset;
    document.querySelector("[data-stale]").hidden = p.freshness === "recent";
    // A linked record is unlinked, a waiting code cancelled, before a record can be deleted.
    document.querySelector("[data-delete-record]").hidden = ["linked", "pending"].includes(p.link.status);
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
    if (!checkForm(credentials)) return;
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
    if (!checkForm(confirmForm)) return;
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
    if (!checkForm(correctForm)) return;
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
  const setArchived = async (archived) => {
    try {
      await api("PUT", `${base}/archived`, { archived });
      await render();
      const status = document.querySelector("[data-page-status]");
      status.textContent = archived
        ? `${current.name}'s record is archived.`
        : `${current.name}'s record is restored: it is back in the patient list.`;
      if (archived) document.querySelector("#archived-heading").focus();
    } catch (error) {
      document.querySelector("[data-page-error]").textContent = error.message;
    }
  };
  document.querySelector("[data-archive-record-button]").addEventListener("click", () => setArchived(true));
  document.querySelector("[data-restore-record]").addEventListener("click", () => setArchived(false));
  document.querySelector("[data-delete-record-button]").addEventListener("click", async () => {
    if (!confirm(`Delete the record of ${current.name}, born ${current.date_of_birth}? This cannot be undone.`)) return;
    try {
      await api("DELETE", base);
      location.assign("/clinic/");
    } catch (error) {
      document.querySelector("[data-delete-record-error]").textContent = error.message;
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
    if (!checkForm(rangesForm)) return;
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
      if (!checkForm(form)) return;
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
    if (!checkForm(uploadForm)) return;
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

start(clinicPatient);
