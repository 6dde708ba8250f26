"""A SEP-10 server nobody here wrote, for Mooring's client to log in to.

Built from the standard library's http.server and the published Python
stellar-sdk's SEP-10 helpers (stellar_sdk.sep.stellar_web_authentication):
challenges come from build_challenge_transaction and signed challenges are
checked with read_challenge_transaction and
verify_challenge_transaction_signed_by_client_master_key (or
verify_challenge_transaction_threshold for accounts configured with
signers). Nothing in it comes from Mooring.

    python sep10_server.py '<JSON config>'

Config (every key optional):
    mode               "normal" (default), or a way to misbehave when building
                       challenges: "wrong_signer" (signed by a key other than
                       the stellar.toml SIGNING_KEY), "wrong_home_domain",
                       "wrong_web_auth_domain", "other_network" (built for
                       another passphrase, which the JSON answer names),
                       "other_network_quiet" (the same, but the JSON answer
                       names the stellar.toml's passphrase), "expired" (time
                       bounds an hour in the past), "wrong_memo" (another id
                       memo than the one asked for), "wrong_client_domain"
                       (another client domain than the one asked for, with
                       the asked one's key as the operation's source).
    client_domain_key  the SIGNING_KEY of the client domain (G...), which a
                       real server would read from the client domain's
                       stellar.toml; required for client_domain requests.
    accounts           {"G...": {"signers": [["G...", weight], ...],
                                 "threshold": n}}: accounts that "exist", whose
                       signatures are checked with
                       verify_challenge_transaction_threshold.

Prints its base URL (http://127.0.0.1:<port>) as the first line of stdout.
Serves:
    GET  /.well-known/stellar.toml
    GET  /auth?account=&memo=&home_domain=&client_domain=   a challenge
    POST /auth {"transaction": ...}  -> {"token": base64url(JSON of what was
                                        verified)} or 400 {"error": ...}
    GET  /posts -> {"count": POSTs to /auth, "challenges": GETs of /auth}
Stops when stdin closes or on SIGTERM.
"""

import base64
import json
import signal
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import stellar_sdk.sep.stellar_web_authentication as sep10
from stellar_sdk import Keypair, MuxedAccount, Network
from stellar_sdk.sep.ed25519_public_key_signer import Ed25519PublicKeySigner
from stellar_sdk.sep.exceptions import InvalidSep10ChallengeError

PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
OTHER_PASSPHRASE = Network.PUBLIC_NETWORK_PASSPHRASE

config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
mode = config.get("mode", "normal")
server_kp = Keypair.random()
impostor_kp = Keypair.random()
client_domain_key = config.get("client_domain_key")
accounts = config.get("accounts", {})

counts = {"posts": 0, "challenges": 0}
counts_lock = threading.Lock()
# build_challenge_transaction reads the clock through the module's `time`;
# "expired" swaps it for a clock an hour behind while it builds.
clock_lock = threading.Lock()


def build(account, home_domain, web_auth_domain, memo, client_domain):
    secret = server_kp.secret
    passphrase = PASSPHRASE
    if mode == "wrong_signer":
        secret = impostor_kp.secret
    elif mode == "wrong_home_domain":
        home_domain = "anchor.example.com"
    elif mode == "wrong_web_auth_domain":
        web_auth_domain = "auth.example.com"
    elif mode in ("other_network", "other_network_quiet"):
        passphrase = OTHER_PASSPHRASE
    elif mode == "wrong_memo":
        memo = (memo or 0) + 1
    elif mode == "wrong_client_domain" and client_domain:
        client_domain = "other-wallet.example.org"
    kwargs = dict(
        server_secret=secret,
        client_account_id=account,
        home_domain=home_domain,
        web_auth_domain=web_auth_domain,
        network_passphrase=passphrase,
        timeout=900,
        client_domain=client_domain,
        client_signing_key=client_domain_key if client_domain else None,
        memo=memo,
    )
    if mode != "expired":
        return sep10.build_challenge_transaction(**kwargs), passphrase
    with clock_lock:
        real = sep10.time
        then = time.time() - 3600
        sep10.time = types.SimpleNamespace(time=lambda: then)
        try:
            return sep10.build_challenge_transaction(**kwargs), passphrase
        finally:
            sep10.time = real


def b64url(obj):
    raw = json.dumps(obj, sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Handler(BaseHTTPRequestHandler):
    server_version = "py-stellar-sdk-sep10/1"

    def log_message(self, fmt, *args):  # keep test output readable
        sys.stderr.write("sep10_server: " + (fmt % args) + "\n")

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def home_domain(self):
        # What Mooring's client (and stellar-sdk's fetch_stellar_toml) take
        # for the home domain of http://127.0.0.1:<port>: host and port.
        return f"127.0.0.1:{self.server.server_address[1]}"

    def web_auth_domain(self):
        # The WEB_AUTH_ENDPOINT's host, without the port.
        return "127.0.0.1"

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/.well-known/stellar.toml":
            toml = (
                f'NETWORK_PASSPHRASE = "{PASSPHRASE}"\n'
                f'SIGNING_KEY = "{server_kp.public_key}"\n'
                f'WEB_AUTH_ENDPOINT = "{self.base()}/auth"\n'
            )
            return self.reply(200, toml.encode(), "text/plain")
        if url.path == "/posts":
            with counts_lock:
                return self.reply(
                    200, {"count": counts["posts"], "challenges": counts["challenges"]}
                )
        if url.path != "/auth":
            return self.reply(404, {"error": "not found"})
        with counts_lock:
            counts["challenges"] += 1
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        account = q.get("account")
        if not account:
            return self.reply(400, {"error": "account is required"})
        home_domain = q.get("home_domain", self.home_domain())
        if home_domain != self.home_domain():
            return self.reply(400, {"error": f"home_domain {home_domain} is not served here"})
        memo = None
        if "memo" in q:
            try:
                memo = int(q["memo"])
            except ValueError:
                return self.reply(400, {"error": "memo must be an id"})
        client_domain = q.get("client_domain")
        if client_domain and not client_domain_key:
            return self.reply(400, {"error": "unknown client_domain"})
        try:
            xdr, passphrase = build(
                account, home_domain, self.web_auth_domain(), memo, client_domain
            )
        except Exception as e:  # noqa: BLE001 - the SDK's ValueErrors
            return self.reply(400, {"error": str(e)})
        if mode == "other_network_quiet":
            passphrase = PASSPHRASE
        self.reply(200, {"transaction": xdr, "network_passphrase": passphrase})

    def do_POST(self):
        url = urlparse(self.path)
        if url.path != "/auth":
            return self.reply(404, {"error": "not found"})
        with counts_lock:
            counts["posts"] += 1
        length = int(self.headers.get("Content-Length") or 0)
        try:
            xdr = json.loads(self.rfile.read(length))["transaction"]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "expected JSON {\"transaction\": ...}"})
        args = (
            xdr,
            server_kp.public_key,
            self.home_domain(),
            self.web_auth_domain(),
            PASSPHRASE,
        )
        try:
            read = sep10.read_challenge_transaction(*args)
            client = read.client_account_id
            base_account = client
            if client.startswith("M"):
                base_account = MuxedAccount.from_account(client).account_id
            if base_account in accounts:
                acct = accounts[base_account]
                signers = [Ed25519PublicKeySigner(k, w) for k, w in acct["signers"]]
                found = sep10.verify_challenge_transaction_threshold(
                    *args, acct["threshold"], signers
                )
                signed_by = sorted(s.account_id for s in found)
                how = "threshold"
            else:
                sep10.verify_challenge_transaction_signed_by_client_master_key(*args)
                signed_by = [base_account]
                how = "master_key"
        except (InvalidSep10ChallengeError, ValueError) as e:
            return self.reply(400, {"error": str(e)})
        client_domain = None
        for op in read.transaction.transaction.operations:
            if getattr(op, "data_name", None) == "client_domain":
                # verify_challenge_transaction_signers has checked this
                # operation's source signed.
                client_domain = {
                    "domain": op.data_value.decode(),
                    "key": op.source.account_id,
                }
        token = b64url(
            {
                "account": client,
                "memo": read.memo,
                "home_domain": read.matched_home_domain,
                "client_domain": client_domain,
                "signed_by": signed_by,
                "verified_with": how,
                "signatures": len(read.transaction.signatures),
            }
        )
        self.reply(200, {"token": token})


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin():
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    while not stop.wait(0.2):
        pass
    httpd.shutdown()
    httpd.server_close()


if __name__ == "__main__":
    main()
