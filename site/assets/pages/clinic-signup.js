// Register a clinic: the first staff member becomes its administrator.

import { start } from "/assets/lib/shell.js";
import { apiForm } from "/assets/lib/forms.js";

start(() => apiForm(document.querySelector("main form"), "/api/clinic/signup", () => location.assign("/clinic/")));
