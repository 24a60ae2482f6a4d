// "Forgot password?" in the real website: a clinic user and a patient each ask for a link, follow it
// from the outbox, choose a new password, and every earlier session has ended.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, registerClinic, fillPersonalSignUp, ready, screenshotBothWidths, OUTBOX, confirmRecoveryEmail, PERSON_PASSWORD } = require("./helpers");

const NEW_PASSWORD = "lighthouse gravel tulip 64";

/** Opens the newest reset link sent to `recipient` from the outbox. */
async function followResetLink(page, recipient) {
  await page.goto(OUTBOX);
  await page.locator("article", { hasText: recipient }).first().getByRole("link", { name: /\/reset\?token=/ }).first().click();
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await ready(page);
}

test("a clinic user who forgot their password chooses a new one from the emailed link", async ({ browser }) => {
  const atWork = await (await browser.newContext()).newPage();
  const email = await registerClinic(atWork, "Harbourside Clinic");

  const atHome = await (await browser.newContext()).newPage();
  await atHome.goto("/clinic/signin");
  await atHome.getByRole("link", { name: "Forgot password?" }).click();
  await expect(atHome.getByRole("heading", { name: "Forgot your password?" })).toBeVisible();
  await ready(atHome);
  await expectAccessible(atHome);
  await screenshotBothWidths(atHome, "clinic-forgot");
  // A mistyped address is explained beside the field before anything is sent.
  await atHome.getByLabel("Email").fill("not an address");
  await atHome.getByRole("button", { name: "Send me a link" }).click();
  await expect(atHome.locator("#email-error")).toHaveText("Enter an email address like name@example.org.");
  await atHome.getByLabel("Email").fill(email);
  await atHome.getByRole("button", { name: "Send me a link" }).click();
  await expect(atHome.getByRole("status")).toContainText("If an account matches, a link to choose a new password is on its way");
  await screenshotBothWidths(atHome, "clinic-forgot-sent");

  await followResetLink(atHome, email);
  await expect(atHome).toHaveURL(/\/reset$/); // the token leaves the address bar once read
  await expectAccessible(atHome);
  await screenshotBothWidths(atHome, "reset-password");
  await atHome.getByLabel("New password").fill("short");
  await atHome.getByRole("button", { name: "Save new password" }).click();
  await expect(atHome.locator("#password-error")).toContainText("15 characters");
  await atHome.getByLabel("New password").fill(NEW_PASSWORD);
  await atHome.getByRole("button", { name: "Save new password" }).click();
  await expect(atHome.getByRole("status")).toHaveText("Your password is changed, and every device is signed out. Sign in with your new password.");
  await screenshotBothWidths(atHome, "reset-password-done");

  // The session at work has ended.
  await atWork.reload();
  await expect(atWork).toHaveURL(/\/clinic\/signin/);
  await atHome.locator("[data-done]").getByRole("link", { name: "Clinic sign in" }).click();
  await atHome.getByLabel("Email").fill(email);
  await atHome.getByLabel("Password").fill(NEW_PASSWORD);
  await atHome.getByRole("button", { name: "Sign in" }).click();
  await expect(atHome.getByRole("heading", { name: "Patients" })).toBeVisible();
});

test("a patient asks by username, and a used link says how to get a new one", async ({ page }) => {
  const username = unique("forgetful");
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, username);
  await expect(page).toHaveURL(/\/personal\/$/);
  // Until the recovery email is confirmed, the home page says so (and no reset link could reach it).
  await expect(page.getByRole("heading", { name: "Confirm how to reach you" })).toBeVisible();
  await screenshotBothWidths(page, "personal-home-confirm-contact");
  await confirmRecoveryEmail(page, `${username}@example.net`);
  await screenshotBothWidths(page, "personal-contact-confirmed");
  await page.goto("/personal/");
  await ready(page);
  await expect(page.getByRole("heading", { name: "Confirm how to reach you" })).toBeHidden();
  await page.context().clearCookies();

  await page.goto("/personal/signin");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await ready(page);
  await expectAccessible(page);
  await screenshotBothWidths(page, "personal-forgot");
  await page.getByLabel("Username, email or phone number").fill(username);
  await page.getByRole("button", { name: "Send me a link" }).click();
  await expect(page.getByRole("status")).toContainText("If an account matches");

  await followResetLink(page, `${username}@example.net`);
  const resetUrl = page.url();
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Save new password" }).click();
  await expect(page.getByRole("status")).toContainText("Your password is changed");

  // The same link again: refused, with the way forward.
  await page.goto(OUTBOX);
  await page.locator("article", { hasText: `${username}@example.net` }).first().getByRole("link", { name: /\/reset\?token=/ }).first().click();
  await ready(page);
  await page.getByLabel("New password").fill("another long pass phrase 12");
  await page.getByRole("button", { name: "Save new password" }).click();
  await expect(page.getByRole("alert").first()).toContainText("This reset link has expired or was already used. Ask for a new one");
  expect(resetUrl).toContain("/reset");

  await page.goto("/personal/signin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/personal\/$/);
});

test("every sign-in form offers Forgot password?", async ({ page }) => {
  for (const [path, forgot] of [["/clinic/signin", "/clinic/forgot"], ["/personal/signin", "/personal/forgot"]]) {
    await page.goto(path);
    await expect(page.getByRole("link", { name: "Forgot password?" })).toHaveAttribute("href", forgot);
  }
  await screenshotBothWidths(page, "personal-signin");
});

test("a patient sees which recovery contacts are confirmed, sends the link again and changes them", async ({ page }) => {
  const username = unique("contacts");
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, username);
  await expect(page).toHaveURL(/\/personal\/$/);
  await page.getByRole("navigation").getByRole("link", { name: "Account security" }).click();
  await ready(page);
  const card = page.locator("[data-contacts]");
  await expect(card.locator("[data-contact-email]")).toContainText(`${username}@example.net`);
  await expect(card.locator("[data-contact-email]")).toContainText("Waiting for confirmation");
  await expect(card.locator("[data-contact-phone]")).toHaveText("Not given");
  await card.getByRole("button", { name: "Send the confirmation link again" }).click();
  await expect(card.getByRole("status")).toContainText("We sent a new link to your email");

  await card.getByText("Change your recovery contacts").click();
  await card.getByLabel("Email", { exact: true }).fill(`${username}.new@example.net`);
  await card.getByLabel("Your password").fill("not my password at all");
  await card.getByRole("button", { name: "Save contacts" }).click();
  await expect(card.locator("#contact-password-error")).toContainText("That is not your password");
  await expectAccessible(page);
  await screenshotBothWidths(page, "personal-security-contacts");
  await card.getByLabel("Your password").fill(PERSON_PASSWORD);
  await card.getByRole("button", { name: "Save contacts" }).click();
  await expect(card.getByRole("status")).toContainText("We sent a link to each new contact");
  await expect(card.locator("[data-contact-email]")).toContainText(`${username}.new@example.net`);
  await confirmRecoveryEmail(page, `${username}.new@example.net`);
  await page.goto("/personal/security");
  await ready(page);
  await expect(page.locator("[data-contacts] [data-contact-email]")).toContainText("Confirmed");
});
