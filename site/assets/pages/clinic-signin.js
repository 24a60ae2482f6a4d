// Clinic sign in (with the code step for two-factor sign-in): back to the page that asked (?next=), else
// the patient list.

import { start } from "/assets/lib/shell.js";
import { wireSignIn } from "/assets/lib/sign-in.js";
import { nextPath } from "/assets/lib/session.js";

start(() => wireSignIn("/api/clinic/signin", () => location.assign(nextPath("/clinic/"))));
