// Join your clinic: accept a staff invitation — as someone new (a name and password), or with the
// glucolink login the address already has (signed in with it; the session then moves to that clinic).

import { start } from "/assets/lib/shell.js";
import { ApiError, api } from "/assets/lib/api.js";
import { fill } from "/assets/lib/dom.js";
import { checkForm, showError } from "/assets/lib/forms.js";

/** The signed-in account, or null for a visitor. */
async function signedIn() {
  try {
    return await api("GET", "/api/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** The address already signs in: accept while signed in with it, else sign in first and come back. */
async function joinWithExistingLogin(token, invitation) {
  document.querySelector("[data-join]").hidden = true;
  document.querySelector("[data-existing]").hidden = false;
  const me = await signedIn();
  if (me?.kind === "clinic_user" && me.email === invitation.email) {
    document.querySelector("[data-existing-accept]").hidden = false;
    const button = document.querySelector("[data-accept]");
    button.textContent = `Join ${invitation.clinic_name}`;
    const error = document.querySelector("[data-accept-error]");
    button.addEventListener("click", async () => {
      button.disabled = true;
      error.textContent = "";
      try {
        const joined = await api("POST", "/api/clinic/staff/invitations/join", { token });
        await api("POST", "/api/me/clinic", { clinic_id: joined.clinic_id });
        location.assign("/clinic/");
      } catch (failure) {
        error.textContent = failure.message;
        button.disabled = false;
      }
    });
    return;
  }
  document.querySelector("[data-existing-sign-in]").hidden = false;
  if (me) {
    fill({ signed_in_as: me.kind === "clinic_user" ? me.email : me.username });
    document.querySelector("[data-signed-in-as]").hidden = false;
  }
  document.querySelector("[data-sign-in-link]").href =
    `/clinic/signin?next=${encodeURIComponent(location.pathname + location.search)}`;
}

async function clinicJoin() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const pageError = document.querySelector("[data-page-error]");
  let invitation;
  try {
    invitation = await api("POST", "/api/clinic/staff/invitations/lookup", { token });
    fill(invitation);
    document.querySelector("[data-invitation]").hidden = false;
  } catch (error) {
    pageError.textContent = error.message;
    return;
  }
  if (invitation.existing_login) {
    await joinWithExistingLogin(token, invitation);
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
