// The report page's buttons (a classic script; the page has no other). Print opens the browser's print
// dialog. Close report closes the tab the report opened in, so no second Patient Profile tab is left
// behind; a report opened in the same tab, or a browser that keeps the tab open, follows the link back.
"use strict";

for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

for (const link of document.querySelectorAll("[data-close]")) {
  link.addEventListener("click", (event) => {
    if (history.length > 1) return;
    event.preventDefault();
    window.close();
    setTimeout(() => location.assign(link.href), 200);
  });
}
