// What the browser must never do for an attacker: follow a crafted ?next= off the site after sign-in.
const { test, expect } = require("@playwright/test");
const { unique, fillPersonalSignUp } = require("./helpers");

for (const next of ["/%5Cevil.example/phish", "/%09/evil.example/phish", "//evil.example/", "https://evil.example/"]) {
  test(`signing up with next=${next} stays on the site`, async ({ page, baseURL }) => {
    await page.goto(`/personal/signup?next=${next}`);
    await fillPersonalSignUp(page, unique("nx"));
    await expect(page.getByRole("heading", { name: "Upload now" })).toBeVisible();
    expect(new URL(page.url()).origin).toBe(new URL(baseURL).origin);
  });
}

test("a next= on the site is followed after sign-in", async ({ page, baseURL }) => {
  await page.goto("/personal/signup?next=/personal/%3Ffrom%3Dlink");
  await fillPersonalSignUp(page, unique("nx"));
  await expect(page).toHaveURL(`${new URL(baseURL).origin}/personal/?from=link`);
});
