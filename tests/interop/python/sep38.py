"""SEP-38 interop with the published Python stellar-sdk.

  sep38.py BASE_URL PARTNER_SECRET

Discovers a running Mooring from its stellar.toml (ANCHOR_QUOTE_SERVER,
WEB_AUTH_ENDPOINT), signs in as the partner's account with stellar-sdk's
SEP-10 helpers (read_challenge_transaction, as a wallet does), and as a
fresh account with no agreement; then drives GET /info, /prices, /price,
POST /quote and GET /quote/{id} over plain HTTP, asserting statuses and
fields; checks that the token is read from the Authorization header only
(a ?jwt= is ignored) and that HTTP Basic auth, as requests sends it, is
refused. Expects the server of crates/server/tests/sep38/interop.rs: BRL
sold for USDC at 5, fee 2 BRL + 1 %. Prints what it saw as JSON.
"""

import json
import re
import sys
from urllib.parse import urlparse

import requests
from stellar_sdk import Keypair
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml

from partner import call, check, login

USDC = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
BRL = "iso4217:BRL"


def main():
    base_url, secret = sys.argv[1], sys.argv[2]
    host = urlparse(base_url).netloc
    toml = fetch_stellar_toml(host, use_http=True)
    quotes = toml.get("ANCHOR_QUOTE_SERVER")
    check(quotes == base_url.rstrip("/") + "/sep38", "ANCHOR_QUOTE_SERVER", quotes)
    partner = Keypair.from_secret(secret)
    token = login(toml, host, partner)
    stranger = login(toml, host, Keypair.random())

    # Indicative: answered without a token.
    status, info = call("GET", f"{quotes}/info")
    check(status == 200, "GET /info", info)
    check([a["asset"] for a in info["assets"]] == [USDC, BRL], "GET /info assets", info)

    status, prices = call("GET", f"{quotes}/prices",
                          params={"sell_asset": BRL, "sell_amount": "542"})
    check(status == 200, "GET /prices", prices)
    check(len(prices["buy_assets"]) == 1, "GET /prices entries", prices)
    entry = prices["buy_assets"][0]
    check(entry["asset"] == USDC and entry["decimals"] == 7, "GET /prices entry", entry)

    params = {"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"}
    status, price = call("GET", f"{quotes}/price", params=params)
    check(status == 200, "GET /price", price)
    # fee 2 + 5.42 = 7.42 BRL; (542 - 7.42) / 5 = 106.916 USDC.
    expected = {"price": "5", "sell_amount": "542.00", "buy_amount": "106.9160000",
                "fee": {"total": "7.42", "asset": BRL}}
    for k, v in expected.items():
        check(price[k] == v, f"GET /price {k}", price)
    check(price["total_price"] == entry["price"], "/prices price is /price total_price",
          (price, entry))

    # Firm: a partner's token.
    body = {"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542",
            "sell_delivery_method": "PIX", "context": "sep31"}
    status, quote = call("POST", f"{quotes}/quote", token, json=body)
    check(status == 201, "POST /quote", quote)
    for k, v in expected.items():
        check(quote[k] == v, f"POST /quote {k}", quote)
    check(quote["sell_asset"] == BRL and quote["buy_asset"] == USDC, "POST /quote assets", quote)
    check(quote["sell_delivery_method"] == "PIX", "POST /quote sell_delivery_method", quote)
    check(quote["total_price"] == price["total_price"], "POST /quote total_price", quote)
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", quote["expires_at"]) is not None,
          "POST /quote expires_at", quote)
    status, again = call("GET", f"{quotes}/quote/{quote['id']}", token)
    check(status == 200 and again == quote, "GET /quote/{id}", again)

    # Without a token, or without an agreement: 403.
    status, err = call("POST", f"{quotes}/quote", json=body)
    check(status == 403 and "error" in err, "POST /quote without a token", err)
    status, err = call("POST", f"{quotes}/quote", stranger, json=body)
    check(status == 403 and "error" in err, "POST /quote by a non-partner", err)
    status, err = call("GET", f"{quotes}/quote/{quote['id']}", stranger)
    check(status == 403 and "error" in err, "GET /quote/{id} by a non-partner", err)

    # The token comes from the Authorization header only: a ?jwt= is not
    # read, and a header that is not "Bearer <token>" (requests' HTTP Basic
    # auth) is refused even where a token is optional.
    res = requests.get(f"{quotes}/info", auth=("alice", "secret"), timeout=10)
    check(res.status_code == 403 and "error" in res.json(), "GET /info with HTTP Basic auth",
          res.text)
    status, anonymous = call("GET", f"{quotes}/info", params={"jwt": stranger})
    check(status == 200 and anonymous == info, "GET /info?jwt=<a non-partner's token>",
          anonymous)
    status, err = call("POST", f"{quotes}/quote", params={"jwt": token}, json=body)
    check(status == 403 and "error" in err, "POST /quote?jwt=<the partner's token>", err)

    print(json.dumps({"quote": quote, "price": price, "info": info}))


if __name__ == "__main__":
    main()
