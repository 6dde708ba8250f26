"""Checks a running Mooring server against its own OpenAPI descriptions.

What it checks:

  1. `GET /openapi.json` (public listener) and `GET /admin/openapi.json`
     (admin listener) are OpenAPI 3.1.0 documents that the published
     openapi-spec-validator accepts.
  2. schemathesis (published, from PyPI) generates requests from the public
     document (phases examples, coverage, fuzzing, stateful; a fixed seed)
     and checks every answer: no 5xx; status code, content type, headers and
     body as described; schema-violating requests refused. Requests to
     operations secured by `sep10` carry a real SEP-10 session token: the
     auth provider below logs in with the published stellar-sdk (challenge
     read and verified, signed, exchanged) and caches the token. Path
     parameters are mostly values made beforehand as that account (80 %,
     the rest generated): `{account}`, `{address}`, `{target}` are the
     account, `{signer}` its SEP-30 signing key, `{id}` its customer, SEP-38
     quote or SEP-31 transaction — so authorised paths are exercised, not
     only 403s and 404s.
  3. The same against the admin document, with `--admin-token` as a bearer
     token and a quarter of the examples.

Exits non-zero on any failure, after a summary; each document, the
schemathesis.toml made for it and schemathesis' JUnit and NDJSON reports
are written under --report-dir/{public,admin}/.

By hand, with scripts/test's virtualenv (target/test-venv) and a server
running on its defaults (the account then needs to be a `[[partners]]`
account, given with --secret, for SEP-31 and SEP-38 to answer more than 403):

    target/test-venv/bin/python tests/openapi/check.py \\
        --url http://localhost:8000 --admin-url http://127.0.0.1:8001 \\
        --admin-token "$(grep admin_token data/keys | cut -d'"' -f2)" \\
        --max-examples 200

crates/server/tests/openapi.rs runs it with 20 examples per operation
against a test server with every capability on, on SQLite and PostgreSQL;
a longer run:

    MOORING_SCHEMATHESIS_EXAMPLES=200 scripts/test -- --test openapi

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
PHASES = "examples,coverage,fuzzing,stateful"
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


def sep10_security(operation):
    """Whether the operation takes the `sep10` scheme (its own `security`,
    else the document's): None, "required" or "optional" (`{}` listed too)."""
    security = operation.definition.raw.get("security")
    if security is None:
        security = operation.schema.raw_schema.get("security", [])
    if not any("sep10" in requirement for requirement in security):
        return None
    return "optional" if any(not requirement for requirement in security) else "required"


def register_auth():
    """The schemathesis auth provider: a token from a real SEP-10 login,
    cached (tokens last a day), on the operations secured by `sep10`."""
    import schemathesis

    base, secret = os.environ[ENV_BASE], os.environ[ENV_SECRET]

    @schemathesis.auth(refresh_interval=3600)
    class Sep10Auth:
        # Where the token is optional, every other case goes without it, so
        # that both answers are checked.
        optional_cases = 0

        def get(self, case, ctx):
            return sep10_login(base, secret)

        def set(self, case, data, ctx):
            security = sep10_security(case.operation)
            if security == "optional":
                Sep10Auth.optional_cases += 1
                if Sep10Auth.optional_cases % 2:
                    return
            if security:
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
        problems.append(f"{where}: {error.message.splitlines()[0]}")
    if not doc.get("paths"):
        problems.append("no paths")
    return [f"{name}: {p}" for p in problems]


# ---------------------------------------------------------------- fixtures


def seed_fixtures(base, secret, admin_url=None, admin_token=None):
    """Values for path parameters, made as the logged-in account: its
    address, a customer, its SEP-30 signing keys, a firm SEP-38 quote and,
    with the admin API, a SEP-31 transaction.
    Best effort: what the server refuses (or does not serve) is left to the
    fuzzer, with a note."""
    from stellar_sdk import Keypair

    account = Keypair.from_secret(secret).public_key
    token = sep10_login(base, secret)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    fixtures = {"accounts": [account], "customers": [], "signers": [], "quotes": []}

    def made(what, res):
        if res.status_code in (200, 201, 202):
            return res.json()
        print(f"note: no {what} made ({res.status_code} {res.text[:200]})")
        return None

    body = {"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee"}
    if got := made("customer", http.put(f"{base}/customer", json=body, timeout=10)):
        fixtures["customers"].append(got["id"])
    body = {"identities": [{"role": "owner",
                            "auth_methods": [{"type": "stellar_address", "value": account}]}]}
    res = http.post(f"{base}/accounts/{account}", json=body, timeout=10)
    if res.status_code == 409:  # registered by an earlier run
        res = http.get(f"{base}/accounts/{account}", timeout=10)
    if got := made("SEP-30 account", res):
        fixtures["signers"] += [s["key"] for s in got.get("signers", [])]
    info = http.get(f"{base}/sep38/info", timeout=10)
    assets = [a["asset"] for a in info.json().get("assets", [])] if info.status_code == 200 else []
    for sell in assets:
        for buy in assets:
            if sell == buy or fixtures["quotes"]:
                continue
            body = {"sell_asset": sell, "buy_asset": buy, "sell_amount": "10", "context": "sep31"}
            res = http.post(f"{base}/sep38/quote", json=body, timeout=10)
            if res.status_code == 201:
                fixtures["quotes"].append(res.json()["id"])
    if assets and not fixtures["quotes"]:
        print("note: no SEP-38 quote made")
    # The configured assets, so that prices, quotes and transactions are
    # asked for what the server sells, and their 200/201 bodies are checked.
    fixtures["assets"] = assets
    res = http.get(f"{base}/sep31/info", timeout=10)
    fixtures["asset_codes"] = list(res.json().get("receive", {})) if res.status_code == 200 else []
    if admin_url and admin_token:
        fixtures["transactions"] = sep31_transaction(base, http, admin_url, admin_token, made)
    return fixtures


# Values for the SEP-9 fields a fixture customer is asked for.
FIELDS = {
    "first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com",
    "mobile_number": "+14155550100", "bank_account_number": "12345678", "bank_number": "001",
    "birth_date": "1990-01-01", "address_country_code": "BRA", "id_type": "passport",
    "id_number": "X1234567",
}


def sep31_transaction(base, http, admin_url, admin_token, made):
    """A SEP-31 transaction between a sender and a receiver the partner
    registered under memos of its own and staff accepted; [its id], or []."""
    res = http.get(f"{base}/sep31/info", timeout=10)
    if res.status_code != 200 or not res.json().get("receive"):
        return []
    code, asset = next(iter(res.json()["receive"].items()))
    staff = {"Authorization": f"Bearer {admin_token}"}
    ids = {}
    for memo, role in ((7001, "sender"), (7002, "receiver")):
        kind = next(iter(asset.get("sep12", {}).get(role, {}).get("types", {})), None)
        need = http.get(f"{base}/customer", params={"type": kind, "memo": memo, "memo_type": "id"},
                        timeout=10)
        fields = need.json().get("fields", {}) if need.status_code == 200 else {}
        body = {name: FIELDS.get(name, "x") for name in fields if name in FIELDS}
        body.update(type=kind, memo=str(memo), memo_type="id")
        got = made(f"SEP-31 {role}", http.put(f"{base}/customer", json=body, timeout=10))
        if not got:
            return []
        ids[role] = got["id"]
        res = requests.post(f"{admin_url}/admin/customers/{got['id']}/accept", json={"type": kind},
                            headers=staff, timeout=10)
        if not made(f"accepted SEP-31 {role}", res):
            return []
    body = {"amount": asset.get("min_amount") or "10", "asset_code": code,
            "sender_id": ids["sender"], "receiver_id": ids["receiver"]}
    if asset.get("funding_methods"):
        body["funding_method"] = asset["funding_methods"][0]
    got = made("SEP-31 transaction", http.post(f"{base}/sep31/transactions", json=body, timeout=10))
    return [got["id"]] if got else []


def schemathesis_config(path, fixtures, paths, probability=0.8):
    """A schemathesis.toml binding the parameters of a document's `paths`
    to the fixtures: each is drawn from them with `probability`, else
    generated."""
    import re

    lines = []
    for name, values in fixtures.items():
        if values:
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    bindings = []
    if fixtures.get("accounts"):
        bindings += [(p, "accounts") for p in ("path.account", "path.address", "path.target")]
    if fixtures.get("signers"):
        bindings.append(("path.signer", "signers"))
    if fixtures.get("assets"):
        bindings += [(p, "assets") for p in ("query.sell_asset", "query.buy_asset",
                                             "body.sell_asset", "body.buy_asset")]
    if fixtures.get("asset_codes"):
        bindings.append(("body.asset_code", "asset_codes"))
    lines.append("[parameters]")
    for param, dictionary in bindings:
        lines.append(f'"{param}" = {{ dictionary = "{dictionary}", probability = {probability} }}')
    # `id` names a different thing in each group of paths.
    for regex, param, dictionary in (
        ("^/customer", "query.id", "customers"),
        ("^/admin/customers/", "path.id", "customers"),
        ("^/sep38/quote/", "path.id", "quotes"),
        ("^/sep31/transactions/", "path.id", "transactions"),
        ("^/admin/transactions/", "path.id", "transactions"),
    ):
        if fixtures.get(dictionary) and any(re.match(regex, p) for p in paths):
            binding = f'{{ dictionary = "{dictionary}", probability = {probability} }}'
            lines += ["", "[[operations]]", f'include-path-regex = "{regex}"',
                      f'parameters = {{ "{param}" = {binding} }}']
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- schemathesis


def run_schemathesis(name, schema_url, base, args, report_dir, examples, headers=(), env=None):
    """Runs the schemathesis CLI with `report_dir`/schemathesis.toml;
    returns its exit code."""
    (report_dir / "junit.xml").unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(report_dir / "schemathesis.toml"),
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
        "--report-junit-path", str(report_dir / "junit.xml"),
        "--report-ndjson-path", str(report_dir / "events.ndjson"),
        "--output-truncate", "false",
    ]
    for header in headers:
        cmd += ["-H", header]
    print(f"== schemathesis: {name} ({schema_url}, {examples} examples per operation)", flush=True)
    started = time.monotonic()
    code = subprocess.call(cmd, env=env, cwd=report_dir)
    print(f"== schemathesis: {name}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
    return code


def junit_report(report_dir):
    """The operations tested, and (operation, first line) of each failure,
    from schemathesis' JUnit report."""
    tested, found = 0, []
    path = report_dir / "junit.xml"
    if path.exists():
        for case in ET.parse(path).getroot().iter("testcase"):
            tested += 1
            for failure in list(case.iter("failure")) + list(case.iter("error")):
                text = failure.text or failure.get("message") or ""
                # "- ST108 Response violates schema", then "[200] OK:".
                kinds = [line[2:].strip() for line in text.splitlines() if line.startswith("- ")]
                answers = [line.rstrip(":") for line in text.splitlines() if line[:1] == "["]
                for kind in dict.fromkeys(kinds or [text.strip().splitlines()[0] if text.strip() else "?"]):
                    found.append((case.get("name", "?"), f"{kind} ({', '.join(dict.fromkeys(answers))})"))
    return tested, found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the public listener's base URL")
    parser.add_argument("--admin-url", help="the admin listener's base URL")
    parser.add_argument("--admin-token", help="the admin token (for the admin API run)")
    parser.add_argument("--secret", help="the S… seed to log in with (default: a fresh account)")
    parser.add_argument("--max-examples", type=int, default=20, help="per operation, public API")
    parser.add_argument("--admin-max-examples", type=int, help="per operation, admin API (default: a quarter)")
    parser.add_argument("--seed", type=int, default=12)
    # One: with two, CPython 3.11's ast module (hypothesis parses lambdas'
    # source) is not thread-safe ("AST constructor recursion depth mismatch").
    parser.add_argument("--workers", type=int, default=1)
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
    problems, paths = [], {}
    for name, url in documents:
        doc = fetch_document(url)
        paths[name] = list(doc.get("paths", {}))
        (report / name).mkdir(exist_ok=True)
        (report / name / "openapi.json").write_text(json.dumps(doc, indent=2))
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
        fixtures = seed_fixtures(base, secret, admin, args.admin_token)
    except Exception as e:  # noqa: BLE001 - the harness says why and stops
        raise SystemExit(f"SEP-10 login failed, so nothing authorised can be tested: {e}")
    for name in paths:
        schemathesis_config(report / name / "schemathesis.toml", fixtures, paths[name])
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
        tested, failures = junit_report(report / name)
        failed |= code != 0
        outcome = "passed" if code == 0 else f"schemathesis exit {code}"
        if not tested:
            outcome += " (no operations to test: the document describes none but itself)"
        print(f"   {name} API: {outcome}; {tested} operations tested, {len(failures)} failures")
        for op, first in failures:
            print(f"     - {op}: {first}")
    print(f"   reports: {report}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
