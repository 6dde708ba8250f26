"""SEP-31 interop with the published Python stellar-sdk: seed 002's flow.

  sep31.py BASE_URL PARTNER_SECRET

A sending anchor's side, written from the SEPs alone: discovers a running
Mooring from its stellar.toml (DIRECT_PAYMENT_SERVER, KYC_SERVER,
ANCHOR_QUOTE_SERVER, WEB_AUTH_ENDPOINT), signs in as the partner's account
with stellar-sdk's SEP-10 helpers, reads SEP-31 GET /info, registers the
sender and the receiver through SEP-12 PUT /customer (each under a memo of
the partner's account), and tries POST /transactions: refused with
customer_info_needed until the receiving anchor accepts them. It then
prints {"sender_id", "receiver_id"} and waits for a line on stdin (the
test accepts both customers meanwhile), gets a firm SEP-38 quote, creates
the transaction with it (201), reads it back, registers a callback URL,
checks that the same quote cannot be used twice and that a stranger cannot
read the transaction, and prints what it saw as JSON.

Expects the server of crates/server/tests/sep31/interop.rs: USDC received
into a distribution account, sold for BRL at 0.18 USDC per BRL with a fee
of 1 USDC + 1.5 %.
"""

import json
import re
import sys
from urllib.parse import urlparse

import requests
from stellar_sdk import Keypair
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml

from partner import call, check, login


def main():
    base_url, secret = sys.argv[1], sys.argv[2]
    host = urlparse(base_url).netloc
    toml = fetch_stellar_toml(host, use_http=True)
    sep31 = toml.get("DIRECT_PAYMENT_SERVER")
    check(sep31 == base_url.rstrip("/") + "/sep31", "DIRECT_PAYMENT_SERVER", sep31)
    kyc, quotes = toml["KYC_SERVER"], toml["ANCHOR_QUOTE_SERVER"]
    partner = Keypair.from_secret(secret)
    token = login(toml, host, partner)
    stranger = login(toml, host, Keypair.random())

    # SEP-31 GET /info: what the receiving anchor takes and whom it must know.
    status, info = call("GET", f"{sep31}/info", token)
    check(status == 200, "GET /info", info)
    usdc = info["receive"]["USDC"]
    check(usdc["quotes_supported"] is True and usdc["quotes_required"] is False,
          "GET /info quotes", usdc)
    sender_type = next(iter(usdc["sep12"]["sender"]["types"]))
    receiver_type = next(iter(usdc["sep12"]["receiver"]["types"]))
    method = usdc["funding_methods"][0]
    status, err = call("GET", f"{sep31}/info")
    check(status == 403 and "error" in err, "GET /info without a token", err)
    status, err = call("GET", f"{sep31}/info", stranger)
    check(status == 403 and "error" in err, "GET /info by a non-partner", err)

    # SEP-12: the sender and the receiver, each under a memo of the partner.
    def put_customer(memo, kind, fields):
        body = {"memo": str(memo), "memo_type": "id", "type": kind, **fields}
        status, got = call("PUT", f"{kyc}/customer", token, data=body)
        check(status == 202 and "id" in got, f"PUT /customer {kind}", got)
        return got["id"]

    sender_id = put_customer(1001, sender_type, {
        "first_name": "Ana", "last_name": "Silva", "email_address": "ana@example.com"})
    status, need = call("GET", f"{kyc}/customer", token,
                        params={"id": sender_id, "type": sender_type})
    check(status == 200 and need["status"] in ("PROCESSING", "NEEDS_INFO"), "GET /customer", need)
    receiver_fields = {"first_name": "Bea", "last_name": "Souza",
                       "email_address": "bea@example.com"}
    status, spec = call("GET", f"{kyc}/customer", token,
                        params={"memo": "1002", "memo_type": "id", "type": receiver_type})
    # Whatever else the receiving anchor asks for (SEP-12 §fields), the
    # required ones only, a choice where it gives choices.
    samples = {"bank_account_number": "123456", "bank_number": "001",
               "address": "Rua 1, Sao Paulo"}
    for name, field in spec.get("fields", {}).items():
        if not field.get("optional", False):
            choices = field.get("choices") or [samples.get(name, "x")]
            receiver_fields.setdefault(name, choices[0])
    receiver_id = put_customer(1002, receiver_type, receiver_fields)

    body = {"amount": "101.00", "asset_code": "USDC", "funding_method": method,
            "sender_id": sender_id, "receiver_id": receiver_id}
    status, err = call("POST", f"{sep31}/transactions", token, json=body)
    check(status == 400 and err == {"error": "customer_info_needed", "type": sender_type},
          "POST /transactions before KYC", err)

    # The receiving anchor reviews them (the test accepts both).
    print(json.dumps({"sender_id": sender_id, "receiver_id": receiver_id}), flush=True)
    check(sys.stdin.readline().strip() == "accepted", "the test's go-ahead")

    # SEP-38: a firm quote for 101 USDC into BRL.
    q = {"sell_asset": usdc_asset(info, toml), "buy_asset": "iso4217:BRL",
         "sell_amount": "101", "context": "sep31"}
    status, quote = call("POST", f"{quotes}/quote", token, json=q)
    check(status == 201, "POST /quote", quote)

    body.update({"quote_id": quote["id"], "destination_asset": "iso4217:BRL"})
    status, created = call("POST", f"{sep31}/transactions", token, json=body)
    check(status == 201, "POST /transactions", created)
    check(set(created) == {"id", "stellar_account_id", "stellar_memo_type", "stellar_memo"},
          "POST /transactions fields", created)
    check(created["stellar_memo_type"] == "id" and created["stellar_memo"].isdigit(),
          "POST /transactions memo", created)
    Keypair.from_public_key(created["stellar_account_id"])

    status, got = call("GET", f"{sep31}/transactions/{created['id']}", token)
    check(status == 200, "GET /transactions/{id}", got)
    tx = got["transaction"]
    check(tx["status"] == "pending_sender", "status", tx)
    check(tx["amount_in"] == "101.0000000" and tx["amount_out"] == quote["buy_amount"],
          "amounts follow the quote", (tx, quote))
    check(tx["amount_fee"] == quote["fee"]["total"] and tx["fee_details"] == quote["fee"],
          "fee is the quote's", (tx, quote))
    check(tx["quote_id"] == quote["id"], "quote_id", tx)
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tx["started_at"]) is not None,
          "started_at", tx)

    status, none = call("PUT", f"{sep31}/transactions/{created['id']}/callback", token,
                        json={"url": "https://sender.example.com/sep31/callback"})
    check(status == 204, "PUT /transactions/{id}/callback", none)

    status, err = call("POST", f"{sep31}/transactions", token, json=body)
    check(status == 400 and err == {"error": "quote already used"}, "the quote again", err)
    status, err = call("GET", f"{sep31}/transactions/{created['id']}", stranger)
    check(status == 403, "GET /transactions/{id} by a non-partner", err)

    print(json.dumps({"created": created, "transaction": tx, "quote": quote}))


def usdc_asset(info, toml):
    """stellar:USDC:<issuer>, from the stellar.toml's CURRENCIES or the
    quote server's /info."""
    for c in toml.get("CURRENCIES", []):
        if c.get("code") == "USDC":
            return f"stellar:USDC:{c['issuer']}"
    res = requests.get(toml["ANCHOR_QUOTE_SERVER"] + "/info", timeout=10).json()
    return next(a["asset"] for a in res["assets"] if a["asset"].startswith("stellar:USDC:"))


if __name__ == "__main__":
    main()
