// SEP-30 interop with the published @stellar/typescript-wallet-sdk: enroll
// an account with two recovery servers (SEP-10 auth to each), read the
// account back with identity-provider tokens, then recover it — a new
// device key added by a transaction both servers sign with
// signWithRecoveryServers. Signatures are checked with @stellar/stellar-sdk.
//
//   node sep30.mjs '<JSON: horizon, servers, secrets, identities, tokens>'
//
// Prints one JSON object with what each step saw; exits non-zero on failure.
import walletSdk from "@stellar/typescript-wallet-sdk";
import { Horizon, Keypair, Networks } from "@stellar/stellar-sdk";

const {
  Wallet,
  StellarConfiguration,
  SigningKeypair,
} = walletSdk;
const { AuthToken, RecoveryRole, RecoveryType } = walletSdk.Types;

const cfg = JSON.parse(process.argv[2]);
// The SDK refuses an http:// Horizon; the stand-in on loopback is http.
const stellar = new StellarConfiguration({
  network: Networks.TESTNET,
  horizonUrl: "https://horizon.invalid",
});
stellar.server = new Horizon.Server(cfg.horizon, { allowHttp: true });
stellar.horizonUrl = cfg.horizon;
const wallet = new Wallet({ stellarConfiguration: stellar });
const recovery = wallet.recovery({ servers: cfg.servers });
const seen = {};

const account = SigningKeypair.fromSecret(cfg.accountSecret);
const device = SigningKeypair.fromSecret(cfg.deviceSecret);
const identity = (email) => [
  { role: RecoveryRole.OWNER, authMethods: [{ type: RecoveryType.EMAIL, value: email }] },
];
const created = await recovery.createRecoverableWallet({
  accountAddress: account,
  deviceAddress: device,
  accountThreshold: { low: 10, medium: 10, high: 10 },
  accountIdentity: {
    first: identity(cfg.identities.first),
    second: identity(cfg.identities.second),
  },
  signerWeight: { device: 10, recoveryServer: 5 },
});
seen.signers = created.signers;
seen.registration = created.transaction.toXDR();

// Read back as the person, with the tokens of each server's sign-in.
const auth = {
  first: AuthToken.from(cfg.tokens.first),
  second: AuthToken.from(cfg.tokens.second),
};
seen.info = await recovery.getAccountInfo(account, auth);

// Recovery: a new device key, signed for by both servers.
const newDevice = SigningKeypair.fromSecret(cfg.newDeviceSecret);
const builder = await wallet.stellar().transaction({ sourceAddress: account });
const tx = builder.addAccountSigner(newDevice, 10).build();
const signed = await recovery.signWithRecoveryServers(tx, account, {
  first: { signerAddress: created.signers[0], authToken: auth.first },
  second: { signerAddress: created.signers[1], authToken: auth.second },
});
seen.recovery = signed.toXDR();
seen.hash = signed.hash().toString("hex");
seen.verified = created.signers.map((key) =>
  signed.signatures.some((s) => Keypair.fromPublicKey(key).verify(signed.hash(), s.signature())),
);
console.log(JSON.stringify(seen));
