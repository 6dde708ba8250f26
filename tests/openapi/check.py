"""Checks a running Mooring server against its own OpenAPI descriptions.

What it checks:

  1. `GET /openapi.json` (public listener) and `GET /admin/openapi.json`
     (admin listener) are OpenAPI 3.1.0 documents that the published
     openapi-spec-validator accepts.
  2. schemathesis (published, from PyPI) generates requests from the public
     document (phases examples, coverage, fuzzing; a fixed seed) and checks
     every answer: no 5xx, and status code, content type, headers and body
     as described. Requests to operations secured by `sep10` carry a real
     SEP-10 session token: the auth provider below logs in with the
     published stellar-sdk (challenge read and verified, signed, exchanged)
     and caches the token. Path parameters `{account}`, `{address}` and
     `{target}` are mostly that account, so authorised paths are exercised,
     not only 403s; `{id}` of a customer is mostly one this script made.
  3. The same against the admin document, with `--admin-token` as a bearer
     token and fewer examples.

Exits non-zero on any failure, after a summary; schemathesis' JUnit and
NDJSON reports are written under --report-dir.

By hand, with scripts/test's virtualenv (target/test-venv) and a server
running on its defaults:

    target/test-venv/bin/python tests/openapi/check.py \\
        --url http://localhost:8000 --admin-url http://127.0.0.1:8001 \\
        --admin-token "$(grep admin_token data/keys | cut -d'"' -f2)" \\
        --max-examples 200

crates/server/tests/openapi.rs runs it against a test server with every
capability on, on SQLite and PostgreSQL (MOORING_SCHEMATHESIS_EXAMPLES=200
for a longer run).

schemathesis loads this same file as its hooks module (SCHEMATHESIS_HOOKS);
then only the auth provider is registered.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

import requests

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
PHASES = "examples,coverage,fuzzing"
# What the schemathesis process (this file as its hooks) is told.
ENV_BASE = "MOORING_OPENAPI_BASE"
ENV_SECRET = "MOORING_OPENAPI_SECRET"


# ---------------------------------------------------------------- SEP-10


def sep10_login(base, secret):
    """Logs in as `secret`'s account the way a wallet does with stellar-sdk:
    stellar.toml, the challenge read and verified, signed, exchanged (SEP-10
    §Challenge, §Token). Returns the session token."""
    from stellar_sdk import Keypair
    from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction

    kp = Keypair.from_secret(secret)
    toml = stellar_toml(base)
    endpoint = toml["WEB_AUTH_ENDPOINT"]
    res = requests.get(endpoint, params={"account": kp.public_key}, timeout=10)
    if res.status_code != 200:
        raise RuntimeError(f"GET {endpoint}: {res.status_code} {res.text}")
    home_domain = urlparse(base).netloc
    read = read_challenge_transaction(
        res.json()["transaction"],
        toml["SIGNING_KEY"],
        home_domain,
        urlparse(endpoint).hostname,
        toml["NETWORK_PASSPHRASE"],
    )
    envelope = read.transaction
    envelope.sign(kp)
    res = requests.post(endpoint, json={"transaction": envelope.to_xdr()}, timeout=10)
    if res.status_code != 200:
        raise RuntimeError(f"POST {endpoint}: {res.status_code} {res.text}")
    return res.json()["token"]


def stellar_toml(base):
    import tomllib

    res = requests.get(f"{base}/.well-known/stellar.toml", timeout=10)
    res.raise_for_status()
    return tomllib.loads(res.text)


def secured_by_sep10(operation):
    """Whether the operation lists the `sep10` scheme (its own `security`,
    else the document's)."""
    raw = operation.definition.raw
    security = raw.get("security")
    if security is None:
        security = operation.schema.raw_schema.get("security", [])
    return any("sep10" in requirement for requirement in security)


def register_auth():
    """The schemathesis auth provider: a token from a real SEP-10 login,
    cached (tokens last a day), on the operations secured by `sep10`."""
    import schemathesis

    base, secret = os.environ[ENV_BASE], os.environ[ENV_SECRET]

    @schemathesis.auth(refresh_interval=3600)
    class Sep10Auth:
        def get(self, case, ctx):
            return sep10_login(base, secret)

        def set(self, case, data, ctx):
            if secured_by_sep10(case.operation):
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


if __name__ != "__main__" and os.environ.get(ENV_SECRET):
    register_auth()


# ---------------------------------------------------------------- the documents


def fetch_document(url):
    res = requests.get(url, timeout=10)
    if res.status_code != 200:
        raise SystemExit(f"GET {url}: {res.status_code} {res.text[:500]}")
    if not res.headers.get("content-type", "").startswith("application/json"):
        raise SystemExit(f"GET {url}: content type {res.headers.get('content-type')!r}, not JSON")
    return res.json()


def validate_document(name, doc):
    """The problems openapi-spec-validator and this script find, as text."""
    from openapi_spec_validator import OpenAPIV31SpecValidator

    problems = []
    if doc.get("openapi") != "3.1.0":
        problems.append(f'"openapi" is {doc.get("openapi")!r}, not "3.1.0"')
    for error in OpenAPIV31SpecValidator(doc).iter_errors():
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: {error.message}")
    if not doc.get("paths"):
        problems.append("no paths")
    return [f"{name}: {p}" for p in problems]


# ---------------------------------------------------------------- fixtures


def seed_fixtures(base, secret):
    """Values for path parameters, made as the logged-in account: its
    address, and a customer of its own (best effort: a refusal only leaves
    `{id}` to the fuzzer)."""
    from stellar_sdk import Keypair

    account = Keypair.from_secret(secret).public_key
    token = sep10_login(base, secret)
    auth = {"Authorization": f"Bearer {token}"}
    fixtures = {"accounts": [account], "customers": []}
    res = requests.put(
        f"{base}/customer",
        json={"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee"},
        headers=auth,
        timeout=10,
    )
    if res.status_code in (200, 202) and "id" in res.json():
        fixtures["customers"].append(res.json()["id"])
    else:
        print(f"note: no customer made ({res.status_code} {res.text[:200]})")
    return fixtures


def schemathesis_config(path, fixtures, probability=0.8):
    """A schemathesis.toml binding path parameters to the fixtures: each
    is drawn from them with `probability`, else generated."""
    lines = []
    for name, values in fixtures.items():
        if values:
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    bindings = []
    if fixtures.get("accounts"):
        bindings += [(p, "accounts") for p in ("path.account", "path.address", "path.target")]
    lines.append("[parameters]")
    for param, dictionary in bindings:
        lines.append(f'"{param}" = {{ dictionary = "{dictionary}", probability = {probability} }}')
    if fixtures.get("customers"):
        for regex in ("^/customer", "^/admin/customers/"):
            lines += [
                "",
                "[[operations]]",
                f'include-path-regex = "{regex}"',
                f'parameters = {{ "path.id" = {{ dictionary = "customers", probability = {probability} }} }}',
            ]
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- schemathesis


def run_schemathesis(name, schema_url, base, args, report_dir, examples, headers=(), env=None):
    """Runs the schemathesis CLI; returns its exit code."""
    report_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(report_dir.parent / "schemathesis.toml"),
        "--no-color",
        "run", schema_url,
        "--url", base,
        "--checks", ",".join(args.checks),
        "--phases", args.phases,
        "--max-examples", str(examples),
        "--seed", str(args.seed),
        "--workers", str(args.workers),
        "--request-timeout", "15",
        "--generation-database", "none",
        "--report", "junit,ndjson",
        "--report-dir", str(report_dir),
        "--output-truncate", "false",
    ]
    for header in headers:
        cmd += ["-H", header]
    print(f"== schemathesis: {name} ({schema_url}, {examples} examples per operation)", flush=True)
    started = time.monotonic()
    code = subprocess.call(cmd, env=env, cwd=report_dir)
    print(f"== schemathesis: {name}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
    return code


def junit_failures(report_dir):
    """(operation, first line of each failure) from schemathesis' JUnit report."""
    found = []
    for path in sorted(report_dir.glob("*.xml")):
        for case in ET.parse(path).getroot().iter("testcase"):
            for failure in list(case.iter("failure")) + list(case.iter("error")):
                text = (failure.get("message") or failure.text or "").strip()
                first = next((line.strip() for line in text.splitlines() if line.strip()), "")
                found.append((case.get("name", "?"), first))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the public listener's base URL")
    parser.add_argument("--admin-url", help="the admin listener's base URL")
    parser.add_argument("--admin-token", help="the admin token (for the admin API run)")
    parser.add_argument("--secret", help="the S… seed to log in with (default: a fresh account)")
    parser.add_argument("--max-examples", type=int, default=20, help="per operation, public API")
    parser.add_argument("--admin-max-examples", type=int, help="per operation, admin API (default: a quarter)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--phases", default=PHASES)
    parser.add_argument("--checks", type=lambda s: s.split(","), default=CHECKS)
    parser.add_argument("--report-dir", type=Path, default=Path("target/openapi-report"))
    args = parser.parse_args()
    base = args.url.rstrip("/")
    admin = args.admin_url.rstrip("/") if args.admin_url else None
    report = args.report_dir.resolve()
    report.mkdir(parents=True, exist_ok=True)

    # 1. The documents are valid OpenAPI 3.1.
    documents = [("public", f"{base}/openapi.json")]
    if admin:
        documents.append(("admin", f"{admin}/admin/openapi.json"))
    problems = []
    for name, url in documents:
        doc = fetch_document(url)
        (report / f"{name}-openapi.json").write_text(json.dumps(doc, indent=2))
        found = validate_document(name, doc)
        problems += found
        print(f"== {name} document: {len(doc.get('paths', {}))} paths, "
              f"{'valid OpenAPI 3.1' if not found else f'{len(found)} problems'}", flush=True)
    for p in problems:
        print(f"   {p}")

    # 2. The public API, logged in.
    from stellar_sdk import Keypair

    secret = args.secret or Keypair.random().secret
    try:
        fixtures = seed_fixtures(base, secret)
    except Exception as e:  # noqa: BLE001 - the harness says why and stops
        raise SystemExit(f"SEP-10 login failed, so nothing authorised can be tested: {e}")
    schemathesis_config(report / "schemathesis.toml", fixtures)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).resolve()),
           ENV_BASE: base, ENV_SECRET: secret}
    codes = {"public": run_schemathesis("public", f"{base}/openapi.json", base, args,
                                        report / "public", args.max_examples, env=env)}

    # 3. The admin API, with the admin token.
    if admin and args.admin_token:
        examples = args.admin_max_examples or max(1, args.max_examples // 4)
        env = {k: v for k, v in os.environ.items() if k not in ("SCHEMATHESIS_HOOKS", ENV_SECRET)}
        codes["admin"] = run_schemathesis(
            "admin", f"{admin}/admin/openapi.json", admin, args, report / "admin", examples,
            headers=[f"Authorization: Bearer {args.admin_token}"], env=env)

    # 4. The summary.
    print("\n== summary")
    failed = bool(problems)
    print(f"   documents: {'valid' if not problems else f'{len(problems)} problems (above)'}")
    for name, code in codes.items():
        failures = junit_failures(report / name)
        failed |= code != 0
        print(f"   {name} API: {'passed' if code == 0 else f'exit {code}'}, "
              f"{len(failures)} failing operations")
        for op, first in failures:
            print(f"     - {op}: {first}")
    print(f"   reports: {report}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
