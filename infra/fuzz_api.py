"""API fuzz: schemathesis drives every operation of docs/openapi.yaml against a running glucolink server.

Three identities, one run each: anonymous, the demo clinic's admin and the demo personal account (both
signed in before any run, so that the fuzzing of the sign-in routes cannot lock them out). Each run uses
positive and negative data (`--mode all`) and every phase (examples, coverage, fuzzing, stateful links
inferred from the schema). Sign-out is left out of the signed-in runs, which would otherwise end their
own session on the first call.

Checks: no 5xx ever; every status code, content type and response body as the schema documents them;
invalid input refused; a 405 names the allowed methods; authentication not ignored. The server's own
rules that a schema cannot say (a report covers at most 90 days, say) are why `positive_data_acceptance`
is not among them.

Usage: fuzz_api.py BASE_URL [REPORT_DIR]. Environment: GLUCOLINK_FUZZ_EXAMPLES (examples per operation,
default 25), GLUCOLINK_FUZZ_SEED (default fixed, so that CI is repeatable; set another to explore).
Exits non-zero when any run finds a failure.
"""

import http.cookiejar
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "openapi.yaml"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "ignored_auth",
    ]
)
DEMO_CLINIC = ("clinic", {"email": "demo.clinic@example.org", "password": "lantern orchard violet 42"})
DEMO_PERSON = ("personal", {"username": "demo.patient", "password": "kettle meadow sparrow 17"})


def sign_in(base: str, kind: str, body: dict) -> list[str]:
    """Signs in as the demo account and answers the headers that carry its session and CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        opener.open(base + "/api/me")
    except urllib.error.HTTPError as answer:  # 401 when signed out; it still sets the csrf cookie
        answer.read()
    csrf = next(c.value for c in jar if c.name == "csrf")
    request = urllib.request.Request(
        f"{base}/api/{kind}/signin",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    opener.open(request).read()
    cookies = {c.name: c.value for c in jar}
    return [
        "-H",
        "Cookie: " + "; ".join(f"{name}={value}" for name, value in cookies.items()),
        "-H",
        f"X-CSRF-Token: {cookies['csrf']}",
    ]


def main() -> int:
    base = sys.argv[1].rstrip("/")
    reports = Path(sys.argv[2] if len(sys.argv) > 2 else "target/fuzz")
    reports.mkdir(parents=True, exist_ok=True)
    examples = os.environ.get("GLUCOLINK_FUZZ_EXAMPLES", "25")
    seed = os.environ.get("GLUCOLINK_FUZZ_SEED", "20261202")
    identities = {
        "clinic": sign_in(base, *DEMO_CLINIC),
        "personal": sign_in(base, *DEMO_PERSON),
        "anonymous": [],
    }
    schemathesis = Path(sys.executable).parent / "schemathesis"
    failed = []
    for name, headers in identities.items():
        print(f"\n--- API fuzz as {name} ---", flush=True)
        command = [
            str(schemathesis), "run", str(SCHEMA), "--url", base,
            "--checks", CHECKS, "--mode", "all", "-n", examples, "--seed", seed,
            "--workers", "2", "--no-color", "--warnings", "off",
            "--report", "junit", "--report-junit-path", str(reports / f"{name}.xml"),
            *headers,
        ]
        if headers:
            command += ["--exclude-path", "/api/signout"]
        if subprocess.run(command).returncode != 0:
            failed.append(name)
    if failed:
        print(f"API fuzz failed as: {', '.join(failed)}")
        return 1
    print("API fuzz: no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
