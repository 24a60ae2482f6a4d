// Local outbox (local mode only): the email and SMS messages glucolink would have sent.

import { start } from "/assets/lib/shell.js";
import { api } from "/assets/lib/api.js";
import { el, linkified } from "/assets/lib/dom.js";
import { when } from "/assets/lib/format.js";

async function devOutbox() {
  try {
    const { messages } = await api("GET", "/api/dev/outbox");
    document.querySelector("[data-messages]").replaceChildren(
      ...messages.map((m) =>
        el("article", { className: "card" },
          el("h2", {}, m.subject || `SMS Text to ${m.to}`),
          el("p", {}, `${m.channel === "sms" ? "SMS Text" : "Email"} to ${m.to}, ${when(m.at)}`),
          el("div", { className: "outbox-message" }, ...linkified(m.text)),
        ),
      ),
    );
    document.querySelector("[data-no-messages]").hidden = messages.length > 0;
  } catch (error) {
    document.querySelector("[data-outbox-error]").textContent =
      error.status === 404 ? "The outbox exists only on the local server." : error.message;
  }
}

start(devOutbox);
