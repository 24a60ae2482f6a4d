// A patient's data rights in the real website: "Download all my data" and "Delete my account".
const fs = require("node:fs");
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, fillPersonalSignUp, ready, screenshotBothWidths, PERSON_PASSWORD } = require("./helpers");

test("a patient downloads all their data as JSON and CSV", async ({ page }) => {
  const username = unique("mydata");
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, username, "Dana Download");
  await expect(page).toHaveURL(/\/personal\/$/);
  await page.getByRole("navigation").getByRole("link", { name: "Account security" }).click();
  await ready(page);
  await expect(page.getByRole("heading", { name: "Your data" })).toBeVisible();
  await expectAccessible(page);
  await screenshotBothWidths(page, "personal-account");
  const [json] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download all my data (JSON)" }).click(),
  ]);
  expect(json.suggestedFilename()).toMatch(/^glucolink-all-my-data-\d{4}-\d{2}-\d{2}\.json$/);
  const body = JSON.parse(fs.readFileSync(await json.path(), "utf8"));
  expect(body.account.username).toBe(username);
  expect(body.account.name).toBe("Dana Download");
  expect(body.events).toEqual([]);
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download readings and treatments (CSV)" }).click(),
  ]);
  expect(fs.readFileSync(await csv.path(), "utf8")).toMatch(/^time_utc,time_local,device,type/);
});

test("a patient deletes their account after confirming, and it no longer signs in", async ({ page }) => {
  const username = unique("leaving");
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, username, "Lee Leaving");
  await expect(page).toHaveURL(/\/personal\/$/);
  await page.goto("/personal/security");
  await ready(page);
  const section = page.locator("[data-delete-section]");
  await section.getByLabel("Your password").fill("not the password at all");
  await section.getByRole("button", { name: "Delete my account" }).click();
  await expect(section.locator("#delete-confirm-error")).toHaveText("Tick this box to go on.");
  await section.getByLabel("I understand my account and data will be deleted for good").check();
  await section.getByRole("button", { name: "Delete my account" }).click();
  await expect(section.locator("#delete-password-error")).toContainText("That is not your password");
  await section.getByLabel("Your password").fill(PERSON_PASSWORD);
  await section.getByRole("button", { name: "Delete my account" }).click();
  await expect(page.getByRole("heading", { name: "Your account is deleted" })).toBeFocused();
  await expectAccessible(page);
  await screenshotBothWidths(page, "personal-account-deleted");
  await page.goto("/personal/signin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PERSON_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").first()).toContainText("do not match an account");
});
