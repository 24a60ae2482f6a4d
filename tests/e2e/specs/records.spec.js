// Patient records in the real website: a second record with the same name and date of birth asks
// first, since two records of one person would split their data and their link.
const { test, expect } = require("@playwright/test");
const { registerClinic, addPatient, ready, screenshotBothWidths, expectAccessible } = require("./helpers");

test("adding a record with the name and date of birth of another asks whether it is the same person", async ({ page }) => {
  await registerClinic(page, "Twin Check Clinic");
  await addPatient(page, "Kim Twin", "1980-01-01");
  await page.goto("/clinic/");
  await ready(page);
  await page.getByLabel("Name", { exact: true }).fill("kim twin");
  await page.getByLabel("Date of birth", { exact: true }).fill("1980-01-01");
  await page.getByRole("button", { name: "Add patient" }).click();
  const form = page.locator("[data-add-patient]");
  await expect(form.getByRole("alert").first()).toContainText("The clinic already has a record with this name and date of birth: Kim Twin (no MRN)");
  await screenshotBothWidths(page, "clinic-possible-duplicate");
  await form.getByLabel("It is a different person: add this record anyway").check();
  await page.getByRole("button", { name: "Add patient" }).click();
  await expect(page.getByRole("heading", { name: "Patient Profile" })).toBeVisible();
});

test("a record made by mistake is deleted from its Patient Profile", async ({ page }) => {
  await registerClinic(page, "Tidy Clinic");
  await addPatient(page, "Mistaken Record", "1999-09-09");
  await page.getByText("Correct this record’s details").click();
  await screenshotBothWidths(page, "clinic-patient-delete");
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Delete this record" }).click();
  await expect(page).toHaveURL(/\/clinic\/$/);
  await ready(page);
  await expect(page.getByText("Mistaken Record")).toHaveCount(0);
});

test("a record of a patient who left is archived, listed under Archived records, and restored", async ({ page }) => {
  await registerClinic(page, "Archive Clinic");
  await addPatient(page, "Moved Away", "1970-05-05");
  await page.getByText("Correct this record’s details").click();
  await page.getByRole("button", { name: "Archive this record" }).click();
  await expect(page.getByRole("heading", { name: "This record is archived" })).toBeFocused();
  await expect(page.locator("[data-archived-text]")).toContainText("cannot be linked until you restore it");
  await expect(page.getByRole("heading", { name: "Link to Personal" })).toBeHidden();
  await expectAccessible(page);
  await screenshotBothWidths(page, "clinic-patient-archived");

  // Out of the list; under "Archived records", marked.
  await page.getByRole("link", { name: "← All patients" }).click();
  await ready(page);
  await expect(page.getByRole("link", { name: "Moved Away" })).toHaveCount(0);
  await page.getByLabel("Show").selectOption("archived");
  await expect(page.getByRole("link", { name: "Moved Away" })).toBeVisible();
  await expect(page.locator("tr", { hasText: "Moved Away" }).locator(".badge.archived")).toHaveText("Archived");
  await expect(page).toHaveURL(/archived=true/);
  await screenshotBothWidths(page, "clinic-list-archived");

  // Restored: back in the list, and it can be linked again.
  await page.getByRole("link", { name: "Moved Away" }).click();
  await ready(page);
  await page.getByRole("button", { name: "Restore this record" }).click();
  await expect(page.locator("[data-page-status]")).toContainText("back in the patient list");
  await expect(page.getByRole("heading", { name: "This record is archived" })).toBeHidden();
  await page.getByRole("link", { name: "← All patients" }).click();
  await ready(page);
  await expect(page.getByRole("link", { name: "Moved Away" })).toBeVisible();
});
