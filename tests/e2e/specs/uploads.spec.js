// Upload now in the real website: a patient uploads a file and the clinic sees recent data.
const { test, expect } = require("@playwright/test");
const { unique, expectAccessible, registerClinic, addPatient, fillPersonalSignUp, linkAtClinicScreen } = require("./helpers");

function cgmFile(readings) {
  const now = Date.now();
  const events = [];
  for (let i = 0; i < readings; i += 1) {
    events.push({ type: "cgm", time: new Date(now - i * 5 * 60 * 1000).toISOString(), value: 110 + (i % 30) });
  }
  events.push({ type: "cgm", time: new Date(now).toISOString(), value: 9999 });
  return Buffer.from(JSON.stringify({ device: "E2E Sensor 1", events }));
}

test("a patient uploads a file and the linked clinic sees recent data", async ({ browser }) => {
  const username = unique("upl");
  const patient = await (await browser.newContext()).newPage();
  await patient.goto("/personal/signup");
  await fillPersonalSignUp(patient, username, "Uma Upload", "1991-01-01");
  await expect(patient.getByRole("heading", { name: "Upload now" })).toBeVisible();

  const clinic = await (await browser.newContext()).newPage();
  await registerClinic(clinic, "Upload Clinic");
  await addPatient(clinic, "Uma Upload", "1991-01-01");
  await linkAtClinicScreen(clinic, "Upload Clinic", username);
  await expect(clinic.getByText("No data yet.")).toBeVisible();

  await patient.reload();
  const file = { name: "readings.json", mimeType: "application/json", buffer: cgmFile(24) };
  await patient.getByLabel("Device data file").setInputFiles(file);
  await patient.getByRole("button", { name: "Upload now" }).click();
  await expect(patient.getByText("Uploaded: 24 new readings and events, 0 already stored, 1 row not used.")).toBeVisible();
  await expect(patient.getByText(/events\[24\]: glucose 9999 is outside/)).toBeVisible();
  await expect(patient.getByText(/E2E Sensor 1: sensor glucose, /)).toBeVisible();
  await expect(patient.getByText(/of \d+ expected sensor readings/)).toBeVisible();
  await expect(patient.getByText(/^Read from E2E Sensor 1, \w{3} \d+, \d{4} to \w{3} \d+, \d{4}\.$/)).toBeVisible();
  await expect(patient.getByText("Upload Clinic sees it now.")).toBeVisible();
  await expectAccessible(patient);
  for (const width of [1280, 390]) {
    await patient.setViewportSize({ width, height: 900 });
    await patient.locator("[data-upload-result]").screenshot({ path: `test-results/screens/upload-result-${width}.png` });
    const overflow = await patient.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `nothing wider than the ${width} px screen`).toBeLessThanOrEqual(0);
  }
  await patient.setViewportSize({ width: 1280, height: 720 });

  // The same file again, dropped on the upload box this time.
  const dropped = await patient.evaluateHandle((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], "readings.json", { type: "application/json" }));
    return transfer;
  }, file.buffer.toString());
  await patient.locator("[data-dropzone]").dispatchEvent("drop", { dataTransfer: dropped });
  await expect.poll(() => patient.getByLabel("Device data file").evaluate((input) => input.files.length)).toBe(1);
  await patient.getByRole("button", { name: "Upload now" }).click();
  await expect(patient.getByText(/0 new readings and events, 24 already stored/)).toBeVisible();

  await clinic.getByRole("link", { name: "All patients" }).click();
  await expect(clinic.getByRole("row", { name: /Uma Upload/ })).toContainText("Recent data");
});

test("a patient creates an upload token, sees it once, and revokes it", async ({ page }) => {
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, unique("tok"), "Toby Token", "1985-05-05");
  await expect(page.getByLabel("Token name")).toBeHidden();
  await page.getByText("Advanced: upload tokens").click();
  await page.getByLabel("Token name").fill("Laptop uploader");
  await page.getByRole("button", { name: "Create upload token" }).click();
  await expect(page.locator("[data-new-token-shown] code")).toHaveText(/^glk_[A-Za-z0-9_-]{43}$/);
  await expect(page.getByText(/Laptop uploader — created/)).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Revoke Laptop uploader" }).click();
  await expect(page.getByText(/Laptop uploader — created/)).toHaveCount(0);
});

test("Upload now pressed while the page still loads is sent once it is ready, not lost to a reload", async ({ page }) => {
  await page.goto("/personal/signup");
  await fillPersonalSignUp(page, unique("early"), "Eli Early", "1992-02-02");
  await expect(page.getByRole("heading", { name: "Upload now" })).toBeVisible();
  // A slow connection: the clinics that see the data (asked before the form is wired) take two seconds.
  await page.route("**/api/personal/sharing", async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await route.continue();
  });
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  await page.reload({ waitUntil: "domcontentloaded" });
  const before = navigations;
  await page.getByLabel("Device data file").setInputFiles({ name: "readings.json", mimeType: "application/json", buffer: cgmFile(12) });
  await page.getByRole("button", { name: "Upload now" }).click();
  await expect(page.locator("body[data-ready]")).toHaveCount(0);
  await expect(page.getByText("Uploaded: 12 new readings and events, 0 already stored, 1 row not used.")).toBeVisible({ timeout: 10_000 });
  expect(navigations, "the page was not reloaded").toBe(before);
  expect(page.url()).not.toContain("?");
});
