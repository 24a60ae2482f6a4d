// The seed's flow in the real website: a clinic links a patient record to the patient's personal
// account with a unique code or with the patient's credentials, and the patient revokes it.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, registerClinic, fillPersonalSignUp, addPatient, PERSON_PASSWORD, OUTBOX } = require("./helpers");

test("a unique code links the record once the patient accepts on the Data Sharing page", async ({ browser }) => {
  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic);
  await addPatient(clinic, "Morgan Sample", "1979-03-08");
  await expect(clinic.locator("dd", { hasText: "Not linked" })).toBeVisible();
  await expect(clinic.getByRole("heading", { name: "Link to Personal" })).toBeVisible();
  await expectAccessible(clinic);
  await clinic.getByRole("button", { name: "Generate a unique code" }).click();
  await expect(clinic.locator(".code")).toHaveText(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  const code = (await clinic.locator(".code").textContent()).trim();
  // The new code is announced, and focus rests on the announcement.
  await expect(clinic.locator("[data-code-status]")).toContainText(`Code ${code}, valid until`);
  await expect(clinic.locator("[data-code-status]")).toBeFocused();
  await expect(clinic.locator("dd", { hasText: "Pending code" })).toBeVisible();
  await expect(clinic.getByRole("button", { name: "Generate a unique code" })).toBeHidden();
  const email = `${unique("patient")}@example.net`;
  await clinic.getByLabel("Patient’s email").fill(email);
  await clinic.getByRole("button", { name: "Send by Email" }).click();
  // The confirmation stands beside the button that was used.
  await expect(clinic.locator("[data-send=email]").getByRole("status")).toHaveText(`The code was sent by Email to ${email}.`);
  await expect(clinic.locator(".code")).toHaveText(code);
  // After a reload the pending code is still there to share or print again.
  await clinic.reload();
  await expect(clinic.locator(".code")).toHaveText(code);
  await expect(clinic.getByText(/Sent to .\*\*\*@example\.net\./)).toBeVisible();

  // The patient opens the email (the local outbox) and follows its link while signed out, has no
  // account yet, signs up and comes back to the request.
  const patient = await (await browser.newContext()).newPage();
  await patient.goto(OUTBOX);
  const message = patient.locator("article", { hasText: email });
  await expect(message).toContainText(code);
  await message.getByRole("link", { name: /personal\/sharing\?code=/ }).click();
  await expect(patient).toHaveURL(/\/personal\/signin\?next=/);
  await patient.getByRole("link", { name: "Create a personal account" }).click();
  await fillPersonalSignUp(patient, unique("pat"));
  await expect(patient.getByRole("heading", { name: "Data Sharing" })).toBeVisible();
  await expect(patient.getByRole("heading", { name: "Lakeside Diabetes Service asks to see your data" })).toBeVisible();
  await expectAccessible(patient);
  await patient.getByRole("button", { name: "Accept", exact: true }).click();
  await expect(patient.getByRole("status")).toHaveText("You now share your data with Lakeside Diabetes Service.");
  await expect(patient.getByRole("status")).toBeFocused();
  await expect(patient.getByRole("button", { name: "Stop sharing with Lakeside Diabetes Service" })).toBeVisible();
  await expect(patient.getByText("Their record: Morgan Sample, born Mar 8, 1979")).toBeVisible();

  await clinic.reload();
  await expect(clinic.locator("dd", { hasText: "Linked" })).toBeVisible();
  await expect(clinic.getByRole("heading", { name: "Linked personal account" })).toBeVisible();
  await expect(clinic.getByText("No data yet.")).toBeVisible();
  await clinic.getByRole("link", { name: "All patients" }).click();
  await expect(clinic.getByRole("row", { name: /Morgan Sample/ })).toContainText("Linked");
});

test("the clinic prints the code and asks a linked patient to Upload now", async ({ browser }) => {
  const username = unique("print");
  const patient = await (await browser.newContext()).newPage();
  await patient.goto("/personal/signup");
  await fillPersonalSignUp(patient, username, "Avery Print", "1970-02-02");
  await expect(patient.getByRole("heading", { name: /Hello/ })).toBeVisible();

  const context = await browser.newContext();
  const clinic = await context.newPage();
  await registerClinic(clinic, "Printers Row Clinic");
  await addPatient(clinic, "Avery Print", "1970-02-02");
  await clinic.getByRole("button", { name: "Generate a unique code" }).click();
  await expect(clinic.locator(".code")).toHaveText(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  const code = (await clinic.locator(".code").textContent()).trim();
  const [printed] = await Promise.all([context.waitForEvent("page"), clinic.getByRole("link", { name: "Print" }).click()]);
  await printed.waitForLoadState();
  await expect(printed.locator(".code-large")).toHaveText(code);
  await expect(printed.getByRole("img", { name: /QR code/ })).toBeVisible();
  await expect(printed.getByText("adjunct")).toBeVisible();
  await expectAccessible(printed);

  await patient.goto(`/personal/sharing?code=${code}`);
  await patient.getByRole("button", { name: "Accept", exact: true }).click();
  await expect(patient.getByRole("status")).toHaveText("You now share your data with Printers Row Clinic.");

  await clinic.reload();
  await expect(clinic.getByText("No data yet.")).toBeVisible();
  await clinic.getByLabel("Send to (optional)").fill(`${username}@example.net`);
  await clinic.getByRole("button", { name: "Ask to Upload now" }).click();
  await expect(clinic.locator("[data-page-status]")).toHaveText("The patient was asked to Upload now.");
  await expect(clinic.getByText(/Last asked .* by Email\./)).toBeVisible();
  await expectAccessible(clinic);
  await patient.goto(OUTBOX);
  await expect(patient.locator("article", { hasText: `${username}@example.net` }).filter({ hasText: "Upload now" })).toHaveCount(1);
});

test("a wrong code is explained and the patient can type the code by hand", async ({ page }) => {
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, unique("typo"));
  await expect(page.getByRole("heading", { name: /Hello/ })).toBeVisible();
  await page.getByRole("link", { name: "Data Sharing" }).first().click();
  await page.getByLabel("Unique code").fill("zzzzz zzzzz");
  await page.getByRole("button", { name: "Review request" }).click();
  await expect(page.locator("#code-error")).toContainText("We do not recognise this code");
});

test("the patient's credentials on the clinic's screen link the record; the patient then revokes it", async ({ browser }) => {
  const username = unique("cred");
  const patient = await (await browser.newContext()).newPage();
  await patient.goto("/personal/signup");
  await fillPersonalSignUp(patient, username, "Riley Credential", "1983-09-09");
  await expect(patient.getByRole("heading", { name: /Hello/ })).toBeVisible();

  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Hillside Clinic");
  await addPatient(clinic, "Riley Credential", "1983-09-09");
  // The code path leads; the credentials path is a hand-off to the patient, in their words.
  await clinic.getByRole("button", { name: "The patient is here with me" }).click();
  const handoff = clinic.getByRole("dialog", { name: "Share your diabetes data with Hillside Clinic" });
  await expect(handoff).toBeVisible();
  await expect(handoff).toContainText("its record of Riley Credential, born Sep 9, 1983");
  await expectAccessible(clinic);
  await handoff.getByLabel("Your glucolink username").fill(username);
  await handoff.getByLabel("Your password").fill(PERSON_PASSWORD);
  await handoff.getByRole("button", { name: "Accept and share my data" }).click();
  await expect(clinic.locator("#consent-error")).toContainText("must confirm");
  await handoff.getByLabel("I agree to share my data with Hillside Clinic").check();
  await handoff.getByRole("button", { name: "Accept and share my data" }).click();
  await expect(handoff).toBeHidden();
  await expect(clinic.getByRole("heading", { name: "Linked personal account" })).toBeVisible();
  await expect(clinic.getByRole("heading", { name: "Linked personal account" })).toBeFocused();
  await expect(clinic.locator("dd", { hasText: username })).toBeVisible();

  await patient.goto("/personal/sharing");
  patient.once("dialog", (dialog) => dialog.accept());
  await patient.getByRole("button", { name: "Stop sharing with Hillside Clinic" }).click();
  await expect(patient.getByRole("status")).toHaveText("You no longer share your data with Hillside Clinic.");
  await expect(patient.getByText("You do not share your data with any clinic.")).toBeVisible();

  await clinic.reload();
  await expect(clinic.locator("dd", { hasText: "Sharing stopped" })).toBeVisible();
  await expect(clinic.getByText(/Riley Credential stopped sharing their data on .*Send a new code only if the patient asks/)).toBeVisible();
  await patient.goto("/personal/");
  await expect(patient.getByText("Riley Credential stopped sharing their data with Hillside Clinic.")).toBeVisible();
});
