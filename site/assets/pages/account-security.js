// Account security (clinic staff and patients alike): add, list and remove passkeys; turn two-factor
// sign-in on with an authenticator app (QR code or typed key, then a first code), save the one-time
// recovery codes, or turn it off.

import { start } from "/assets/lib/shell.js";
import { api, ApiError } from "/assets/lib/api.js";
import { el, fill } from "/assets/lib/dom.js";
import { checkForm, showError } from "/assets/lib/forms.js";
import { whoAmI, wireSignOut } from "/assets/lib/session.js";
import { addPasskey, passkeysSupported } from "/assets/lib/passkey.js";
import { browserRegion, when } from "/assets/lib/format.js";

/** The Recovery contacts card (patients): what is confirmed, "Send the link again", and changing them. */
function wireContacts(me) {
  const card = document.querySelector("[data-contacts]");
  if (!card) return;
  const part = (name) => card.querySelector(`[data-${name}]`);
  const status = part("contacts-status");
  const form = part("contacts-form");
  const show = (person) => {
    const line = (value, confirmed) => value
      ? [value, " ", el("span", { className: `badge contact ${confirmed ? "confirmed" : "waiting"}` }, confirmed ? "Confirmed" : "Waiting for confirmation")]
      : ["Not given"];
    part("contact-email").replaceChildren(...line(person.email, person.email_verified));
    part("contact-phone").replaceChildren(...line(person.phone, person.phone_verified));
    part("contacts-resend-part").hidden = !((person.email && !person.email_verified) || (person.phone && !person.phone_verified));
    form.elements.namedItem("email").value = person.email || "";
    form.elements.namedItem("phone").value = person.phone || "";
  };
  show(me);
  part("contacts-resend").addEventListener("click", async () => {
    try {
      const { sent } = await api("POST", "/api/personal/contact-verification");
      status.textContent = `We sent a new link to your ${sent.map((c) => (c === "email" ? "email" : "phone")).join(" and ")}. It works for 7 days.`;
      status.focus();
    } catch (error) {
      part("contacts-error").textContent = error.message;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    const body = { password: form.elements.namedItem("password").value };
    for (const name of ["email", "phone"]) {
      const value = form.elements.namedItem(name).value.trim();
      if (value) body[name] = value;
    }
    if (body.phone && browserRegion()) body.country = browserRegion();
    try {
      const person = await api("PUT", "/api/personal/contact", body);
      form.elements.namedItem("password").value = "";
      part("contacts-change").open = false;
      show(person);
      status.textContent = "Saved. We sent a link to each new contact: follow it to confirm.";
      status.focus();
    } catch (error) {
      showError(form, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });
}

/** The Passkeys card: the list (with Remove, confirmed by the password) and "Add a passkey". */
function wirePasskeys(me, required) {
  const part = (name) => document.querySelector(`[data-${name}]`);
  const list = part("passkey-list");
  const status = part("passkey-status");
  const addForm = part("passkey-add");
  const removeForm = part("passkey-remove");
  let removing = null;
  const say = (text) => {
    status.textContent = text;
    status.focus();
  };
  const refresh = async () => {
    const { passkeys } = await api("GET", "/api/me/passkeys");
    me.passkeys = passkeys.length;
    me.two_factor = me.authenticator_app || passkeys.length > 0;
    part("passkeys-required").hidden = !required();
    part("required").hidden = !required();
    part("passkey-none").hidden = passkeys.length > 0;
    list.hidden = passkeys.length === 0;
    list.replaceChildren(...passkeys.map((passkey) => {
      const used = passkey.last_used_at ? `last used ${when(passkey.last_used_at)}` : "not used yet";
      const remove = el("button", { type: "button", className: "secondary" }, "Remove");
      remove.setAttribute("aria-label", `Remove ${passkey.name}`);
      remove.addEventListener("click", () => {
        removing = passkey;
        part("passkey-remove-name").textContent = passkey.name;
        removeForm.hidden = false;
        addForm.hidden = true;
        document.getElementById("passkey-remove-heading").focus();
      });
      return el("li", {},
        el("div", {},
          el("div", { className: "passkey-name" }, passkey.name),
          el("p", { className: "hint" }, `Added ${when(passkey.created_at)} · ${used}${passkey.synced ? " · synced between your devices" : ""}`)),
        remove);
    }));
  };
  if (!passkeysSupported()) {
    part("passkey-unsupported").hidden = false;
    addForm.hidden = true;
  }
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(addForm)) return;
    const button = addForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const added = await addPasskey(addForm.elements.namedItem("name").value.trim());
      addForm.reset();
      await refresh();
      say(`Passkey “${added.name}” added. You can now sign in with it.`);
    } catch (error) {
      showError(addForm, error instanceof ApiError ? error : new ApiError(0, null));
    } finally {
      button.disabled = false;
    }
  });
  removeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(removeForm) || !removing) return;
    try {
      await api("DELETE", `/api/me/passkeys/${encodeURIComponent(removing.id)}`, { password: removeForm.elements.namedItem("password").value });
      removeForm.reset();
      removeForm.hidden = true;
      addForm.hidden = !passkeysSupported();
      await refresh();
      say(`Passkey “${removing.name}” removed.`);
    } catch (error) {
      showError(removeForm, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });
  part("passkey-remove-cancel").addEventListener("click", () => {
    removeForm.reset();
    removeForm.hidden = true;
    addForm.hidden = !passkeysSupported();
  });
  refresh().catch((error) => {
    part("passkey-error").textContent = error.message;
  });
}

async function accountSecurity() {
  const clinic = location.pathname.startsWith("/clinic");
  const me = await whoAmI(clinic ? "clinic_user" : "person", clinic ? "/clinic/signin" : "/personal/signin");
  if (!me) return;
  wireSignOut(clinic ? "/clinic/signin" : "/personal/signin");
  const part = (name) => document.querySelector(`[data-${name}]`);
  if ((me.clinics ?? []).length > 1) {
    const names = me.clinics.map((c) => c.clinic_name);
    fill({ all_clinics: `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` });
    part("all-clinics").hidden = false;
  }
  const status = part("status");
  const show = (name) => {
    for (const name2 of ["off", "enrol", "recovery", "on"]) part(name2).hidden = name2 !== name;
  };
  show(me.authenticator_app ? "on" : "off");
  const required = () => Boolean(me.clinic_requires_two_factor) && !me.two_factor;
  part("required").hidden = !required();
  wirePasskeys(me, required);
  wireContacts(me);

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
    me.authenticator_app = true;
    me.two_factor = true;
    part("required").hidden = !required();
    show("on");
    status.textContent = "The authenticator app is on.";
    status.focus();
  });

  const removeForm = part("remove");
  removeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(removeForm)) return;
    try {
      await api("DELETE", "/api/me/totp", { code: removeForm.elements.namedItem("code").value.trim() });
      removeForm.reset();
      me.authenticator_app = false;
      me.two_factor = me.passkeys > 0;
      part("required").hidden = !required();
      show("off");
      status.textContent = "The authenticator app is off. Your recovery codes no longer work.";
      status.focus();
    } catch (error) {
      showError(removeForm, error instanceof ApiError ? error : new ApiError(0, null));
    }
  });

  // Delete my account (patients): password, and a code when two-factor sign-in is on.
  const deleteForm = part("delete");
  if (!deleteForm) return;
  const codeField = part("delete-code");
  codeField.hidden = !me.authenticator_app;
  codeField.querySelector("input").required = me.authenticator_app;
  deleteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(deleteForm)) return;
    const body = { password: deleteForm.elements.namedItem("password").value };
    if (me.authenticator_app) body.code = deleteForm.elements.namedItem("code").value.trim();
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
