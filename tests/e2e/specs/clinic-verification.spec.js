// A new clinic in the real website: until its admin follows the emailed link, its pages say so and
// offer to send the link again; afterwards it works with patients, and patients see how it was verified.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, ready, screenshotBothWidths, verifyClinicFromEmail, CLINIC_PASSWORD, OUTBOX } = require("./helpers");

test("a new clinic verifies its email before it works with patients", async ({ page }) => {
  const email = `${unique("verify")}@northgate.example`;
  await page.goto("/clinic/signup");
  await page.getByLabel("Clinic name").fill("Northgate Diabetes Centre");
  await page.getByLabel("Your name").fill("Sam Rivera");
  await page.getByLabel("Your work email").fill(email);
  await page.getByLabel("Password").fill(CLINIC_PASSWORD);
  await page.getByRole("button", { name: "Register clinic" }).click();

  const banner = page.locator("[data-verify-banner]");
  await expect(banner.getByRole("heading", { name: "Verify your clinic's email" })).toBeVisible();
  await expect(banner).toContainText(`We emailed a link to ${email}`);
  await expect(page.getByRole("heading", { name: "Patients" })).toBeHidden();
  await ready(page);
  await expectAccessible(page);
  await screenshotBothWidths(page, "clinic-unverified");
  await banner.getByRole("button", { name: "Send the link again" }).click();
  await expect(banner.getByRole("status")).toHaveText(`We sent a new link to ${email}. It works for 7 days.`);

  // A wrong token is explained, with the way to a new link.
  await page.goto("/verify?token=not-a-real-token");
  await expect(page.getByRole("alert").first()).toContainText("This verification link has expired or does not exist");
  await expectAccessible(page);

  await verifyClinicFromEmail(page, email);
  await expect(page).toHaveURL(/\/verify$/);
  await expectAccessible(page);
  await screenshotBothWidths(page, "clinic-verified");
  await page.getByRole("link", { name: "Go to your patients" }).click();
  await expect(page.getByRole("heading", { name: "Patients" })).toBeVisible();
  await expect(page.locator("[data-verify-banner]")).toHaveCount(0);
});
