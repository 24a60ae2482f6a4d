// Forms wired to the API: every field checked before sending, all problems shown at once beside their
// fields (with a list of them above the form when there are several), API errors shown once.

import { ApiError, api } from "/assets/lib/api.js";
import { browserRegion, browserZone } from "/assets/lib/format.js";
import { signInPathFor } from "/assets/lib/session.js";

/** Removes every error a form shows. */
export function clearErrors(form) {
  const summary = form.querySelector("[data-form-error]");
  if (summary) summary.replaceChildren();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
}

function labelOf(input) {
  const label = input.labels && input.labels[0];
  const text = label ? label.textContent.replace(/\(optional\)/i, "").trim() : input.name;
  return text.replace(/[:*]$/, "");
}

/** What is wrong with a field, in a person's words, or null. A field may say what to write when it is
 * left empty (`data-missing`). */
function problemWith(input) {
  if (input.disabled || !input.willValidate || input.checkValidity()) return null;
  const v = input.validity;
  const label = labelOf(input);
  const lower = label.charAt(0).toLowerCase() + label.slice(1);
  if (v.valueMissing) {
    if (input.dataset.missing) return input.dataset.missing;
    if (input.type === "checkbox") return "Tick this box to go on.";
    if (input.type === "file") return "Choose a file.";
    if (input.tagName === "SELECT" || input.type === "radio") return `Choose ${lower}.`;
    return `Enter ${lower}.`;
  }
  if (v.typeMismatch && input.type === "email") return "Enter an email address like name@example.org.";
  if (v.badInput && input.type === "date") return "Enter a real date.";
  if (v.tooShort) return `${label} needs at least ${input.minLength} characters.`;
  if (v.tooLong) return `${label} can have at most ${input.maxLength} characters.`;
  if (v.rangeUnderflow) return `${label} is at least ${input.min}.`;
  if (v.rangeOverflow) return `${label} is at most ${input.max}.`;
  if (v.patternMismatch && input.title) return input.title;
  return `Check ${lower}.`;
}

function markField(form, input, message) {
  const slot = input.id && form.querySelector(`#${CSS.escape(input.id)}-error`);
  input.setAttribute("aria-invalid", "true");
  if (slot) slot.textContent = message;
  return Boolean(slot);
}

/**
 * Checks every field of a form before it is sent and shows all problems at once: each beside its
 * field, and, when there are several, a list of the fields to fix above the form (links that move to
 * each). Clears earlier errors first. True when the form can be sent.
 */
export function checkForm(form) {
  clearErrors(form);
  const problems = [];
  for (const input of form.elements) {
    const message = problemWith(input);
    if (message) problems.push({ input, message, shown: markField(form, input, message) });
  }
  if (problems.length === 0) return true;
  const summary = form.querySelector("[data-form-error]");
  const unshown = problems.filter((p) => !p.shown);
  if (summary && (problems.length > 1 || unshown.length > 0)) {
    const items = problems.map((p) => {
      const link = document.createElement("a");
      link.href = `#${p.input.id}`;
      link.textContent = p.shown ? labelOf(p.input) : `${labelOf(p.input)}: ${p.message}`;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        p.input.focus();
      });
      const item = document.createElement("li");
      item.append(link);
      return item;
    });
    const heading = document.createElement("p");
    heading.textContent = problems.length === 1 ? "One field needs your attention:" : `${problems.length} fields need your attention:`;
    const list = document.createElement("ul");
    list.append(...items);
    summary.replaceChildren(heading, list);
    summary.classList.add("error-summary");
  }
  problems[0].input.focus();
  return false;
}

/**
 * Shows an API error: beside its field when the answer names one (and only there), otherwise above
 * the form. An expired session goes to sign-in and comes back.
 */
export function showError(form, error) {
  if (error.code === "unauthenticated") {
    location.assign(signInPathFor(location.pathname) + `?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  const input = error.field && form.elements.namedItem(error.field);
  if (input && input.id && markField(form, input, error.message)) {
    input.focus();
    return;
  }
  const summary = form.querySelector("[data-form-error]");
  if (summary) summary.textContent = error.message;
}

/**
 * Wires a form to an API call: collects its fields (checkboxes as booleans), shows errors beside them,
 * then moves on. `path` may be a function of nothing, for paths known only later; `onError` sees an
 * error before it is shown.
 */
export function apiForm(form, path, after, { onError } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkForm(form)) return;
    const body = {};
    if (form.dataset.addTimeZone !== undefined) body.time_zone = browserZone();
    if (form.dataset.addCountry !== undefined && browserRegion()) body.country = browserRegion();
    for (const input of form.elements) {
      if (!input.name) continue;
      if (input.type === "checkbox") body[input.name] = input.checked;
      else if (input.value !== "" || input.required) body[input.name] = input.value;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await api("POST", typeof path === "function" ? path() : path, body);
      after(result);
    } catch (error) {
      const shown = error instanceof ApiError ? error : new ApiError(0, null);
      if (onError) onError(shown);
      showError(form, shown);
    } finally {
      button.disabled = false;
    }
  });
}

/** Wires a report form: custom dates show (and are sent) only when "Custom dates" is chosen. */
export function wireReportForm(form, action) {
  form.action = action;
  const days = form.elements.namedItem("days");
  const custom = form.querySelector("[data-custom-dates]");
  const [from, to] = custom.querySelectorAll("input");
  const boxes = [...form.querySelectorAll("[data-sections] input[type=checkbox]")];
  const sections = form.querySelector("[data-sections] input[name=sections]");
  const sync = () => {
    const isCustom = days.value === "";
    custom.hidden = !isCustom;
    for (const input of [from, to]) {
      input.disabled = !isCustom;
      input.required = isCustom;
    }
    // Each section's default for the period's length (daily detail up to 14 days, the pages of
    // daily profiles over 14 days), as the server's own defaults.
    const length = isCustom ? periodDays(from.value, to.value) : Number(days.value);
    for (const box of boxes) {
      const upTo = Number(box.dataset.defaultUpToDays);
      const over = Number(box.dataset.defaultOverDays);
      if (upTo) box.checked = !length || length <= upTo;
      if (over) box.checked = length > over;
    }
  };
  days.addEventListener("change", sync);
  from.addEventListener("change", sync);
  to.addEventListener("change", sync);
  sync();
  // Checked here, before a new tab opens: a report the server would refuse never opens as an error.
  form.addEventListener("submit", (event) => {
    if (!reportFormIsValid(form, from, to, boxes)) {
      event.preventDefault();
      return;
    }
    sections.value = boxes.filter((b) => b.checked).map((b) => b.value).join(",");
  });
}

/** The days from `from` to `to` inclusive, or 0 when either date is missing. */
function periodDays(from, to) {
  if (!from || !to) return 0;
  return Math.round((Date.parse(to) - Date.parse(from)) / 86400000) + 1;
}

function reportFormIsValid(form, from, to, boxes) {
  if (!checkForm(form)) return false;
  const problem = (input, message) => {
    markField(form, input, message);
    input.focus();
    return false;
  };
  if (!from.disabled) {
    const length = periodDays(from.value, to.value);
    if (length < 1) return problem(to, "To is on or after From.");
    if (length > 90) return problem(to, `A report covers at most 90 days; these dates cover ${length}. Choose a To within 90 days of From.`);
  }
  if (!boxes.some((b) => b.checked)) return problem(boxes[0], "Choose at least one section.");
  return true;
}
