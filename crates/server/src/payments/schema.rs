//! SEP-31's answers, and the admin API's, as the OpenAPI description shows
//! them. The service writes them as JSON ([`super::service`],
//! [`super::view`], [`super::staff`]); these structs describe that JSON,
//! field for field, and are never built.
#![allow(dead_code)] // described, written as `json!` by the service

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditEntry;

/// SEP-31 §GET Info.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Info)]
pub struct Info {
    /// The Stellar assets received, by asset code.
    receive: BTreeMap<String, InfoAsset>,
}

/// SEP-31 §GET Info, Asset Object Schema. Figures are the caller's
/// partner's where it has its own, else the asset's.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::InfoAsset)]
pub struct InfoAsset {
    /// SEP-38 `GET /prices` offers off-chain assets for it.
    quotes_supported: bool,
    /// Only at a firm SEP-38 quote.
    quotes_required: bool,
    /// How the receiving anchor delivers it: the `funding_method` values.
    funding_methods: Vec<String>,
    /// The SEP-12 types of senders and receivers (deprecated in SEP-31,
    /// still read by clients).
    sep12: Sep12Types,
    /// A fixed fee, in units of the asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    fee_fixed: Option<f64>,
    /// A fee in percent of the amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    fee_percent: Option<f64>,
    /// The least amount; no minimum when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    min_amount: Option<f64>,
    /// The most; no maximum when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    max_amount: Option<f64>,
}

/// SEP-31 §`sep12` Object Schema.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Sep12)]
pub struct Sep12Types {
    /// For the sending client.
    sender: Types,
    /// For the receiving client.
    receiver: Types,
}

/// SEP-31 §`types` Object Schema.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Types)]
pub struct Types {
    /// The SEP-12 `type` values, each with a description.
    types: BTreeMap<String, TypeDescription>,
}

/// One SEP-12 type.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::TypeDescription)]
pub struct TypeDescription {
    /// For people.
    description: String,
}

/// SEP-31 §POST Transactions request (Request Parameters). `null` is
/// taken as absent.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep31::CreateRequest)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The amount of the Stellar asset sent: a positive decimal of at most
    /// 7 places, as a string or a number.
    #[schema(value_type = Amount, required = true, nullable = false)]
    amount: Option<serde_json::Value>,
    /// One of `GET /info`'s `receive` codes.
    #[schema(required = true, nullable = false)]
    asset_code: Option<String>,
    /// Its issuer, when the code alone is ambiguous.
    asset_issuer: Option<String>,
    /// One of the asset's `funding_methods`.
    #[schema(required = true, nullable = false)]
    funding_method: Option<String>,
    /// The off-chain asset delivered (SEP-38 asset of `GET /prices`);
    /// with `quote_id`, its `buy_asset`.
    destination_asset: Option<String>,
    /// A firm SEP-38 quote of the caller's, for `context` `sep31`, unused
    /// and unexpired; `amount` must be its `sell_amount`.
    quote_id: Option<String>,
    /// The sending client's SEP-12 id, ACCEPTED as one of the sender
    /// types.
    sender_id: Option<String>,
    /// The receiving client's SEP-12 id, ACCEPTED as one of the receiver
    /// types.
    receiver_id: Option<String>,
    /// Accepted and ignored: every answer is in English.
    lang: Option<String>,
    /// The memo refunds are sent with; with `refund_memo_type`.
    refund_memo: Option<String>,
    /// `id`, `text` or `hash`; with `refund_memo`.
    refund_memo_type: Option<String>,
    /// Deprecated and not taken: only an empty object is accepted (SEP-9
    /// fields go through SEP-12 `PUT /customer`).
    #[schema(value_type = Option<Object>)]
    fields: Option<serde_json::Value>,
}

/// An amount, as a decimal string or a JSON number.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Amount)]
#[serde(untagged)]
pub enum Amount {
    /// `"100.5"`.
    Text(String),
    /// `100.5`.
    Number(f64),
}

/// SEP-31 §POST Transactions, 201 Created.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Created)]
pub struct Created {
    /// The transaction's id (a UUID).
    id: String,
    /// The Stellar account to pay.
    stellar_account_id: String,
    /// Always `id`.
    #[schema(pattern = "^id$")]
    stellar_memo_type: String,
    /// The id memo to pay with, which matches the payment to the
    /// transaction.
    stellar_memo: String,
}

/// A 400 of SEP-31 §POST Transactions: an `error`, and with
/// `customer_info_needed` the SEP-12 `type` to complete (§Customer Info
/// Needed).
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::CreateError)]
pub struct CreateError {
    /// What is wrong; `customer_info_needed` when a sender or receiver is
    /// missing, not the caller's, or not ACCEPTED.
    error: String,
    /// With `customer_info_needed` only: the SEP-12 `type` to use in
    /// `GET /customer` and `PUT /customer`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    kind: Option<String>,
}

/// SEP-31 §PUT Transaction Callback request.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep31::CallbackRequest)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    /// Where status changes are POSTed: `https`, resolving to a public
    /// address, not the anchor's own webhook host.
    #[schema(format = "uri")]
    url: String,
}

/// SEP-31 §PATCH Transaction request (deprecated): never applied here.
#[derive(Deserialize, ToSchema)]
#[schema(as = sep31::PatchRequest)]
pub struct PatchRequest {
    /// The fields to update.
    #[schema(value_type = Option<Object>)]
    fields: Option<serde_json::Value>,
}

/// SEP-31 §GET Transaction.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::TransactionResponse)]
pub struct TransactionResponse {
    /// The transaction.
    transaction: Transaction,
}

/// A transaction's status (SEP-31 §GET Transaction, `status`).
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = sep31::Status)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Awaiting the sending anchor's payment.
    PendingSender,
    /// Submitted to Stellar, not yet confirmed.
    PendingStellar,
    /// The sending anchor must update a customer through SEP-12.
    PendingCustomerInfoUpdate,
    /// Paid; the receiving anchor is processing it.
    PendingReceiver,
    /// Paid out on an external network, not yet confirmed.
    PendingExternal,
    /// Delivered to the receiver.
    Completed,
    /// Refunded to the sending anchor.
    Refunded,
    /// Never paid in time.
    Expired,
    /// Anything else.
    Error,
}

/// SEP-31 §GET Transaction, `transaction` Object Schema: the fields it
/// defines that Mooring knows.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Transaction)]
pub struct Transaction {
    /// Its id (a UUID).
    id: String,
    /// Where it is.
    status: Status,
    /// For people: why it is where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    status_message: Option<String>,
    /// The amount of the Stellar asset to receive, 7 decimal places.
    amount_in: String,
    /// Its SEP-38 asset, `stellar:CODE:ISSUER`.
    amount_in_asset: String,
    /// What the receiver gets, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    amount_out: Option<String>,
    /// Its SEP-38 asset, when a quote or `destination_asset` named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    amount_out_asset: Option<String>,
    /// The fee (deprecated in SEP-31 for `fee_details`).
    amount_fee: String,
    /// Its SEP-38 asset.
    amount_fee_asset: String,
    /// SEP-31 §Fee Details Object Schema; the quote's `fee` with a quote.
    fee_details: FeeDetails,
    /// The quote taken, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    quote_id: Option<String>,
    /// The account to pay.
    stellar_account_id: String,
    /// Always `id`.
    #[schema(pattern = "^id$")]
    stellar_memo_type: String,
    /// The id memo to pay with.
    stellar_memo: String,
    /// ISO 8601 UTC.
    #[schema(format = DateTime)]
    started_at: String,
    /// When it reached its status, ISO 8601 UTC.
    #[schema(format = DateTime)]
    updated_at: String,
    /// When completed, ISO 8601 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    completed_at: Option<String>,
    /// The Stellar transaction of the (last) payment received.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    stellar_transaction_id: Option<String>,
    /// The payout's reference on the external network.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    external_transaction_id: Option<String>,
    /// With `refunds`: whether it was refunded in full (deprecated in
    /// SEP-31).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    refunded: Option<bool>,
    /// The refund, once made (SEP-31 §Refunds Object Schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    refunds: Option<Refunds>,
    /// While `pending_customer_info_update`: what the sender must update.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    required_info_message: Option<String>,
}

/// SEP-31 §Fee Details Object Schema.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::FeeDetails)]
pub struct FeeDetails {
    /// The whole fee.
    total: String,
    /// Its SEP-38 asset.
    asset: String,
    /// Its parts, when the quote's fee had them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    details: Option<Vec<FeeDetail>>,
}

/// SEP-31 §Fee Details Details Object Schema.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::FeeDetail)]
pub struct FeeDetail {
    /// Its name.
    name: String,
    /// For people.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    description: Option<String>,
    /// Its amount.
    amount: String,
}

/// SEP-31 §Refunds Object Schema.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::Refunds)]
pub struct Refunds {
    /// Sent back, in `amount_in_asset`.
    amount_refunded: String,
    /// Kept for refunding.
    amount_fee: String,
    /// The refund payments.
    payments: Vec<RefundPayment>,
}

/// SEP-31 §Refund Payment Object Schema.
#[derive(Serialize, ToSchema)]
#[schema(as = sep31::RefundPayment)]
pub struct RefundPayment {
    /// The Stellar transaction hash.
    id: String,
    /// Sent back.
    amount: String,
    /// Kept.
    fee: String,
}

/// A transaction as staff and the business server see it: SEP-31's
/// object, with whose it is and what only the receiving anchor knows.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::Transaction)]
pub struct StaffTransaction {
    #[serde(flatten)]
    public: Transaction,
    /// The partner (`[[partners]]` name) that created it.
    partner: String,
    /// The partner's `G…` account that created it.
    account: String,
    /// Its id memo, when the token had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    memo: Option<String>,
    /// How the receiver is paid.
    funding_method: String,
    /// The sender's SEP-12 id.
    sender_id: String,
    /// The SEP-12 type the sender is accepted as.
    sender_type: String,
    /// The receiver's SEP-12 id.
    receiver_id: String,
    /// The SEP-12 type the receiver is accepted as.
    receiver_type: String,
    /// As the partner asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    destination_asset: Option<String>,
    /// Paid so far, when paid in part or more than asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    amount_received: Option<String>,
    /// The memo refunds are sent with, as the partner asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    refund_memo: Option<String>,
    /// Its type.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    refund_memo_type: Option<String>,
    /// Unpaid past this, it expires; ISO 8601 UTC.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// `GET /admin/transactions`.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::TransactionList)]
pub struct StaffList {
    /// Oldest first.
    transactions: Vec<StaffTransaction>,
}

/// `POST /admin/transactions/{id}/status` and `…/refund`.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::TransactionResponse)]
pub struct StaffResponse {
    /// The transaction as it is now.
    transaction: StaffTransaction,
}

/// `GET /admin/transactions/{id}`.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::TransactionDetail)]
pub struct StaffDetail {
    /// The transaction, with its history.
    transaction: StaffTransactionHistory,
}

/// A transaction with its history.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::TransactionWithHistory)]
pub struct StaffTransactionHistory {
    #[serde(flatten)]
    transaction: StaffTransaction,
    /// Its audit log entries, oldest first.
    history: Vec<AuditEntry>,
}

/// `POST /admin/transactions/{id}/status`.
#[derive(Deserialize, ToSchema)]
#[schema(as = admin::StatusUpdate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// Where to (docs/payments.md §Status machine).
    status: Status,
    /// For the sending anchor: its `status_message`, or with
    /// `pending_customer_info_update` its `required_info_message`; at most
    /// 500 characters.
    message: Option<String>,
    /// The payout's reference; at most 500 characters.
    external_transaction_id: Option<String>,
    /// What the receiver gets: a positive amount; needed to complete when
    /// not known yet.
    amount_out: Option<String>,
    /// With `pending_customer_info_update`: `sender` or `receiver`.
    customer: Option<String>,
    /// With `pending_customer_info_update`: the SEP-9 fields to give
    /// again, 1 to 50.
    fields: Option<Vec<String>>,
}

/// `POST /admin/transactions/{id}/refund`.
#[derive(Deserialize, ToSchema)]
#[schema(as = admin::Refund)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The refund's Stellar transaction hash, 64 hex digits.
    stellar_transaction_id: String,
    /// Sent back: a positive amount.
    amount: String,
    /// Kept for the refund: an amount, default 0.
    fee: Option<String>,
    /// For the sending anchor; at most 500 characters.
    message: Option<String>,
}

/// What the observer made of a payment.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = admin::PaymentOutcome)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Paid a transaction in full.
    Matched,
    /// Paid a transaction in part.
    Underpaid,
    /// Paid a transaction more than asked.
    Overpaid,
    /// For a transaction no longer waiting for it.
    Late,
    /// For a transaction of another asset.
    WrongAsset,
    /// Matches no transaction: staff must look at it.
    Unmatched,
}

/// `GET /admin/payments`.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::Payments)]
pub struct Observed {
    /// Newest first.
    payments: Vec<ObservedPayment>,
}

/// A payment to a distribution account, as the observer saw it on
/// Horizon.
#[derive(Serialize, ToSchema)]
#[schema(as = admin::Payment)]
pub struct ObservedPayment {
    /// Horizon's operation id.
    id: String,
    /// The distribution account paid.
    account: String,
    /// Who paid.
    from_account: String,
    /// `stellar:CODE:ISSUER` or `native`.
    asset: String,
    /// The amount.
    amount: String,
    /// Its memo, if any.
    #[schema(required = true)]
    memo: Option<String>,
    /// Its memo type, if any.
    #[schema(required = true)]
    memo_type: Option<String>,
    /// The Stellar transaction hash.
    stellar_transaction_id: String,
    /// The transaction it was matched to, if any.
    #[schema(required = true)]
    transaction_id: Option<String>,
    /// What the observer made of it.
    outcome: Outcome,
    /// When seen, unix seconds.
    created_at: i64,
}
