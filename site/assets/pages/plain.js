// Pages with no behaviour of their own (landing, privacy, terms, not found): just the shell.

import { start } from "/assets/lib/shell.js";

start();
