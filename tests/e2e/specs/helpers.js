// Shared steps for the browser tests: unique synthetic people, accessibility checks with axe-core.
const fs = require("node:fs");
const { expect } = require("@playwright/test");

let counter = 0;
/** A value unique to this run, for emails and usernames. */
function unique(prefix) {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core on the page and fails on any violation of WCAG 2.1 A/AA rules. axe is evaluated through
 * the DevTools protocol rather than a <script> tag, because the site's CSP (rightly) blocks inline script.
 */
async function expectAccessible(page) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`);
  expect(violations, `accessibility violations on ${page.url()}`).toEqual([]);
}

module.exports = { unique, expectAccessible };
