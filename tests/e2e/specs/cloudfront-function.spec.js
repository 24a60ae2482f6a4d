// The CloudFront Function of template.yaml (clean URLs for the site in S3), run on the cases it must
// get right: the same URLs the local server answers, hashed assets untouched, unknown paths to 404.
const fs = require("node:fs");
const path = require("node:path");
const { test, expect } = require("@playwright/test");

function cleanUrls() {
  const template = fs.readFileSync(path.join(__dirname, "../../../template.yaml"), "utf8");
  const start = template.indexOf("      FunctionCode: |\n");
  expect(start, "FunctionCode in template.yaml").toBeGreaterThan(0);
  const lines = [];
  for (const line of template.slice(start).split("\n").slice(1)) {
    if (!line.startsWith("        ") && line.trim() !== "") break;
    lines.push(line.slice(8));
  }
  // eslint-disable-next-line no-new-func
  return new Function(`${lines.join("\n")}\nreturn handler;`)();
}

test("the CloudFront Function maps clean URLs to the site's files and the rest to 404", async () => {
  const handler = cleanUrls();
  const rewrite = (uri) => handler({ request: { uri, headers: {} } }).uri;
  expect(rewrite("/")).toBe("/index.html");
  expect(rewrite("/clinic/")).toBe("/clinic/index.html");
  expect(rewrite("/clinic/patient")).toBe("/clinic/patient.html");
  expect(rewrite("/personal/sharing")).toBe("/personal/sharing.html");
  expect(rewrite("/clinic/patient.html")).toBe("/clinic/patient.html");
  expect(rewrite("/assets/app.0123456789.js")).toBe("/assets/app.0123456789.js");
  expect(rewrite("/dev/outbox")).toBe("/404.html");
  expect(rewrite("/no/such/page")).toBe("/404.html");
  expect(rewrite("/.env")).toBe("/404.html");
});

test("the CloudFront Function sends the 404 page with the status 404, and every page with its own", async () => {
  const handler = cleanUrls();
  const status = (uri, statusCode = 200) =>
    handler({
      context: { eventType: "viewer-response" },
      request: { uri, headers: {} },
      response: { statusCode, statusDescription: "OK", headers: {} },
    }).statusCode;
  // CloudFront may show the viewer's path or the rewritten one: both give the same answer.
  expect(status("/no/such/page")).toBe(404);
  expect(status("/404.html")).toBe(404);
  expect(status("/clinic/patient")).toBe(200);
  expect(status("/clinic/patient.html")).toBe(200);
  expect(status("/")).toBe(200);
  expect(status("/assets/app.0123456789.js")).toBe(200);
  expect(status("/no/such/page", 304)).toBe(304);
});
