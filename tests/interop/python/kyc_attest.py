"""`POST /kyc-attest` signatures checked by an implementation nobody here
wrote: the 123 signed bytes rebuilt field by field from docs/kyc.md, with
the published stellar-sdk decoding the G… keys and PyNaCl (libsodium)
doing ed25519.

  verify PASSPHRASE ATTESTER_G TARGET_G BIRTHDAY EXPIRES MESSAGE_HEX SIG_HEX
      Rebuild the message (BIRTHDAY '' for none), check it is MESSAGE_HEX
      byte for byte and that SIG_HEX is the attester's signature of it;
      print {"message", "verified"} as JSON. Exit 1 on any difference.

  sign PASSPHRASE ATTESTER_SEED_HEX TARGET_G BIRTHDAY EXPIRES
      Sign the rebuilt message with the ed25519 seed and print the
      request's fields as JSON: {"attester_pub", "attester_sig" (base64),
      "message" (hex)}.
"""

import base64
import hashlib
import json
import struct
import sys

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from stellar_sdk import StrKey

SIZE = 123
PURPOSE = 0x4B594341  # "KYCA"


def birthday_bytes(birthday):
    """ASCII YYYY-MM-DD and a NUL, or 11 zero bytes when none."""
    if not birthday:
        return b"\0" * 11
    raw = birthday.encode("ascii")
    if len(raw) != 10 or raw[4:5] != b"-" or raw[7:8] != b"-":
        raise SystemExit(f"not a YYYY-MM-DD birthday: {birthday!r}")
    return raw + b"\0"


def message(passphrase, attester, target, birthday, expires):
    parts = [
        struct.pack(">II", SIZE, PURPOSE),  # offset 0: size, 4: purpose
        hashlib.sha256(passphrase.encode("utf-8")).digest(),  # 8: network id
        StrKey.decode_ed25519_public_key(attester),  # 40: attester key
        StrKey.decode_ed25519_public_key(target),  # 72: target key
        birthday_bytes(birthday),  # 104: birthday
        struct.pack(">Q", expires),  # 115: expiry
    ]
    m = b"".join(parts)
    assert len(m) == SIZE, len(m)
    return m


def verify(passphrase, attester, target, birthday, expires, message_hex, sig_hex):
    m = message(passphrase, attester, target, birthday, int(expires))
    if m.hex() != message_hex.lower():
        print(f"message differs:\n python {m.hex()}\n rust   {message_hex}", file=sys.stderr)
        sys.exit(1)
    key = VerifyKey(StrKey.decode_ed25519_public_key(attester))
    try:
        key.verify(m, bytes.fromhex(sig_hex))
    except BadSignatureError:
        print("the signature does not verify", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"message": m.hex(), "verified": True}))


def sign(passphrase, seed_hex, target, birthday, expires):
    key = SigningKey(bytes.fromhex(seed_hex))
    attester = StrKey.encode_ed25519_public_key(bytes(key.verify_key))
    m = message(passphrase, attester, target, birthday, int(expires))
    sig = key.sign(m).signature
    print(
        json.dumps(
            {
                "attester_pub": attester,
                "attester_sig": base64.b64encode(sig).decode("ascii"),
                "message": m.hex(),
            }
        )
    )


def main(argv):
    if len(argv) == 8 and argv[0] == "verify":
        verify(*argv[1:])
    elif len(argv) == 6 and argv[0] == "sign":
        sign(*argv[1:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
