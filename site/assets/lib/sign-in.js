// Signing in: the password form, then — for an account with two-factor sign-in — the second step,
// which completes the challenge the password step answered (401 second_factor_required) with a code
// from the authenticator app or with a passkey; or a passkey alone ("Use a passkey").

import { ApiError, api } from "/assets/lib/api.js";
import { checkForm, showError } from "/assets/lib/forms.js";
import { passkeysSupported, signInWithPasskey } from "/assets/lib/passkey.js";

/** Wires the page's sign-in forms to `path`; `done` runs once a session exists. */
export function wireSignIn(path, done) {
  const area = path.startsWith("/api/clinic") ? "clinic" : "personal";
  const form = document.querySelector("main form:not([data-second-factor])");
  const second = document.querySelector("main form[data-second-factor]");
  const codePart = second.querySelector("[data-code-part]");
  const passkeyAlone = document.querySelector("[data-passkey-sign-in]");
  const passkeySecond = second.querySelector("[data-passkey-second]");
  let challenge = null;
  const send = async (target, call, button) => {
    button.disabled = true;
    try {
      await call();
    } catch (error) {
      const shown = error instanceof ApiError ? error : new ApiError(0, null);
      if (shown.code === "second_factor_required") {
        challenge = shown.challenge;
        const app = shown.methods.length === 0 || shown.methods.includes("app");
        const passkey = shown.methods.includes("passkey") && passkeysSupported();
        codePart.hidden = !app;
        codePart.querySelector("input").required = app;
        passkeySecond.hidden = !passkey;
        second.querySelector("[data-intro-app]").hidden = !app;
        second.querySelector("[data-intro-passkey]").hidden = !passkey;
        form.hidden = true;
        if (passkeyAlone) passkeyAlone.closest("[data-passkey-part]").hidden = true;
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
    send(form, async () => done(await api("POST", path, body)), form.querySelector("button[type=submit]"));
  });
  second.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!checkForm(second)) return;
    const code = second.elements.namedItem("code").value.trim();
    send(second, async () => done(await api("POST", "/api/signin/second-factor", { challenge, code })), second.querySelector("button[type=submit]"));
  });
  passkeySecond.addEventListener("click", () => {
    send(second, async () => done(await signInWithPasskey(area, challenge)), passkeySecond);
  });
  if (passkeyAlone) {
    passkeyAlone.closest("[data-passkey-part]").hidden = !passkeysSupported();
    passkeyAlone.addEventListener("click", () => {
      send(form, async () => done(await signInWithPasskey(area, null)), passkeyAlone);
    });
  }
}
