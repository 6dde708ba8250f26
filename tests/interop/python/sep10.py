"""SEP-10 interop with the published Python stellar-sdk.

Two directions:

  login BASE_URL
      Discover a running `mooring serve` from its stellar.toml, then log in
      the way a wallet using stellar-sdk does: read and validate the
      challenge with stellar_sdk.sep.stellar_web_authentication, sign it,
      POST it (JSON and form), and print the tokens as JSON.

  build SERVER_SEED CLIENT_SEED HOME_DOMAIN WEB_AUTH_DOMAIN PASSPHRASE
        [--memo N] [--muxed-id N] [--client-domain D --client-domain-seed S]
      Build a challenge with stellar-sdk's build_challenge_transaction, sign
      it as the client (and client domain), and print the XDR, for Mooring's
      Rust functions to read and verify.
"""

import argparse
import json
import sys
from urllib.parse import urlparse

import requests
from stellar_sdk import Keypair, MuxedAccount
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml
from stellar_sdk.sep.stellar_web_authentication import (
    build_challenge_transaction,
    read_challenge_transaction,
)
from stellar_sdk import TransactionEnvelope


def login(base_url):
    host = urlparse(base_url).netloc
    toml = fetch_stellar_toml(host, use_http=True)
    endpoint = toml["WEB_AUTH_ENDPOINT"]
    server_key = toml["SIGNING_KEY"]
    passphrase = toml["NETWORK_PASSPHRASE"]
    results = []
    cases = [("account", None, None, "json"), ("memo", 4242, None, "json"),
             ("muxed", None, 99, "json"), ("form", None, None, "form")]
    for name, memo, muxed_id, body in cases:
        kp = Keypair.random()
        account = kp.public_key
        if muxed_id is not None:
            account = MuxedAccount(kp.public_key, muxed_id).account_muxed
        params = {"account": account}
        if memo is not None:
            params["memo"] = str(memo)
        res = requests.get(endpoint, params=params, timeout=10)
        res.raise_for_status()
        challenge = res.json()
        assert challenge["network_passphrase"] == passphrase
        # web_auth_domain is the endpoint's host name (no port).
        web_auth_domain = urlparse(endpoint).hostname
        read = read_challenge_transaction(
            challenge["transaction"], server_key, host, web_auth_domain, passphrase
        )
        assert read.client_account_id == account, (read.client_account_id, account)
        assert read.matched_home_domain == host
        assert read.memo == memo
        envelope = read.transaction
        envelope.sign(kp)
        signed = envelope.to_xdr()
        if body == "json":
            res = requests.post(endpoint, json={"transaction": signed}, timeout=10)
        else:
            res = requests.post(endpoint, data={"transaction": signed}, timeout=10)
        if res.status_code != 200:
            print(f"{name}: {res.status_code} {res.text}", file=sys.stderr)
            sys.exit(1)
        results.append({"case": name, "account": account, "memo": memo,
                        "token": res.json()["token"]})
    print(json.dumps(results))


def build(args):
    client = Keypair.from_secret(args.client_seed)
    account = client.public_key
    if args.muxed_id is not None:
        account = MuxedAccount(client.public_key, args.muxed_id).account_muxed
    client_domain_key = None
    if args.client_domain:
        client_domain_key = Keypair.from_secret(args.client_domain_seed)
    xdr = build_challenge_transaction(
        server_secret=args.server_seed,
        client_account_id=account,
        home_domain=args.home_domain,
        web_auth_domain=args.web_auth_domain,
        network_passphrase=args.passphrase,
        timeout=900,
        client_domain=args.client_domain,
        client_signing_key=client_domain_key.public_key if client_domain_key else None,
        memo=args.memo,
    )
    envelope = TransactionEnvelope.from_xdr(xdr, args.passphrase)
    envelope.sign(client)
    if client_domain_key:
        envelope.sign(client_domain_key)
    print(envelope.to_xdr())


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("login")
    lp.add_argument("base_url")
    bp = sub.add_parser("build")
    for a in ["server_seed", "client_seed", "home_domain", "web_auth_domain", "passphrase"]:
        bp.add_argument(a)
    bp.add_argument("--memo", type=int)
    bp.add_argument("--muxed-id", type=int)
    bp.add_argument("--client-domain")
    bp.add_argument("--client-domain-seed")
    args = p.parse_args()
    if args.cmd == "login":
        login(args.base_url)
    else:
        build(args)


if __name__ == "__main__":
    main()
