// A patient's data rights in the real website: "Download all my data" from the account page.
const fs = require("node:fs");
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, fillPersonalSignUp, ready, screenshotBothWidths } = require("./helpers");

test("a patient downloads all their data as JSON and CSV", async ({ page }) => {
  const username = unique("mydata");
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, username, "Dana Download");
  await expect(page).toHaveURL(/\/personal\/$/);
  await page.getByRole("link", { name: "Account security" }).click();
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
