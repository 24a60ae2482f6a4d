// Account security (clinic staff and patients alike): turn two-factor sign-in on with an authenticator
// app (QR code or typed key, then a first code), save the one-time recovery codes, or turn it off.

import { start } from "/assets/lib/shell.js";
import { api, ApiError } from "/assets/lib/api.js";
import { el } from "/assets/lib/dom.js";
import { checkForm, showError } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";

async function accountSecurity() {
  const clinic = location.pathname.startsWith("/clinic");
  const me = await whoAmI(clinic ? "clinic_user" : "person", clinic ? "/clinic/signin" : "/personal/signin");
  if (!me) return;
  wireSignOut(clinic ? "/clinic/signin" : "/personal/signin");
  const part = (name) => document.querySelector(`[data-${name}]`);
  const status = part("status");
  const show = (name) => {
    for (const name2 of ["off", "enrol", "recovery", "on"]) part(name2).hidden = name2 !== name;
  };
  show(me.two_factor ? "on" : "off");
  part("required").hidden = !me.clinic_requires_two_factor;

  part("start").addEventListener("click", async () => {
    try {
      const enrolment = await api("POST", "/api/me/totp");
      // The QR code is an SVG the server drew from the otpauth URI (no text from any person in it).
      const svg = new DOMParser().parseFromString(enrolment.qr_svg, "image/svg+xml").documentElement;
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", "QR code for your authenticator app");
      part("qr").replaceChildren(svg);
      part("secret").textContent = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
      show("enrol");
      part("confirm").elements.namedItem("code").focus();
    } catch (error) {
      part("page-error").textContent = error.message;
    }
  });

  const confirmForm = part("confirm");
  confirmForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(confirmForm)) return;
    try {
      const { recovery_codes: codes } = await api("POST", "/api/me/totp/confirm", { code: confirmForm.elements.namedItem("code").value.trim() });
      part("codes").replaceChildren(...codes.map((code) => el("li", {}, el("code", {}, code))));
      show("recovery");
      document.getElementById("recovery-heading").focus();
    } catch (error) {
      showError(confirmForm, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });
  part("print").addEventListener("click", () => window.print());
  part("done").addEventListener("click", () => {
    show("on");
    status.textContent = "Two-factor sign-in is on.";
    status.focus();
  });

  const removeForm = part("remove");
  removeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(removeForm)) return;
    try {
      await api("DELETE", "/api/me/totp", { code: removeForm.elements.namedItem("code").value.trim() });
      removeForm.reset();
      show("off");
      status.textContent = "Two-factor sign-in is off. Your recovery codes no longer work.";
      status.focus();
    } catch (error) {
      showError(removeForm, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });

  // Delete my account (patients): password, and a code when two-factor sign-in is on.
  const deleteForm = part("delete");
  if (!deleteForm) return;
  const codeField = part("delete-code");
  codeField.hidden = !me.two_factor;
  codeField.querySelector("input").required = me.two_factor;
  deleteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(deleteForm)) return;
    const body = { password: deleteForm.elements.namedItem("password").value };
    if (me.two_factor) body.code = deleteForm.elements.namedItem("code").value.trim();
    try {
      await api("DELETE", "/api/personal/account", body);
      const done = el("section", { className: "card narrow" },
        el("h2", { tabindex: "-1" }, "Your account is deleted"),
        el("p", { className: "success", role: "status" }, "Your account and your data are gone from glucolink, and your clinics no longer see anything. Thank you for using glucolink."),
        el("p", {}, el("a", { href: "/" }, "Go to the glucolink home page")));
      document.querySelector("main").replaceChildren(document.querySelector("main h1"), done);
      done.querySelector("h2").focus();
    } catch (error) {
      showError(deleteForm, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });
}

start(accountSecurity);
