// Clinic sign in: back to the page that asked (?next=), else the patient list.

import { start } from "/assets/lib/shell.js";
import { apiForm } from "/assets/lib/forms.js";
import { nextPath } from "/assets/lib/session.js";

start(() => apiForm(document.querySelector("main form"), "/api/clinic/signin", () => location.assign(nextPath("/clinic/"))));
