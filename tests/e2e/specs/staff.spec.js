// Clinic staff in the real website: an admin invites a colleague, who joins from the emailed link;
// the admin removes them and their session ends at once.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, registerClinic, screenshotBothWidths, OUTBOX } = require("./helpers");

test("an admin invites a clinician who joins from the email, then removes them", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  await registerClinic(admin, "Riverbank Clinic");
  await admin.getByRole("link", { name: "Staff and settings" }).click();
  await expect(admin.getByRole("heading", { name: "Staff and settings" })).toBeVisible();
  await expectAccessible(admin);
  const email = `${unique("colleague")}@clinic.example`;
  await admin.getByLabel("Colleague’s work email").fill(email);
  await admin.getByRole("button", { name: "Send invitation" }).click();
  await expect(admin.getByRole("status")).toHaveText(`An invitation was sent to ${email}.`);

  const colleague = await (await browser.newContext()).newPage();
  await colleague.goto(OUTBOX);
  await colleague.locator("article", { hasText: email }).getByRole("link", { name: /clinic\/join\?token=/ }).click();
  await expect(colleague.getByText("Riverbank Clinic")).toBeVisible();
  await expectAccessible(colleague);
  await colleague.getByLabel("Your name").fill("Quinn Colleague");
  await colleague.getByLabel("Choose a password").fill("harvest pillow signal 88");
  await colleague.getByRole("button", { name: "Join clinic" }).click();
  await expect(colleague.getByRole("heading", { level: 1 })).toHaveText("Riverbank Clinic");

  await admin.reload();
  admin.once("dialog", (dialog) => dialog.accept());
  await admin.getByRole("button", { name: "Remove Quinn Colleague" }).click();
  await expect(admin.getByRole("status")).toHaveText("Quinn Colleague was removed.");
  await colleague.reload();
  await expect(colleague).toHaveURL(/\/clinic\/signin\?next=/);
});

test("an admin sends a waiting invitation again or cancels it", async ({ page }) => {
  await registerClinic(page, "Invitation Clinic");
  await page.getByRole("link", { name: "Staff and settings" }).click();
  const first = `${unique("again")}@clinic.example`;
  const second = `${unique("cancel")}@clinic.example`;
  for (const email of [first, second]) {
    await page.getByLabel("Colleague’s work email").fill(email);
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page.getByRole("status")).toHaveText(`An invitation was sent to ${email}.`);
  }
  await page.getByRole("button", { name: `Send the invitation to ${first} again` }).click();
  await expect(page.getByRole("status")).toHaveText(`A new invitation was sent to ${first}; the earlier link no longer works.`);
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: `Cancel the invitation to ${second}` }).click();
  await expect(page.getByRole("status")).toHaveText(`The invitation to ${second} was cancelled.`);
  await expect(page.locator("[data-invitations] li")).toHaveCount(1);
  await screenshotBothWidths(page, "clinic-staff-invitations");
});
