// Create a personal account, then back to the page that asked (a code link, for example), else home.

import { start } from "/assets/lib/shell.js";
import { apiForm } from "/assets/lib/forms.js";
import { nextPath } from "/assets/lib/session.js";

start(() => apiForm(document.querySelector("main form"), "/api/personal/signup", () => location.assign(nextPath("/personal/"))));
