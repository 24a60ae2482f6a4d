// Choose a new password with the token of a reset link (or typed from the message when the link did not
// open); afterwards every device is signed out and the person signs in again.

import { start } from "/assets/lib/shell.js";
import { api, ApiError } from "/assets/lib/api.js";
import { checkForm, showError } from "/assets/lib/forms.js";

function resetPassword() {
  const fromLink = new URLSearchParams(location.search).get("token") || "";
  const form = document.querySelector("form[data-reset]");
  const tokenField = form.querySelector("[data-token-field]");
  const tokenInput = form.elements.namedItem("token");
  if (!fromLink) {
    tokenField.hidden = false;
    tokenInput.required = true;
  }
  // The token stays out of the address bar's history once read.
  if (fromLink) history.replaceState(null, "", location.pathname);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    const token = fromLink || tokenInput.value.trim();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("POST", "/api/password-reset", { token, password: form.elements.namedItem("password").value });
      document.querySelector("[data-choose]").hidden = true;
      const done = document.querySelector("[data-done]");
      done.hidden = false;
      done.querySelector("[data-done-message]").focus();
    } catch (error) {
      const shown = error instanceof ApiError ? error : new ApiError(0, null);
      // A link that no longer works: said above the form (the message says how to get a new one).
      if (shown.field === "token" && fromLink) shown.field = null;
      showError(form, shown);
    } finally {
      button.disabled = false;
    }
  });
}

start(resetPassword);
