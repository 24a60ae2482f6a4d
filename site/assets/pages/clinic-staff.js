// Staff and settings: the clinic's staff and invitations, and its audit log.

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { el } from "/assets/lib/dom.js";
import { countryChoices, when } from "/assets/lib/format.js";
import { checkForm, showError } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

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
      ...list.invitations.map((i) => el("li", {},
        el("span", {}, `${i.email} — ${i.role} — until ${when(i.expires_at)}`),
        isAdmin ? el("span", { className: "actions" },
          el("button", { type: "button", className: "secondary", "aria-label": `Send the invitation to ${i.email} again`, onclick: () => resend(i) }, "Send again"),
          el("button", { type: "button", className: "secondary", "aria-label": `Cancel the invitation to ${i.email}`, onclick: () => cancel(i) }, "Cancel")) : "",
      )),
    );
    document.querySelector("[data-no-invitations]").hidden = list.invitations.length > 0;
    if (isAdmin) {
      const { clinic_settings: settings } = await api("GET", "/api/me");
      document.querySelector("#freshness_days").value = settings.freshness_days;
      document.querySelector("#glucose_units").value = settings.glucose_units || "mg/dL";
      const country = document.querySelector("#country");
      if (country.options.length === 1) country.append(...countryChoices());
      country.value = settings.country || "";
      document.querySelector("#require_two_factor").checked = settings.require_two_factor;
    }
  }
  // Sending again is a new invitation to the same address: the earlier link stops working.
  async function resend(invitation) {
    pageError.textContent = "";
    try {
      await api("POST", "/api/clinic/staff/invitations", { email: invitation.email, role: invitation.role });
      status(`A new invitation was sent to ${invitation.email}; the earlier link no longer works.`);
      await refresh();
    } catch (error) {
      pageError.textContent = error.message;
    }
  }
  async function cancel(invitation) {
    if (!confirm(`Cancel the invitation to ${invitation.email}? Its link stops working.`)) return;
    pageError.textContent = "";
    try {
      await api("POST", "/api/clinic/staff/invitations/cancel", { email: invitation.email });
      status(`The invitation to ${invitation.email} was cancelled.`);
      await refresh();
    } catch (error) {
      pageError.textContent = error.message;
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
    if (!checkForm(invite)) return;
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
    if (!checkForm(settings)) return;
    try {
      const days = Number(settings.elements.namedItem("freshness_days").value);
      const units = settings.elements.namedItem("glucose_units").value;
      const country = settings.elements.namedItem("country").value;
      const requireTwoFactor = settings.elements.namedItem("require_two_factor").checked;
      await api("PUT", "/api/clinic/settings", { freshness_days: Number.isInteger(days) ? days : 0, glucose_units: units, country, require_two_factor: requireTwoFactor });
      status(`Saved: data older than ${days} days counts as old; reports show ${units}; ${requireTwoFactor ? "every member of staff signs in with two factors" : "two-factor sign-in is each person's choice"}.`);
      await refresh();
    } catch (error) {
      showError(settings, error);
    }
  });
  await refresh();
}

start(clinicStaff);
