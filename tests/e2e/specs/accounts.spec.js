// Sign-up, sign-in and sign-out through the real pages, for clinics and for patients.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, verifyClinicFromEmail } = require("./helpers");

const CLINIC_PASSWORD = "meadow copper falcon 73";
const PERSON_PASSWORD = "saffron tide lantern 29";

test("a clinic registers, sees its home page, signs out and signs back in", async ({ page }) => {
  const email = `${unique("staff")}@clinic.example`;
  await page.goto("/");
  await expectAccessible(page);
  await page.getByRole("link", { name: "Register a clinic" }).click();
  await expect(page.getByRole("heading", { name: "Register a clinic" })).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel("Clinic name").fill("Lakeside Diabetes Service");
  await page.getByLabel("Your name").fill("Robin Tester");
  await page.getByLabel("Your work email").fill(email);
  await page.getByLabel("Password").fill(CLINIC_PASSWORD);
  await page.getByRole("button", { name: "Register clinic" }).click();

  await expect(page).toHaveURL(/\/clinic\/$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Lakeside Diabetes Service");
  await expect(page.getByRole("heading", { name: "Verify your clinic's email" })).toBeVisible();
  await verifyClinicFromEmail(page, email);
  await page.getByRole("link", { name: "Go to your patients" }).click();
  await expect(page.getByRole("heading", { name: "Patients" })).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/clinic\/signin$/);
  await page.goto("/clinic/");
  await expect(page).toHaveURL(/\/clinic\/signin\?next=/);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(CLINIC_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/clinic\/$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Lakeside Diabetes Service");
});

test("a wrong password shows one clear message and keeps the person on the sign-in page", async ({ page }) => {
  await page.goto("/clinic/signin");
  await expectAccessible(page);
  await page.getByLabel("Email").fill(`${unique("nobody")}@clinic.example`);
  await page.getByLabel("Password").fill("definitely not right");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("The email or username and password do not match an account.");
  await expect(page).toHaveURL(/\/clinic\/signin$/);
});

test("a patient creates a personal account, sees it, signs out and signs in", async ({ page }) => {
  const username = unique("pat");
  await page.goto("/");
  await page.getByRole("link", { name: "Create a personal account" }).click();
  await expectAccessible(page);
  await page.getByLabel("Your name").fill("Morgan Sample");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PERSON_PASSWORD);
  await page.getByLabel("Date of birth (optional)").fill("1979-03-08");
  await page.getByLabel("Email", { exact: true }).fill(`${username}@example.net`);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/personal\/$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Hello, Morgan Sample");
  await expect(page.getByText("Mar 8, 1979")).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/personal\/signin$/);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PERSON_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/personal\/$/);
});

test("a weak password is explained beside the password field", async ({ page }) => {
  await page.goto("/personal/signup");
  await page.getByLabel("Your name").fill("Weak Example");
  await page.getByLabel("Username").fill(unique("weak"));
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  const password = page.getByLabel("Password");
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#password-error")).toContainText("at least 15 characters");
});

test("the demo logins printed at start-up work", async ({ page }) => {
  await page.goto("/clinic/signin");
  await page.getByLabel("Email").fill("demo.clinic@example.org");
  await page.getByLabel("Password").fill("lantern orchard violet 42");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Riverside Diabetes Clinic");
  // The demo shows a record in each of the seed's states.
  await expect(page.getByRole("row", { name: /Alex Demo/ })).toContainText("Linked");
  await expect(page.getByRole("row", { name: /Sam Pending/ })).toContainText("Pending code");
  await expect(page.getByRole("row", { name: /Robin Notlinked/ })).toContainText("Not linked");
  await expect(page.getByRole("row", { name: /Priya Stopped/ })).toContainText("Sharing stopped");
  await expect(page.getByRole("row", { name: /Casey Lapsed/ })).toContainText("Code expired");
  await expect(page.getByRole("row", { name: /Alex Demo/ })).toContainText("Recent data");
  await expect(page.getByRole("row", { name: /Morgan Olddata/ })).toContainText("Old data");
  await expectAccessible(page);
  await page.getByRole("link", { name: "Casey Lapsed" }).click();
  await expect(page.getByText(/The code expired on .* without an answer\. Generate a unique code and send the new one\./)).toBeVisible();
  await expect(page.getByRole("button", { name: "Generate a unique code" })).toBeVisible();
});
