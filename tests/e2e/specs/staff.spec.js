// Clinic staff in the real website: an admin invites a colleague, who joins from the emailed link;
// the admin removes them and their session ends at once; someone already on another clinic's staff
// accepts with their login and switches between the clinics in the header.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, registerClinic, screenshotBothWidths, ready, OUTBOX, CLINIC_PASSWORD } = require("./helpers");

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

test("someone on the staff of two clinics accepts with their login and switches between clinics", async ({ browser }) => {
  const north = await (await browser.newContext()).newPage();
  const email = await registerClinic(north, "Northgate Clinic");
  await ready(north);
  await expect(north.locator("header [data-clinic-switch]")).toHaveText("Northgate Clinic");

  // Another clinic invites the same address.
  const south = await (await browser.newContext()).newPage();
  await registerClinic(south, "Southbank Clinic");
  await south.getByRole("link", { name: "Staff and settings" }).click();
  await south.getByLabel("Colleague’s work email").fill(email);
  await south.getByRole("button", { name: "Send invitation" }).click();
  await expect(south.getByRole("status")).toHaveText(`An invitation was sent to ${email}.`);

  // Not signed in, the link asks for a sign-in first and comes back.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(OUTBOX);
  const invitation = visitor.locator("article", { hasText: "Southbank Clinic" }).filter({ hasText: email });
  const link = await invitation.getByRole("link", { name: /clinic\/join\?token=/ }).first().getAttribute("href");
  await visitor.goto(link);
  await expect(visitor.getByText("This address already signs in to glucolink.")).toBeVisible();
  await expect(visitor.getByLabel("Choose a password")).toBeHidden();
  await screenshotBothWidths(visitor, "clinic-join-existing-login");
  await visitor.getByRole("link", { name: "Sign in to accept" }).click();
  await visitor.getByLabel("Email").fill(email);
  await visitor.getByLabel("Password").fill(CLINIC_PASSWORD);
  await visitor.getByRole("button", { name: "Sign in" }).click();
  await expect(visitor).toHaveURL(/\/clinic\/join\?token=/);
  await visitor.getByRole("button", { name: "Join Southbank Clinic" }).click();

  // The session moved to the new clinic, where they are a clinician; the header switches back.
  await expect(visitor.getByRole("heading", { name: "Patients" })).toBeVisible();
  await ready(visitor);
  const switcher = visitor.getByRole("combobox", { name: /Clinic: switch/ });
  await expect(switcher.locator("option:checked")).toHaveText("Southbank Clinic");
  await expect(visitor.getByRole("link", { name: "Audit log" })).toBeHidden();
  await expectAccessible(visitor);
  await screenshotBothWidths(visitor, "clinic-switcher");
  await switcher.selectOption({ label: "Northgate Clinic (admin)" });
  await expect(visitor.getByRole("combobox", { name: /Clinic: switch/ }).locator("option:checked")).toHaveText("Northgate Clinic (admin)");
  await ready(visitor);
  await expect(visitor.getByRole("link", { name: "Audit log" })).toBeVisible();
  // One login for both: Account security says so.
  await visitor.getByRole("navigation").getByRole("link", { name: "Account security" }).click();
  await expect(visitor.getByText("You sign in to Northgate Clinic and Southbank Clinic with this one login")).toBeVisible();
});
