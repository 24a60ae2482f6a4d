// Shared steps for the browser tests: unique synthetic people, accessibility checks with axe-core.
const fs = require("node:fs");
const { expect } = require("@playwright/test");

/**
 * Where the messages glucolink sent can be read: the local outbox page, or under the cloud rehearsal
 * (REHEARSAL=1) the rehearsal's page of what SES and SNS in moto were asked to send. Both show one
 * article per message with its links.
 */
const REHEARSAL = process.env.REHEARSAL === "1";
const OUTBOX = REHEARSAL ? "/_rehearsal/outbox" : "/dev/outbox";

let counter = 0;
/** A value unique to this run, for emails and usernames. */
function unique(prefix) {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core on the page and fails on any violation of WCAG 2.1 A/AA rules. axe is evaluated through
 * the DevTools protocol rather than a <script> tag, because the site's CSP (rightly) blocks inline script.
 */
async function expectAccessible(page) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
  expect(violations, `accessibility violations on ${page.url()}`).toEqual([]);
}

const CLINIC_PASSWORD = "meadow copper falcon 73";
const PERSON_PASSWORD = "saffron tide lantern 29";

/** Registers a new clinic through the site; the page ends on the clinic's patient list. */
async function registerClinic(page, clinicName = "Lakeside Diabetes Service") {
  const email = `${unique("staff")}@clinic.example`;
  await page.goto("/clinic/signup");
  await page.getByLabel("Clinic name").fill(clinicName);
  await page.getByLabel("Your name").fill("Robin Tester");
  await page.getByLabel("Your work email").fill(email);
  await page.getByLabel("Password").fill(CLINIC_PASSWORD);
  await page.getByRole("button", { name: "Register clinic" }).click();
  await expect(page.getByRole("heading", { name: "Verify your clinic's email" })).toBeVisible();
  await verifyClinicFromEmail(page, email);
  await page.getByRole("link", { name: "Go to your patients" }).click();
  await expect(page.getByRole("heading", { name: "Patients" })).toBeVisible();
  return email;
}

/** Follows the verification link emailed to a new clinic's admin (from the outbox). */
async function verifyClinicFromEmail(page, email) {
  await page.goto(OUTBOX);
  await page.locator("article", { hasText: email }).first().getByRole("link", { name: /\/verify\?token=/ }).first().click();
  await expect(page.getByRole("status")).toHaveText("Your clinic is verified. You can now add patients, link their accounts and see their data.");
}

/** Follows the confirmation link sent to a patient's recovery email (from the outbox). */
async function confirmRecoveryEmail(page, email) {
  await page.goto(OUTBOX);
  await page.locator("article", { hasText: email }).first().getByRole("link", { name: /\/personal\/verify-contact\?token=/ }).first().click();
  await expect(page.getByRole("status")).toContainText("Confirmed.");
}

/** Waits until the page has loaded its data and wired its forms (app.js sets body[data-ready]). */
async function ready(page) {
  await expect(page.locator("body[data-ready]")).toHaveCount(1);
}

/** Fills the personal sign-up form the page is on. */
async function fillPersonalSignUp(page, username, name = "Morgan Sample", dateOfBirth = "1979-03-08") {
  await ready(page);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PERSON_PASSWORD);
  await page.getByLabel("Date of birth (optional)").fill(dateOfBirth);
  await page.getByLabel("Email", { exact: true }).fill(`${username}@example.net`);
  await page.getByRole("button", { name: "Create account" }).click();
}

/** Adds a patient record from the clinic's list page; the page ends on its Patient Profile. */
async function addPatient(page, name, dateOfBirth) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Date of birth", { exact: true }).fill(dateOfBirth);
  await page.getByRole("button", { name: "Add patient" }).click();
  await expect(page.getByRole("heading", { name: "Patient Profile" })).toBeVisible();
  await ready(page);
}

/** The patient at the clinic's screen: opens the hand-off, signs in as the patient and accepts. */
async function linkAtClinicScreen(page, clinicName, username) {
  await page.getByRole("button", { name: "The patient is here with me" }).click();
  const handoff = page.getByRole("dialog");
  await handoff.getByLabel("Your glucolink username").fill(username);
  await handoff.getByLabel("Your password").fill(PERSON_PASSWORD);
  await handoff.getByLabel(`I agree to share my data with ${clinicName}`).check();
  await handoff.getByRole("button", { name: "Accept and share my data" }).click();
  await expect(handoff).toBeHidden();
}

/** Saves a full-page screenshot at desktop and phone width (test-results/screens/NAME-WIDTH.png). */
async function screenshotBothWidths(page, name) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: `test-results/screens/${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

module.exports = {
  confirmRecoveryEmail,
  screenshotBothWidths,
  verifyClinicFromEmail,
  OUTBOX,
  REHEARSAL,
  linkAtClinicScreen,
  unique,
  expectAccessible,
  registerClinic,
  fillPersonalSignUp,
  addPatient,
  ready,
  CLINIC_PASSWORD,
  PERSON_PASSWORD,
};
