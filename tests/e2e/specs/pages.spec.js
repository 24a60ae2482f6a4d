// Every page of the site, as a clinic, a patient and a visitor see it, at a phone's width (390 px) and a
// laptop's (1280 px): no sideways scrolling of the page, no axe-core violations, and a full-page
// screenshot in test-results/screens/ to look at. Also the phone menu and a keyboard-only sign-in.
const { test, expect } = require("@playwright/test");
const { expectAccessible, ready, REHEARSAL } = require("./helpers");

const WIDTHS = [390, 1280];
const DEMO_CLINIC = { email: "demo.clinic@example.org", password: "lantern orchard violet 42" };
const DEMO_PATIENT = { username: "demo.patient", password: "kettle meadow sparrow 17" };

/** Loads a page at each width, checks it and saves its screenshots. */
async function tour(page, path, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(path);
    await ready(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} scrolls sideways by ${overflow} px at ${width} px`).toBeLessThanOrEqual(0);
    await expectAccessible(page);
    await page.screenshot({ path: `test-results/screens/page-${name}-${width}.png`, fullPage: true });
    if (width === 1280) await expectKeyboardReachable(page, path);
  }
}

/** Every visible, enabled control of the page's forms is reached by pressing Tab from the top (the
 * keyboard path through every form). */
async function expectKeyboardReachable(page, path) {
  const controls = await page.evaluate(() => {
    const all = [...document.querySelectorAll("main form input, main form select, main form textarea, main form button")];
    return all
      .filter((c) => !c.disabled && c.type !== "hidden" && c.getClientRects().length > 0 && !c.closest("[hidden], details:not([open]) > :not(summary)"))
      // A radio group is one stop of the Tab order (arrow keys move within it): its checked radio.
      .filter((c) => c.type !== "radio" || c.checked)
      .map((c, i) => {
        c.dataset.keyboardCheck = String(i);
        return String(i);
      });
  });
  const reached = new Set();
  await page.locator("body").focus();
  for (let i = 0; i < 150 && reached.size < controls.length; i += 1) {
    await page.keyboard.press("Tab");
    const id = await page.evaluate(() => document.activeElement?.dataset?.keyboardCheck ?? null);
    if (id !== null) reached.add(id);
  }
  const missed = controls.filter((id) => !reached.has(id));
  expect(missed, `${path}: controls Tab never reaches`).toEqual([]);
}

async function signInClinic(page) {
  await page.goto("/clinic/signin");
  await ready(page);
  await page.getByLabel("Email").fill(DEMO_CLINIC.email);
  await page.getByLabel("Password").fill(DEMO_CLINIC.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/clinic\/$/);
}

test("public pages", async ({ page }) => {
  for (const [path, name] of [
    ["/", "landing"],
    ["/clinic/signin", "clinic-signin"],
    ["/clinic/signup", "clinic-signup"],
    ["/personal/signin", "personal-signin"],
    ["/personal/signup", "personal-signup"],
    ["/privacy", "privacy"],
    ["/terms", "terms"],
    ["/no/such/page", "not-found"],
    ["/clinic/join?token=not-a-real-invitation", "clinic-join"],
    // The local outbox is a local page; the published site has none.
    ...(REHEARSAL ? [] : [["/dev/outbox", "dev-outbox"]]),
  ]) {
    await tour(page, path, name);
  }
  await expect(page.locator("footer")).toContainText("Privacy");
});

test("the clinic's pages, with a Patient Profile in every link state", async ({ page }) => {
  test.setTimeout(120_000);
  await signInClinic(page);
  await tour(page, "/clinic/", "clinic-home");
  await tour(page, "/clinic/staff", "clinic-staff");
  await tour(page, "/clinic/audit", "clinic-audit");
  const list = await (await page.request.get("/api/clinic/patients")).json();
  const seen = new Set();
  for (const record of list.patients) {
    if (seen.has(record.link.status)) continue;
    seen.add(record.link.status);
    await tour(page, `/clinic/patient?id=${encodeURIComponent(record.patient_id)}`, `clinic-patient-${record.link.status}`);
  }
  expect([...seen]).toEqual(expect.arrayContaining(["linked", "pending", "not_linked", "sharing_stopped", "code_expired"]));
});

test("the patient's pages", async ({ page }) => {
  await page.goto("/personal/signin");
  await ready(page);
  await page.getByLabel("Username").fill(DEMO_PATIENT.username);
  await page.getByLabel("Password").fill(DEMO_PATIENT.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/personal\/$/);
  await tour(page, "/personal/", "personal-home");
  await tour(page, "/personal/sharing", "personal-sharing");
  await expect(page.locator("[data-zone-note]")).toContainText("Times are shown in your time zone");
});

test("the audit log narrows to one action, one patient and dates, and keeps the filters in the address", async ({ page }) => {
  await signInClinic(page);
  const list = await (await page.request.get("/api/clinic/patients?q=alex")).json();
  const alex = list.patients[0].patient_id;
  await page.goto(`/clinic/patient?id=${encodeURIComponent(alex)}`);
  await ready(page);
  await page.getByRole("link", { name: "See who viewed or changed this record" }).click();
  await ready(page);
  await expect(page.getByText("Showing one patient record.")).toBeVisible();
  const rows = page.locator("[data-events] tr");
  // Opening the profile is one line, its overview (health data shown) another.
  await expect(page.locator("[data-events]")).toContainText("Opened the Patient Profile of Alex Demo.");
  await expect(page.locator("[data-events]")).toContainText("Viewed the overview of Alex Demo");
  await expect(page.locator("[data-events]")).not.toContainText("Dana Demo opened");
  await page.getByLabel("What").selectOption({ label: "Linked to Personal" });
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Alex Demo");
  expect(new URL(page.url()).searchParams.get("action")).toBe("linked");
  await page.getByRole("button", { name: "Show every patient" }).click();
  await expect.poll(() => rows.count()).toBeGreaterThan(1);
  await page.getByLabel("From").fill("2020-01-02");
  await page.getByLabel("To").fill("2020-01-01");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await expect(page.locator("#to-error")).toHaveText("The end date is before the start date.");
  await page.getByLabel("To").fill("2020-01-03");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await expect(page.getByText("No events match these filters.")).toBeVisible();
  await expectAccessible(page);
});

test("on a phone the navigation is a menu that opens, moves focus and closes with Escape", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await signInClinic(page);
  await ready(page);
  const menu = page.getByRole("button", { name: "Menu" });
  const staffLink = page.getByRole("navigation", { name: "Clinic" }).getByRole("link", { name: "Staff and settings" });
  await expect(staffLink).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(staffLink).toBeVisible();
  await expect(page.getByRole("link", { name: "Patients", exact: true })).toBeFocused();
  await expect(page.getByRole("link", { name: "Patients", exact: true })).toHaveAttribute("aria-current", "page");
  await page.keyboard.press("Escape");
  await expect(staffLink).toBeHidden();
  await expect(menu).toBeFocused();
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(menu).toBeHidden();
  await expect(staffLink).toBeVisible();
});

test("sign-in works with the keyboard alone, and every problem of a form shows at once", async ({ page }) => {
  await page.goto("/clinic/signin");
  await ready(page);
  await page.getByLabel("Email").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("#email-error")).toHaveText("Enter email.");
  await expect(page.locator("#password-error")).toHaveText("Enter password.");
  await expect(page.getByRole("alert")).toContainText("2 fields need your attention");
  await expect(page.getByLabel("Email")).toBeFocused();
  await page.keyboard.type("not-an-address");
  await page.keyboard.press("Tab");
  await page.keyboard.type(DEMO_CLINIC.password);
  await page.keyboard.press("Enter");
  await expect(page.locator("#email-error")).toHaveText("Enter an email address like name@example.org.");
  await expect(page.locator("#password-error")).toBeEmpty();
  await page.getByLabel("Email").fill("");
  await page.keyboard.type(DEMO_CLINIC.email);
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Forgot password?" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/clinic\/$/);
});
