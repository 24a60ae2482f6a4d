// Join your clinic: accept a staff invitation.

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { fill } from "/assets/lib/dom.js";
import { checkForm, showError } from "/assets/lib/forms.js";

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
    if (!checkForm(form)) return;
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

start(clinicJoin);
