// Signing in: the password form, then — for an account with two-factor sign-in — the code form, which
// completes the challenge the password step answered (401 second_factor_required).

import { api, ApiError } from "/assets/lib/api.js";
import { checkForm, showError } from "/assets/lib/forms.js";

/** Wires the page's sign-in forms to `path`; `done` runs once a session exists. */
export function wireSignIn(path, done) {
  const form = document.querySelector("main form:not([data-second-factor])");
  const second = document.querySelector("main form[data-second-factor]");
  let challenge = null;
  const send = async (target, call) => {
    const button = target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await call();
    } catch (error) {
      const shown = error instanceof ApiError ? error : new ApiError(0, null);
      if (shown.code === "second_factor_required") {
        challenge = shown.challenge;
        form.hidden = true;
        second.hidden = false;
        second.querySelector("h2").focus();
        return;
      }
      if (shown.code === "challenge_expired") {
        // Too slow or too many wrong codes: back to the password, with the reason.
        second.hidden = true;
        form.hidden = false;
        form.elements.namedItem("password").value = "";
      }
      showError(shown.code === "challenge_expired" ? form : target, shown);
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    const body = {};
    for (const input of form.elements) if (input.name) body[input.name] = input.value;
    send(form, async () => done(await api("POST", path, body)));
  });
  second.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!checkForm(second)) return;
    const code = second.elements.namedItem("code").value.trim();
    send(second, async () => done(await api("POST", "/api/signin/second-factor", { challenge, code })));
  });
}
