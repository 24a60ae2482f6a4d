// Reports in the real website: the clinic generates a linked patient's report from the Patient Profile,
// the patient from their home page; both open printable pages with SVG charts and the adjunct notice.
const { test, expect } = require("@playwright/test");
const { expectAccessible, screenshotBothWidths } = require("./helpers");

async function signInDemoClinic(page) {
  await page.goto("/clinic/signin");
  await page.getByLabel("Email").fill("demo.clinic@example.org");
  await page.getByLabel("Password").fill("lantern orchard violet 42");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Riverside Diabetes Clinic");
}

async function openReport(page) {
  const [report] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Generate report" }).click()]);
  await report.waitForLoadState();
  return report;
}

test("the clinic generates the report of a linked patient from the Patient Profile", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByRole("link", { name: "Alex Demo" }).click();
  await expect(page.getByRole("heading", { name: "Patient Profile" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Report", exact: true })).toBeVisible();
  await expectAccessible(page);

  await page.getByLabel("Period", { exact: true }).selectOption("30");
  // Over 14 days the daily detail is left out unless ticked.
  await expect(page.getByLabel("Daily detail (a page for every 3 days)")).not.toBeChecked();
  await page.getByLabel("Glucose units").selectOption("mmol/L");
  const report = await openReport(page);
  await expect(report.getByRole("heading", { name: "Glucose overview" })).toBeVisible();
  await expect(report.getByText("Alex Demo · DOB 12 Apr 1988 · MRN RDC-1001").first()).toBeVisible();
  await expect(report.getByText(/\(30 days\) · Europe\/London · mmol\/L \(1 mmol\/L = 18\.018 mg\/dL\)/).first()).toBeVisible();
  await expect(report.getByRole("img", { name: /Ambulatory glucose profile/ })).toBeVisible();
  await expect(report.getByRole("img", { name: /Time in ranges/ })).toBeVisible();
  // 30 days: the day-by-day table does not fit below the charts and continues on a page of its own.
  await expect(report.getByRole("heading", { name: "Insulin and meals" })).toHaveCount(2);
  await expect(report.getByRole("heading", { name: "Daily detail" })).toHaveCount(0);
  const notices = report.getByText(/intended for use as an adjunct in the management of diabetes/);
  expect(await notices.count()).toBe(await report.locator("section.page").count());
  await expectAccessible(report);
  // The same report as a PDF, from the page's own link.
  const pdfUrl = await report.getByRole("link", { name: "Download PDF" }).getAttribute("href");
  const pdf = await page.request.get(pdfUrl);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()["content-type"]).toBe("application/pdf");
  const bytes = (await pdf.body()).toString("latin1");
  expect(bytes.slice(0, 5)).toBe("%PDF-");
  // One layout for both: the PDF has as many pages as the HTML report.
  const pdfPages = (bytes.match(/\/Type \/Page\b(?!s)/g) || []).length;
  expect(pdfPages).toBe(await report.locator("section.page").count());
  await report.close();

  // Pregnancy targets for this record, and a custom period.
  await page.getByLabel("Targets used by this patient's reports").selectOption("pregnancy");
  await page.getByRole("button", { name: "Save targets" }).click();
  await expect(page.getByText("Reports of this patient now use: Pregnancy (type 1 diabetes).")).toBeVisible();
  await page.getByLabel("Period", { exact: true }).selectOption("");
  await expect(page.getByLabel("From", { exact: true })).toBeVisible();
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  await page.getByLabel("From", { exact: true }).fill(weekAgo.toISOString().slice(0, 10));
  await page.getByLabel("To", { exact: true }).fill(today.toISOString().slice(0, 10));
  await page.getByLabel("Glucose units").selectOption("mg/dL");
  const custom = await openReport(page);
  await expect(custom.getByText(/Goals: Pregnancy \(type 1 diabetes\) \(target 63–140 mg\/dL\)/)).toBeVisible();
  await expect(custom.getByText(/\(7 days\)/).first()).toBeVisible();
  await custom.close();
  await page.getByLabel("Targets used by this patient's reports").selectOption("standard");
  await page.getByRole("button", { name: "Save targets" }).click();
  await expect(page.getByText(/now use: Standard targets/)).toBeVisible();
});

test("the report form refuses what the server would refuse before a tab opens, and prints the chosen sections", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByRole("link", { name: "Alex Demo" }).click();
  await expect(page.getByRole("heading", { name: "Report", exact: true })).toBeVisible();
  let popups = 0;
  page.on("popup", () => popups++);
  const generate = page.getByRole("button", { name: "Generate report" });
  await page.getByLabel("Period", { exact: true }).selectOption("");
  const from = page.getByLabel("From", { exact: true });
  const to = page.getByLabel("To", { exact: true });
  // Missing dates, From after To, more than 90 days, no section: each said beside its field, no tab.
  await generate.click();
  await expect(page.getByText("Choose the first day of the report.")).toBeVisible();
  await from.fill("2026-11-20");
  await to.fill("2026-11-01");
  await generate.click();
  await expect(page.getByText("To is on or after From.")).toBeVisible();
  await from.fill("2026-01-01");
  await to.fill("2026-11-01");
  await generate.click();
  await expect(page.getByText(/A report covers at most 90 days; these dates cover 305/)).toBeVisible();
  await page.getByLabel("Period", { exact: true }).selectOption("30");
  for (const name of ["Glucose overview (AGP)", "Daily glucose profiles", "Insulin and meals"]) {
    await page.getByRole("checkbox", { name }).uncheck();
  }
  await generate.click();
  await expect(page.getByText("Choose at least one section.")).toBeVisible();
  expect(popups).toBe(0);
  await screenshotBothWidths(page, "report-form-errors");
  // Overview, daily detail and the comparison of 30 days: those pages only.
  await page.getByLabel("Glucose overview (AGP)").check();
  await page.getByLabel("Daily detail (a page for every 3 days)").check();
  await page.getByLabel("Comparison with the previous period").check();
  const report = await openReport(page);
  await expect(report.getByRole("heading", { name: "Glucose overview" })).toBeVisible();
  await expect(report.getByRole("heading", { name: "Daily detail" })).toHaveCount(10);
  await expect(report.getByRole("heading", { name: "Insulin and meals" })).toHaveCount(0);
  await expect(report.getByRole("heading", { name: "Daily glucose profiles" })).toHaveCount(0);
  const comparison = report.getByRole("heading", { name: "Comparison with the previous period" });
  await expect(comparison).toBeAttached();
  await expect(report.getByRole("img", { name: /Ambulatory glucose profiles of this period and the previous one/ })).toBeAttached();
  await expect(report.getByRole("button", { name: "Print" })).toBeVisible();
  await expectAccessible(report);
  await comparison.scrollIntoViewIfNeeded();
  await screenshotBothWidths(report, "report-comparison");
  // Close report closes the tab the report opened in: no second Patient Profile.
  // The click closes its own tab: the click may end with "page closed" — that is the point of it.
  const closed = report.waitForEvent("close");
  await report.getByRole("link", { name: "Close report" }).click({ noWaitAfter: true }).catch((error) => {
    if (!report.isClosed()) throw error;
  });
  await closed;
  expect(page.context().pages()).toHaveLength(1);
});

test("a record that is not linked explains that a report needs Link to Personal first", async ({ page }) => {
  await signInDemoClinic(page);
  await page.getByRole("link", { name: "Robin Notlinked" }).click();
  await expect(page.getByText("A report needs the patient's data: use Link to Personal below first.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Generate report" })).toBeHidden();
  // A stale link to the report of an unlinked record shows the steps, not an error code.
  const id = new URL(page.url()).searchParams.get("id");
  await page.goto(`/api/clinic/patients/${id}/report?format=html`);
  await expect(page.getByRole("heading", { name: "No report for Robin Notlinked" })).toBeVisible();
  await expect(page.getByText("Open the Patient Profile and choose Link to Personal.")).toBeVisible();
  await expectAccessible(page);
});

test("a patient generates their own report and chooses their units", async ({ page }) => {
  await page.goto("/personal/signin");
  await page.getByLabel("Username").fill("demo.patient");
  await page.getByLabel("Password").fill("kettle meadow sparrow 17");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your reports" })).toBeVisible();
  await expect(page.locator("body[data-ready]")).toHaveCount(1);
  await page.getByLabel("Glucose units of your reports").selectOption("mmol/L");
  await page.getByRole("button", { name: "Save units" }).click();
  await expect(page.getByText("Saved: your reports show mmol/L.")).toBeVisible();
  await page.getByLabel("Period", { exact: true }).selectOption("7");
  const report = await openReport(page);
  await expect(report.getByRole("heading", { name: "Glucose overview" })).toBeVisible();
  await expect(report.getByText(/\(7 days\) · Europe\/London · mmol\/L/).first()).toBeVisible();
  await expectAccessible(report);
  await report.close();
  await page.getByLabel("Glucose units of your reports").selectOption("mg/dL");
  await page.getByRole("button", { name: "Save units" }).click();
  await expect(page.getByText("Saved: your reports show mg/dL.")).toBeVisible();
});
