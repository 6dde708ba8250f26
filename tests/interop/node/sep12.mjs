// SEP-12 interop with the published @stellar/typescript-wallet-sdk: log in
// with its SEP-10 client, then put, get, update and delete a customer with
// its SEP-12 client, against a running `mooring serve`.
//
//   node sep12.mjs <home domain, e.g. localhost:8000>
//
// Prints one JSON object with what each step saw; exits non-zero on failure.
import walletSdk from "@stellar/typescript-wallet-sdk";

const { Wallet, SigningKeypair } = walletSdk;

const homeDomain = process.argv[2];
const wallet = Wallet.TestNet();
const anchor = wallet.anchor({ homeDomain, allowHttp: true });
const seen = {};

const kp = SigningKeypair.fromSecret(wallet.stellar().account().createKeypair().secretKey);
const sep10 = await anchor.sep10();
const authToken = await sep10.authenticate({ accountKp: kp });
seen.account = authToken.account;

const sep12 = await anchor.sep12(authToken);
// A JPEG header: enough for the server's magic-byte check.
const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from("a passport photo")]);
const added = await sep12.add({
  type: "sep31-sender",
  sep9Info: { first_name: "Grace", last_name: "Hopper" },
  sep9BinaryInfo: { photo_id_front: photo },
});
seen.id = added.id;

const first = await sep12.getCustomer({ id: added.id, type: "sep31-sender" });
seen.firstStatus = first.status;
seen.firstMissing = Object.keys(first.fields || {});

await sep12.update({ id: added.id, type: "sep31-sender", sep9Info: { email_address: "grace@example.com" } });
const second = await sep12.getCustomer({ id: added.id, type: "sep31-sender" });
seen.secondStatus = second.status;
seen.provided = Object.keys(second.provided_fields || {}).sort();

await sep12.delete();
try {
  await sep12.getCustomer({ type: "sep31-sender" });
  seen.afterDelete = "still there";
} catch (e) {
  seen.afterDelete = e.constructor.name;
}
console.log(JSON.stringify(seen));
