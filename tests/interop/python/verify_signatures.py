"""Checks the signatures of a transaction envelope with the published Python
stellar-sdk, for Rust tests to compare with what Mooring computed.

  verify_signatures.py JSON

JSON is an object: {"envelope": base64 XDR of a transaction envelope,
"network_passphrase": the network's passphrase, "keys": [G... keys]}. The
envelope is parsed with stellar_sdk.TransactionEnvelope.from_xdr and its hash
computed by stellar-sdk; a key counts as having signed when one of the
envelope's signatures carries its hint and verifies with
Keypair.from_public_key(key).verify(hash, signature). Prints one JSON object:

  {"hash": hex, "signatures": n, "results": [{"key": G..., "verified": bool}]}
"""

import json
import sys

from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.exceptions import BadSignatureError


def signed_by(key, tx_hash, signatures):
    keypair = Keypair.from_public_key(key)
    hint = keypair.signature_hint()
    for decorated in signatures:
        if decorated.signature_hint != hint:
            continue
        try:
            keypair.verify(tx_hash, decorated.signature)
            return True
        except BadSignatureError:
            continue
    return False


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    given = json.loads(sys.argv[1])
    envelope = TransactionEnvelope.from_xdr(
        given["envelope"], given["network_passphrase"]
    )
    tx_hash = envelope.hash()
    results = [
        {"key": key, "verified": signed_by(key, tx_hash, envelope.signatures)}
        for key in given["keys"]
    ]
    print(
        json.dumps(
            {
                "hash": tx_hash.hex(),
                "signatures": len(envelope.signatures),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
