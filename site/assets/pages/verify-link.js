// A link that verifies something by its token — a new clinic's email (/verify) or a patient's recovery
// contact (/personal/verify-contact) — or that token pasted by hand. The page names its API endpoint
// (data-verify-endpoint).

import { start } from "/assets/lib/shell.js";
import { api, ApiError } from "/assets/lib/api.js";
import { checkForm, showError } from "/assets/lib/forms.js";

async function verifyLink() {
  const endpoint = document.querySelector("[data-verify-endpoint]").dataset.verifyEndpoint;
  const working = document.querySelector("[data-working]");
  const verified = document.querySelector("[data-verified]");
  const failed = document.querySelector("[data-failed]");
  const form = document.querySelector("[data-verify-form]");
  const succeed = () => {
    working.hidden = true;
    failed.hidden = true;
    verified.hidden = false;
    verified.querySelector("[data-verified-message]").focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    try {
      await api("POST", endpoint, { token: form.elements.namedItem("token").value.trim() });
      succeed();
    } catch (error) {
      showError(form, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });
  const token = new URLSearchParams(location.search).get("token") || "";
  if (token) history.replaceState(null, "", location.pathname);
  try {
    if (!token) throw new ApiError(0, { error: { message: "This address has no verification token." } });
    await api("POST", endpoint, { token });
    succeed();
  } catch (error) {
    working.hidden = true;
    failed.hidden = false;
    failed.querySelector("[data-failed-message]").textContent = error.message;
  }
}

start(verifyLink);
