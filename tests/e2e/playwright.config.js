// Playwright drives the system's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) against the server
// that infra/test starts (BASE_URL). No browser is downloaded.
const { defineConfig } = require("@playwright/test");

module.exports = defineConfig({
  testDir: "./specs",
  timeout: 30_000,
  retries: 0,
  workers: 1,
  use: {
    baseURL: process.env.BASE_URL || "http://127.0.0.1:8080",
    // Dates and times are shown in the reader's locale and time zone; the tests read them as a
    // reader in New York with a US English browser would.
    locale: "en-US",
    timezoneId: "America/New_York",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
});
