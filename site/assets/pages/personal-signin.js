// Personal sign in (with the code step for two-factor sign-in): back to the page that asked (a code link,
// for example), else home.

import { start } from "/assets/lib/shell.js";
import { wireSignIn } from "/assets/lib/sign-in.js";
import { nextPath } from "/assets/lib/session.js";

start(() => wireSignIn("/api/personal/signin", () => location.assign(nextPath("/personal/"))));
