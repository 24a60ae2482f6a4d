// Linking safety in the real website: the identity check before a link, the hand-off to the patient
// (keyboard only), every link state in words with its next step, the pending code kept across reloads,
// and the patient's side of a mismatch. Screenshots of the pages touched, at desktop and phone widths.
const { test, expect } = require("@playwright/test");
const { screenshotBothWidths, unique, expectAccessible, registerClinic, fillPersonalSignUp, addPatient, PERSON_PASSWORD } = require("./helpers");

const screens = screenshotBothWidths;

/** Clicks Generate a unique code and answers the code once it is on screen. */
async function generateCode(clinic) {
  await clinic.getByRole("button", { name: "Generate a unique code" }).click();
  await expect(clinic.locator(".code")).toHaveText(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  return (await clinic.locator(".code").textContent()).trim();
}

async function newPatientAccount(browser, name, dateOfBirth) {
  const username = unique("acct");
  const page = await (await browser.newContext()).newPage();
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, username, name, dateOfBirth);
  await expect(page.getByRole("heading", { name: /Hello/ })).toBeVisible();
  return { page, username };
}

test("the wrong record is refused, linked only with a reason, flagged until staff correct it", async ({ browser }) => {
  test.setTimeout(90_000);
  const { username } = await newPatientAccount(browser, "Daniel Hart", "1978-05-20");
  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Eastside Clinic");
  // Staff opened the wrong row: a teenager's record.
  await addPatient(clinic, "Emily Hart", "2009-05-20");
  await clinic.getByRole("button", { name: "The patient is here with me" }).click();
  const handoff = clinic.getByRole("dialog");
  await handoff.getByLabel("Your glucolink username").fill(username);
  await handoff.getByLabel("Your password").fill(PERSON_PASSWORD);
  await handoff.getByLabel("I agree to share my data with Eastside Clinic").check();
  await handoff.getByRole("button", { name: "Accept and share my data" }).click();
  await expect(handoff.getByRole("heading", { name: "Please hand the screen back to the clinic staff" })).toBeFocused();
  await expect(handoff).toContainText("May 20, 2009");
  await expect(handoff).toContainText("20 May 1978");
  await screens(clinic, "link-identity-mismatch-handoff");
  await handoff.getByRole("button", { name: "Link anyway" }).click();
  await expect(clinic.locator("#reason-error")).toContainText("Say why");
  // Nothing was linked while staff decided.
  await handoff.getByRole("button", { name: "Do not link" }).click();
  await expect(clinic.locator("dd", { hasText: "Not linked" })).toBeVisible();

  // Confirming with a reason links, and the record is flagged everywhere staff look.
  await clinic.getByRole("button", { name: "The patient is here with me" }).click();
  await handoff.getByLabel("Your glucolink username").fill(username);
  await handoff.getByLabel("Your password").fill(PERSON_PASSWORD);
  await handoff.getByLabel("I agree to share my data with Eastside Clinic").check();
  await handoff.getByRole("button", { name: "Accept and share my data" }).click();
  await handoff.getByLabel("Why is this the patient’s own account?").fill("Our record has the wrong year");
  await handoff.getByRole("button", { name: "Link anyway" }).click();
  await expect(handoff).toBeHidden();
  const flag = clinic.getByRole("region", { name: /Check identity/ });
  await expect(flag).toBeVisible();
  await expect(flag).toContainText("differ from this record");
  await expectAccessible(clinic);
  await screens(clinic, "profile-check-identity");
  await clinic.getByRole("link", { name: "All patients" }).click();
  await expect(clinic.getByRole("row", { name: /Emily Hart/ })).toContainText("Check identity");

  // Staff correct the record: the flag goes.
  await clinic.getByRole("link", { name: "Emily Hart" }).click();
  await clinic.getByRole("button", { name: "Correct the record" }).click();
  await expect(clinic.getByLabel("Name", { exact: true })).toBeFocused();
  await clinic.getByLabel("Name", { exact: true }).fill("Daniel Hart");
  await clinic.getByLabel("Date of birth", { exact: true }).first().fill("1978-05-20");
  await clinic.getByRole("button", { name: "Save details" }).click();
  await expect(clinic.locator("[data-correct-form]").getByRole("status")).toHaveText("Saved.");
  await expect(flag).toBeHidden();
  await expect(clinic.getByRole("heading", { name: "Daniel Hart" })).toBeVisible();
});

test("the patient links at the clinic's screen with the keyboard alone", async ({ browser }) => {
  const { username } = await newPatientAccount(browser, "Kim Keys", "1990-01-31");
  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Keyboard Clinic");
  await addPatient(clinic, "Kim Keys", "1990-01-31");
  await clinic.getByRole("button", { name: "The patient is here with me" }).focus();
  await clinic.keyboard.press("Enter");
  await expect(clinic.getByLabel("Your glucolink username")).toBeFocused();
  await clinic.keyboard.type(username);
  await clinic.keyboard.press("Tab");
  await clinic.keyboard.type(PERSON_PASSWORD);
  await clinic.keyboard.press("Tab");
  await expect(clinic.getByRole("dialog").getByRole("link", { name: "Forgot password?" })).toBeFocused();
  await clinic.keyboard.press("Tab");
  await clinic.keyboard.press("Space");
  await clinic.keyboard.press("Tab");
  await clinic.keyboard.press("Enter");
  await expect(clinic.getByRole("heading", { name: "Linked personal account" })).toBeFocused();
  await expect(clinic.locator("[data-page-status]")).toHaveText("Linked to the personal account of Kim Keys.");
});

test("a declined request and an unlinked record say who, when and what to do next", async ({ browser }) => {
  test.setTimeout(90_000);
  const { page: patient, username } = await newPatientAccount(browser, "Dee Clines", "1985-07-07");
  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Westgate Clinic");
  await addPatient(clinic, "Dee Clines", "1985-07-07");
  const code = await generateCode(clinic);
  await patient.goto(`/personal/sharing?code=${code}`);
  await patient.getByRole("button", { name: "Decline" }).first().click();
  await expect(patient.getByRole("status")).toHaveText("You declined the request of Westgate Clinic.");
  await clinic.reload();
  await expect(clinic.locator("dd", { hasText: "Code declined" })).toBeVisible();
  await expect(clinic.getByText(/Dee Clines declined the request on .*Talk with the patient/)).toBeVisible();
  await screens(clinic, "profile-code-declined");

  // The list filters by state.
  await clinic.getByRole("link", { name: "All patients" }).click();
  await addPatient(clinic, "Other Person", "1970-01-01");
  await clinic.getByRole("link", { name: "All patients" }).click();
  await clinic.getByLabel("Show").selectOption("code_declined");
  await expect(clinic.getByRole("row", { name: /Dee Clines/ })).toBeVisible();
  await expect(clinic.getByRole("row", { name: /Other Person/ })).toHaveCount(0);
  await expectAccessible(clinic);
  await screens(clinic, "patients-filtered");

  // A new code, accepted; then the clinic unlinks.
  await clinic.getByRole("link", { name: "Dee Clines" }).click();
  const second = await generateCode(clinic);
  await patient.goto(`/personal/sharing?code=${second}`);
  await patient.getByRole("button", { name: "Accept", exact: true }).click();
  await expect(patient.getByText("Their record: Dee Clines, born Jul 7, 1985")).toBeVisible();
  await clinic.reload();
  clinic.once("dialog", (dialog) => dialog.accept());
  await clinic.locator("[data-when=linked] [data-unlink]").click();
  await expect(clinic.locator("dd", { hasText: "Unlinked" })).toBeVisible();
  await expect(clinic.getByRole("heading", { name: /Unlinked/ })).toBeFocused();
  await expect(clinic.getByText(/Robin Tester unlinked this record on/)).toBeVisible();
  void username;
});

test("a second code needs Replace, which warns; the old one stops working; Cancel ends it", async ({ browser }) => {
  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Replace Clinic");
  await addPatient(clinic, "Rae Place", "1961-11-11");
  const first = await generateCode(clinic);
  await screens(clinic, "profile-pending-code");
  clinic.once("dialog", (dialog) => dialog.dismiss());
  await clinic.getByRole("button", { name: "Replace with a new code" }).click();
  await expect(clinic.locator(".code")).toHaveText(first);
  clinic.once("dialog", (dialog) => dialog.accept());
  await clinic.getByRole("button", { name: "Replace with a new code" }).click();
  await expect(clinic.locator("[data-code-status]")).toContainText("The earlier code no longer works.");
  await expect(clinic.locator(".code")).not.toHaveText(first);

  const { page: patient } = await newPatientAccount(browser, "Rae Place", "1961-11-11");
  await patient.goto(`/personal/sharing?code=${first}`);
  await expect(patient.locator("#code-error")).toContainText("replaced by a newer one");

  // Cancelling leaves the record ready for a new code, and says so where the button was.
  const second = (await clinic.locator(".code").textContent()).trim();
  clinic.once("dialog", (dialog) => dialog.accept());
  await clinic.getByRole("button", { name: "Cancel code" }).click();
  await expect(clinic.locator("[data-code-status]")).toHaveText("The code was cancelled.");
  await expect(clinic.locator("[data-code-status]")).toBeFocused();
  await expect(clinic.getByRole("heading", { name: /Not linked yet/ })).toBeVisible();
  await expect(clinic.getByRole("button", { name: "Generate a unique code" })).toBeVisible();
  await patient.goto(`/personal/sharing?code=${second}`);
  await expect(patient.locator("#code-error")).toContainText("cancelled");
});

test("the patient is asked before accepting a record with another date of birth", async ({ browser }) => {
  const { page: patient } = await newPatientAccount(browser, "Sam Near", "1992-02-02");
  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Nearby Clinic");
  await addPatient(clinic, "Sam Near", "1992-02-20");
  const code = await generateCode(clinic);
  await patient.goto(`/personal/sharing?code=${code}`);
  await expect(patient.getByText("Is this request for you?")).toBeVisible();
  await expect(patient.getByRole("button", { name: "This is me — accept anyway" })).toBeVisible();
  await expectAccessible(patient);
  await screens(patient, "sharing-mismatch-request");
  await patient.getByRole("button", { name: "This is me — accept anyway" }).click();
  await expect(patient.getByRole("status")).toHaveText("You now share your data with Nearby Clinic.");
  await expect(patient.getByText(/on this record differs from your account/)).toBeVisible();
  await screens(patient, "sharing-linked-record");
  await clinic.reload();
  await expect(clinic.getByRole("region", { name: /Check identity/ })).toBeVisible();
});
