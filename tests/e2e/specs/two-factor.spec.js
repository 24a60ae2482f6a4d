// Two-factor sign-in in the real website: a clinic admin sets it up with an authenticator app (the test
// computes the app's codes, RFC 6238), saves the recovery codes, signs in with a code and with a
// recovery code, and requires it of all staff.
const crypto = require("node:crypto");
const { test, expect } = require("@playwright/test");
const { expectAccessible, ready, registerClinic, screenshotBothWidths, CLINIC_PASSWORD } = require("./helpers");

/** Base32 (RFC 4648) to bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The authenticator app: the 6-digit code of `secret` for the 30-second step `offset` steps from now. */
function appCode(secret, offset = 0) {
  const counter = Math.floor(Date.now() / 1000 / 30) + offset;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac("sha1", base32(secret)).update(message).digest();
  const start = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(start) & 0x7fffffff) % 1000000;
  return String(number).padStart(6, "0");
}

async function signIn(page, email) {
  await page.goto("/clinic/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(CLINIC_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Two-factor sign-in" })).toBeVisible();
}

test("a clinic admin turns on two-factor sign-in and signs in with a code or a recovery code", async ({ page }) => {
  const email = await registerClinic(page, "Two Factor Clinic");
  await page.getByRole("link", { name: "Account security" }).click();
  await expect(page.getByRole("heading", { name: "Account security" })).toBeVisible();
  await ready(page);
  await expectAccessible(page);
  await screenshotBothWidths(page, "security-off");
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  const secret = (await page.locator("[data-secret]").textContent()).replace(/\s/g, "");
  await expectAccessible(page);
  await screenshotBothWidths(page, "security-enrol");
  await page.getByLabel("Code from the app", { exact: true }).fill("000000");
  await page.getByRole("button", { name: "Turn on the authenticator app" }).click();
  await expect(page.locator("#confirm-code-error")).toContainText("That code is not right");
  await page.getByLabel("Code from the app", { exact: true }).fill(appCode(secret));
  await page.getByRole("button", { name: "Turn on the authenticator app" }).click();
  await expect(page.getByRole("heading", { name: "Save your recovery codes" })).toBeFocused();
  const codes = await page.locator("[data-codes] code").allTextContents();
  expect(codes).toHaveLength(10);
  await screenshotBothWidths(page, "security-recovery-codes");
  await page.getByRole("button", { name: "I have saved them" }).click();
  await expect(page.locator("[data-status]")).toHaveText("The authenticator app is on.");

  // Signing in now asks for a code: a wrong one is explained, a recovery code works once.
  await ready(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/clinic\/signin$/);
  await signIn(page, email);
  await expectAccessible(page);
  await screenshotBothWidths(page, "signin-second-factor");
  await page.getByLabel("Code", { exact: true }).fill("123456");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.locator("#code-error")).toContainText("That code is not right");
  await page.getByLabel("Code", { exact: true }).fill(codes[0]);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Patients" })).toBeVisible();

  // And with the app's next code (the one used to turn it on cannot be used again).
  await ready(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/clinic\/signin$/);
  await signIn(page, email);
  await page.getByLabel("Code", { exact: true }).fill(appCode(secret, 1));
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Patients" })).toBeVisible();

  // The admin requires it of all staff.
  await page.getByRole("link", { name: "Staff and settings" }).click();
  await ready(page);
  await page.getByLabel("Require two-factor sign-in for all staff").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status")).toContainText("every member of staff signs in with two factors");
});
