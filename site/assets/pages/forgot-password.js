// Forgot your password? (clinic and personal): asks for a reset link and says what happens next, in the
// same words whether or not an account matched (the server's answer never tells).

import { start } from "/assets/lib/shell.js";
import { api, ApiError } from "/assets/lib/api.js";
import { browserRegion } from "/assets/lib/format.js";
import { checkForm, showError } from "/assets/lib/forms.js";

/** What the personal form's one field holds: an email, a phone number or a username. */
function personalBody(login) {
  const value = login.trim();
  if (value.includes("@")) return { email: value };
  if (/^[+0-9][0-9 ()-]{5,}$/.test(value)) {
    const body = { phone: value };
    if (!value.startsWith("+") && browserRegion()) body.country = browserRegion();
    return body;
  }
  return { username: value };
}

function forgotPassword() {
  const form = document.querySelector("form[data-forgot]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    const body = form.dataset.anyLogin !== undefined
      ? personalBody(form.elements.namedItem("login").value)
      : { email: form.elements.namedItem("email").value.trim() };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const answer = await api("POST", form.dataset.forgot, body);
      document.querySelector("[data-ask]").hidden = true;
      const sent = document.querySelector("[data-sent]");
      sent.hidden = false;
      const message = sent.querySelector("[data-sent-message]");
      message.textContent = answer.message;
      message.focus();
    } catch (error) {
      // The personal form has one field: whatever the server names (username, email, phone), show it there.
      const shown = error instanceof ApiError ? error : new ApiError(0, null);
      if (form.dataset.anyLogin !== undefined && ["username", "email", "phone", "country"].includes(shown.field)) shown.field = "login";
      showError(form, shown);
    } finally {
      button.disabled = false;
    }
  });
}

start(forgotPassword);
