//! `mooring admin`: compliance staff's commands, over the admin API of a
//! running server (every read and decision is audited there).

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use mooring_server::config::Config;
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// Where the admin API is and who is acting.
#[derive(Args)]
pub struct AdminArgs {
    /// Base URL of the admin API. Default: http://<admin.bind>.
    #[arg(long, env = "MOORING_ADMIN_URL")]
    url: Option<String>,
    /// Admin token. Default: secrets.admin_token or the keys file.
    #[arg(long, env = "MOORING_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Who is acting, recorded in the audit log (letters, digits, @._-).
    #[arg(long, env = "MOORING_ADMIN_ACTOR")]
    actor: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Customers.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// SEP-30 recovery accounts.
    #[command(subcommand)]
    Recovery(RecoveryCommand),
    /// SEP-31 transactions received (docs/payments.md).
    #[command(subcommand)]
    Transactions(TransactionsCommand),
    /// The audit log, newest first.
    Audit {
        /// Only this customer's entries.
        #[arg(long)]
        customer: Option<String>,
        /// Entries at most.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum RecoveryCommand {
    /// Give an account a new signing key, listed first (key rotation); the
    /// old ones keep signing until the account's owner removes them.
    AddSigner {
        /// The account (G…).
        address: String,
    },
}

#[derive(Subcommand)]
enum TransactionsCommand {
    /// List transactions, oldest first.
    List {
        /// Only transactions in this status (pending_receiver, …).
        #[arg(long)]
        status: Option<String>,
        /// Only this partner's.
        #[arg(long)]
        partner: Option<String>,
        /// Page after this transaction id.
        #[arg(long)]
        after: Option<String>,
        /// Transactions at most (1 to 500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one transaction with its history.
    Show {
        /// Transaction id.
        id: String,
    },
    /// Move a transaction to another status; refused (409) when the
    /// status machine does not allow it.
    Update {
        /// Transaction id.
        id: String,
        /// pending_external, completed, pending_customer_info_update,
        /// pending_receiver or error.
        #[arg(long)]
        status: String,
        /// For the sending anchor.
        #[arg(long)]
        message: Option<String>,
        /// The payout's reference.
        #[arg(long)]
        external_transaction_id: Option<String>,
        /// The amount delivered (needed to complete when not known).
        #[arg(long)]
        amount_out: Option<String>,
        /// With pending_customer_info_update: sender or receiver.
        #[arg(long)]
        customer: Option<String>,
        /// With pending_customer_info_update: a SEP-9 field to give again
        /// (repeat for several).
        #[arg(long = "field")]
        fields: Vec<String>,
    },
    /// Record the refund of a paid transaction, which ends it refunded.
    Refund {
        /// Transaction id.
        id: String,
        /// The refund's Stellar transaction hash.
        #[arg(long)]
        stellar_transaction_id: String,
        /// Amount sent back.
        #[arg(long)]
        amount: String,
        /// Fee kept for the refund.
        #[arg(long)]
        fee: Option<String>,
        /// For the sending anchor.
        #[arg(long)]
        message: Option<String>,
    },
}

/// `?k=v&…` of the values given, form-encoded.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let given: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    reqwest::Url::parse_with_params("http://x/", &given)
        .ok()
        .and_then(|u| u.query().map(|q| format!("?{q}")))
        .unwrap_or_default()
}

fn transactions(c: TransactionsCommand) -> (Method, String, Option<Value>) {
    match c {
        TransactionsCommand::List {
            status,
            partner,
            after,
            limit,
        } => {
            let q = query(&[
                ("status", status),
                ("partner", partner),
                ("after", after),
                ("limit", Some(limit.to_string())),
            ]);
            (Method::GET, format!("/admin/transactions{q}"), None)
        }
        TransactionsCommand::Show { id } => {
            (Method::GET, format!("/admin/transactions/{id}"), None)
        }
        TransactionsCommand::Update {
            id,
            status,
            message,
            external_transaction_id,
            amount_out,
            customer,
            fields,
        } => (
            Method::POST,
            format!("/admin/transactions/{id}/status"),
            Some(json!({
                "status": status,
                "message": message,
                "external_transaction_id": external_transaction_id,
                "amount_out": amount_out,
                "customer": customer,
                "fields": (!fields.is_empty()).then_some(fields),
            })),
        ),
        TransactionsCommand::Refund {
            id,
            stellar_transaction_id,
            amount,
            fee,
            message,
        } => (
            Method::POST,
            format!("/admin/transactions/{id}/refund"),
            Some(json!({
                "stellar_transaction_id": stellar_transaction_id,
                "amount": amount,
                "fee": fee,
                "message": message,
            })),
        ),
    }
}

#[derive(Subcommand)]
enum CustomersCommand {
    /// List customers (no personal data).
    List {
        /// Only customers in this status.
        #[arg(long)]
        status: Option<String>,
        /// Page after this id.
        #[arg(long)]
        after: Option<String>,
        /// Customers at most.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one customer, decrypted (an audited read).
    Show {
        /// Customer id.
        id: String,
    },
    /// Accept the customer's provided fields (for a type).
    Accept {
        /// Customer id.
        id: String,
        /// Customer type; default its latest.
        #[arg(long = "type")]
        kind: Option<String>,
        /// Message shown to the customer.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject the customer for a type, finally.
    Reject {
        /// Customer id.
        id: String,
        /// Why (shown to the customer; required).
        #[arg(long)]
        reason: String,
        /// Customer type; default its latest.
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Ask for fields again.
    RequestInfo {
        /// Customer id.
        id: String,
        /// A field to ask for (repeat for several).
        #[arg(long = "field", required = true)]
        fields: Vec<String>,
        /// Why (shown on the fields).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set one field's status.
    Field {
        /// Customer id.
        id: String,
        /// SEP-9 field name.
        name: String,
        /// ACCEPTED, PROCESSING, REJECTED or VERIFICATION_REQUIRED.
        #[arg(long)]
        status: String,
        /// Why (for REJECTED).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Runs an admin command and prints the API's answer as JSON.
pub async fn run(config: &Config, args: AdminArgs) -> Result<()> {
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.admin.bind));
    let token = match &args.token {
        Some(t) => t.clone(),
        None => mooring_server::secrets::admin_token(config)?
            .map(|t| t.expose_secret().to_owned())
            .context("no admin token: pass --token, set MOORING_ADMIN_TOKEN, or run where the server's keys file is")?,
    };
    let (method, path, body): (Method, String, Option<Value>) = match args.command {
        AdminCommand::Audit { customer, limit } => {
            let mut p = format!("/admin/audit?limit={limit}");
            if let Some(c) = customer {
                p.push_str(&format!("&customer_id={c}"));
            }
            (Method::GET, p, None)
        }
        AdminCommand::Recovery(RecoveryCommand::AddSigner { address }) => (
            Method::POST,
            format!("/admin/recovery/accounts/{address}/signers"),
            None,
        ),
        AdminCommand::Transactions(c) => transactions(c),
        AdminCommand::Customers(c) => match c {
            CustomersCommand::List {
                status,
                after,
                limit,
            } => {
                let mut p = format!("/admin/customers?limit={limit}");
                if let Some(s) = status {
                    p.push_str(&format!("&status={s}"));
                }
                if let Some(a) = after {
                    p.push_str(&format!("&after={a}"));
                }
                (Method::GET, p, None)
            }
            CustomersCommand::Show { id } => (Method::GET, format!("/admin/customers/{id}"), None),
            CustomersCommand::Accept { id, kind, reason } => (
                Method::POST,
                format!("/admin/customers/{id}/accept"),
                Some(json!({"type": kind, "reason": reason})),
            ),
            CustomersCommand::Reject { id, reason, kind } => (
                Method::POST,
                format!("/admin/customers/{id}/reject"),
                Some(json!({"type": kind, "reason": reason})),
            ),
            CustomersCommand::RequestInfo { id, fields, reason } => (
                Method::POST,
                format!("/admin/customers/{id}/request-info"),
                Some(json!({"fields": fields, "reason": reason})),
            ),
            CustomersCommand::Field {
                id,
                name,
                status,
                reason,
            } => (
                Method::POST,
                format!("/admin/customers/{id}/fields/{name}"),
                Some(json!({"status": status, "reason": reason})),
            ),
        },
    };
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{}", base.trim_end_matches('/'), path))
        .bearer_auth(token);
    if let Some(actor) = &args.actor {
        req = req.header("x-mooring-actor", actor);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("cannot reach the admin API at {base}"))?;
    let status = res.status();
    let value: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{status}: {}",
            value["error"].as_str().unwrap_or("no details")
        );
    }
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
