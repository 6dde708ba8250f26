"""What the partner-anchor scripts (sep38.py, sep31.py) share: a check that
stops the script with what failed, a SEP-10 login the way a stellar-sdk
client does it, and a JSON call with a bearer token."""

import sys
from urllib.parse import urlparse

import requests
from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction


def check(cond, what, got=None):
    if not cond:
        print(f"FAILED: {what}: {got!r}", file=sys.stderr)
        sys.exit(1)


def login(toml, host, kp):
    """A SEP-10 token for kp's account, the way a stellar-sdk client gets one."""
    endpoint = toml["WEB_AUTH_ENDPOINT"]
    res = requests.get(endpoint, params={"account": kp.public_key}, timeout=10)
    check(res.status_code == 200, "GET challenge", res.text)
    read = read_challenge_transaction(
        res.json()["transaction"],
        toml["SIGNING_KEY"],
        host,
        urlparse(endpoint).hostname,
        toml["NETWORK_PASSPHRASE"],
    )
    check(read.client_account_id == kp.public_key, "challenge account", read.client_account_id)
    envelope = read.transaction
    envelope.sign(kp)
    res = requests.post(endpoint, json={"transaction": envelope.to_xdr()}, timeout=10)
    check(res.status_code == 200, "POST challenge", res.text)
    return res.json()["token"]


def call(method, url, token=None, **kw):
    """(status, JSON body); (204, None) for No Content."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    res = requests.request(method, url, headers=headers, timeout=10, **kw)
    if res.status_code == 204:
        return 204, None
    check(
        res.headers.get("content-type", "").startswith("application/json"),
        f"{method} {url}: content type",
        res.headers.get("content-type"),
    )
    return res.status_code, res.json()
