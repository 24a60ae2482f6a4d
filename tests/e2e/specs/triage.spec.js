// The clinic's triage list: numbers where clinicians look, sorted and filtered by who needs attention,
// the choices kept in the address, and usable on a phone.
const { test, expect } = require("@playwright/test");
const { expectAccessible, ready, screenshotBothWidths } = require("./helpers");

async function signInDemoClinic(page, path = "/clinic/signin") {
  await page.goto(path);
  await page.getByLabel("Email").fill("demo.clinic@example.org");
  await page.getByLabel("Password").fill("lantern orchard violet 42");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Riverside Diabetes Clinic");
  await ready(page);
}

test("the patient list shows each linked patient's numbers and what needs attention", async ({ page }) => {
  await signInDemoClinic(page);
  const alex = page.getByRole("row", { name: /Alex Demo/ });
  await expect(alex.getByRole("img", { name: /^Very low .* In range .* Very high/ })).toBeVisible();
  await expect(alex).toContainText("% in range");
  await expect(alex.locator("td[data-label='GMI']")).toHaveText(/^\d+\.\d %$/);
  await expect(alex.locator("td[data-label='CGM active']")).toHaveText(/^\d+\.\d %$/);
  // Three weeks without data: flagged, and no number that is not there.
  const morgan = page.getByRole("row", { name: /Morgan Olddata/ });
  await expect(morgan.locator("ul.flags")).toContainText("No recent data");
  await expect(morgan).toContainText("No readings in the period");
  await expect(page.getByRole("row", { name: /Robin Notlinked/ })).toContainText("Not linked");
  await expect(page.locator("[data-period-note]")).toContainText("last 14 days");
  await expectAccessible(page);
  await screenshotBothWidths(page, "clinic-triage");
});

test("sorting, flags and the period stay in the address, and a heading sorts its column", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByLabel("Needs attention").selectOption("no_recent_data");
  await expect(page.getByRole("row", { name: /Morgan Olddata/ })).toBeVisible();
  await expect(page.getByRole("row", { name: /Alex Demo/ })).toHaveCount(0);
  await expect(page).toHaveURL(/flag=no_recent_data/);
  await page.reload();
  await ready(page);
  await expect(page.getByLabel("Needs attention")).toHaveValue("no_recent_data");
  await expect(page.getByRole("row", { name: /Alex Demo/ })).toHaveCount(0);
  await page.getByLabel("Needs attention").selectOption("");

  // Least time in range first: Alex (with numbers) before everyone without.
  await page.getByLabel("Sort by").selectOption("in_range");
  await expect(page.locator("tbody tr").first()).toContainText("Alex Demo");
  await expect(page.locator("th[aria-sort]")).toHaveText(/Time in ranges/);
  await expect(page.locator("th[aria-sort]")).toHaveAttribute("aria-sort", "ascending");
  // The heading again: the other way round.
  await page.getByRole("button", { name: "Time in ranges" }).click();
  await expect(page.locator("th[aria-sort]")).toHaveAttribute("aria-sort", "descending");
  await expect(page).toHaveURL(/sort=in_range/);
  await expect(page).toHaveURL(/order=reverse/);
  await page.getByLabel("Period").selectOption("30");
  await expect(page.locator("[data-period-note]")).toContainText("last 30 days");
  await expect(page).toHaveURL(/period_days=30/);
});

test("a filter chosen while the list still loads is what the list shows, not the late first page", async ({ page }) => {
  await signInDemoClinic(page);
  // The first (unfiltered) page answers late; the filtered one at once.
  await page.route("**/api/clinic/patients?*", async (route) => {
    if (!route.request().url().includes("flag=no_recent_data")) await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  const first = page.waitForRequest((request) => request.url().includes("/api/clinic/patients?"));
  await page.reload();
  await first;
  await page.getByLabel("Needs attention").selectOption("no_recent_data");
  await expect(page.getByRole("row", { name: /Morgan Olddata/ })).toBeVisible();
  // Past the late answer: still the filtered list.
  await page.waitForTimeout(2000);
  await expect(page.getByRole("row", { name: /Morgan Olddata/ })).toBeVisible();
  await expect(page.getByRole("row", { name: /Alex Demo/ })).toHaveCount(0);
});

test("on a phone the list is cards and the page never scrolls sideways", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signInDemoClinic(page);
  await expect(page.getByRole("row", { name: /Alex Demo/ }).getByRole("img")).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test("a linked record's Patient Profile opens on the patient at a glance, drawn by the report's own charts", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByRole("link", { name: "Alex Demo" }).click();
  await ready(page);
  const glance = page.locator("[data-glance]");
  await expect(glance.getByRole("heading", { name: "At a glance" })).toBeVisible();
  await expect(glance.getByRole("img", { name: /^Time in ranges: very high/ })).toBeVisible();
  await expect(glance.getByRole("img", { name: /^Ambulatory glucose profile/ })).toBeVisible();
  await expect(glance.getByRole("img", { name: /^Daily glucose profiles/ })).toBeVisible();
  await expect(glance.locator("[data-glance-stats]")).toContainText("Time in range");
  await expect(glance.locator("[data-glance-goals] tr").first()).toContainText(/Yes|No/);
  await expect(glance.locator("[data-glance-period]")).toContainText("14 days");
  const report = glance.getByRole("link", { name: "Open the full report" });
  await expect(report).toHaveAttribute("href", /\/report\?format=html&from=\d{4}-\d\d-\d\d&to=/);
  await glance.getByText("Compared with the period before").click();
  await expect(glance.locator("[data-glance-comparison] tr").first()).toBeVisible();
  await expect(glance.getByRole("img", { name: /this period and the previous one/ })).toBeVisible();
  await glance.getByLabel("Overview period").selectOption("30");
  await expect(glance.locator("[data-glance-period]")).toContainText("30 days");
  await expectAccessible(page);
  await screenshotBothWidths(page, "clinic-patient-glance");
  const overflow = await page.evaluate(() => {
    window.scrollTo(0, 0);
    return document.documentElement.scrollWidth - window.innerWidth;
  });
  expect(overflow).toBeLessThanOrEqual(0);
});

test("old data: the overview shows the days up to the newest reading", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByRole("link", { name: "Morgan Olddata" }).click();
  await ready(page);
  await expect(page.locator("[data-glance-period]")).toContainText("ending at the newest data");
  const warning = page.locator("[data-glance-stale]");
  await expect(warning).toContainText("older than 7 days");
  await expect(warning.getByRole("link", { name: "ask the patient to Upload now" })).toHaveAttribute("href", "#linked-heading");
  await expect(page.locator("[data-glance]").getByRole("img", { name: /^Ambulatory glucose profile/ })).toBeVisible();
  await screenshotBothWidths(page, "clinic-patient-old-data");
  await expect(page.locator("[data-glance]").getByRole("img", { name: /^Ambulatory glucose profile/ })).toBeVisible();
});

test("the patient's home page starts with Upload now, then the same overview of their data", async ({ page }) => {
  await page.goto("/personal/signin");
  await page.getByLabel("Username").fill("demo.patient");
  await page.getByLabel("Password").fill("kettle meadow sparrow 17");
  await page.getByRole("button", { name: "Sign in" }).click();
  await ready(page);
  await expect(page.locator("main h2").first()).toHaveText("Upload now");
  const glance = page.locator("[data-glance]");
  await expect(glance.getByRole("img", { name: /^Ambulatory glucose profile/ })).toBeVisible();
  await expect(glance.getByRole("link", { name: "Open the full report" })).toHaveAttribute("href", /^\/api\/personal\/report\?format=html/);
  await expectAccessible(page);
  await screenshotBothWidths(page, "personal-home-glance");
});

test("the list downloads as CSV, chosen patients print as one PDF of overviews, and a patient's data downloads", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByLabel("Sort by").selectOption("very_low");
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download this list (CSV)" }).click(),
  ]);
  expect(csv.suggestedFilename()).toMatch(/^glucolink-patients-\d{4}-\d\d-\d\d\.csv$/);
  const text = require("node:fs").readFileSync(await csv.path(), "utf8");
  const lines = text.trim().split("\n");
  expect(lines[0]).toContain("name,date_of_birth,mrn,link_status");
  expect(lines[1]).toContain("Alex Demo");
  expect(lines.length).toBeGreaterThanOrEqual(7);

  await expect(page.getByRole("button", { name: /Print overviews/ })).toBeDisabled();
  await page.getByLabel("Choose Alex Demo for printing").check();
  await page.getByLabel("Choose Morgan Olddata for printing").check();
  await expect(page.locator("[data-batch-status]")).toHaveText("2 patients chosen (at most 50).");
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByRole("button", { name: /Print overviews/ }).click(),
  ]);
  await expect.poll(() => popup.url()).toMatch(/^blob:/);
  await popup.close();
  // The same PDF, fetched with the page's session: one overview page per chosen patient.
  const cookies = await page.context().cookies();
  const csrf = cookies.find((c) => c.name === "csrf" || c.name === "__Host-csrf").value;
  const ids = await page.locator("input[data-choose]:checked").evaluateAll((boxes) => boxes.map((b) => b.dataset.choose));
  const response = await page.request.post("/api/clinic/reports/batch", {
    headers: { "X-CSRF-Token": csrf },
    data: { patient_ids: ids, period_days: 14 },
  });
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("application/pdf");
  const pdf = (await response.body()).toString("latin1");
  expect(pdf.startsWith("%PDF-")).toBe(true);
  expect(pdf.match(/\/Type\s*\/Page(?!s)/g)).toHaveLength(2);

  await page.getByRole("link", { name: "Alex Demo" }).click();
  await ready(page);
  const [data] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "CSV for a spreadsheet" }).click(),
  ]);
  expect(data.suggestedFilename()).toMatch(/^glucolink-data-.*\.csv$/);
  const rows = require("node:fs").readFileSync(await data.path(), "utf8").trim().split("\n");
  expect(rows[0]).toMatch(/^time_utc,time_local,device,type,/);
  expect(rows.length).toBeGreaterThan(1000);
});
