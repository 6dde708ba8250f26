//! SEP-12 as a wallet or sending anchor uses it: ask an anchor which
//! fields it wants for a customer type, send it those and no others
//! (documents streamed), read the status, and delete the customer.
//!
//! ```no_run
//! # async fn example(token: String) -> Result<(), mooring_client::ClientError> {
//! use std::collections::BTreeMap;
//! use mooring_client::sep12::{Customer, KycServer, Who};
//! let http = reqwest::Client::new();
//! let home = url::Url::parse("https://anchor.example.com").unwrap();
//! let kyc = KycServer::discover(http, &home, token).await?;
//! let who = Who { kind: Some("sep31-sender".into()), ..Who::default() };
//! let asked = kyc.customer(&who).await?;
//! let profile: BTreeMap<String, String> =
//!     [("first_name".to_string(), "Ana".to_string())].into();
//! // Only what this anchor asks for leaves the profile.
//! let id = kyc.put(&who, &asked.wanted(&profile)).await?;
//! let now = kyc.customer(&Who { id: Some(id), ..who }).await?;
//! println!("{}", now.status);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

use crate::{ClientError, check};

/// An anchor's `KYC_SERVER`, with a SEP-10 token.
#[derive(Debug, Clone)]
pub struct KycServer {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// Which customer a request is about (SEP-12 §Customer GET parameters).
#[derive(Debug, Clone, Default)]
pub struct Who {
    /// Its id, once the anchor gave one.
    pub id: Option<String>,
    /// The customer type.
    pub kind: Option<String>,
    /// An id memo, for a customer of a shared account.
    pub memo: Option<String>,
    /// A SEP-31 or SEP-6 transaction it is asked about for.
    pub transaction_id: Option<String>,
}

impl Who {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(v) = &self.id {
            q.push(("id", v.clone()));
        }
        if let Some(v) = &self.kind {
            q.push(("type", v.clone()));
        }
        if let Some(v) = &self.memo {
            q.push(("memo", v.clone()));
            q.push(("memo_type", "id".into()));
        }
        if let Some(v) = &self.transaction_id {
            q.push(("transaction_id", v.clone()));
        }
        q
    }
}

/// A field the anchor asks for (SEP-12 §Field object).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Field {
    /// `string`, `binary`, `number` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For people.
    #[serde(default)]
    pub description: String,
    /// The values it takes, when limited.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
    /// Not needed to proceed.
    #[serde(default)]
    pub optional: bool,
}

/// A field the anchor has (SEP-12 §Provided field object).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Provided {
    /// `string`, `binary`, `number` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ACCEPTED`, `PROCESSING`, `REJECTED` or `VERIFICATION_REQUIRED`.
    #[serde(default)]
    pub status: Option<String>,
    /// Why it was rejected.
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /customer`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    /// Its id, when the anchor has it.
    #[serde(default)]
    pub id: Option<String>,
    /// `ACCEPTED`, `PROCESSING`, `NEEDS_INFO` or `REJECTED`.
    pub status: String,
    /// What the anchor still asks for.
    #[serde(default)]
    pub fields: BTreeMap<String, Field>,
    /// What it has, with each field's status.
    #[serde(default)]
    pub provided_fields: BTreeMap<String, Provided>,
    /// For people.
    #[serde(default)]
    pub message: Option<String>,
}

impl Customer {
    /// Whether the anchor asks for `field`: it is among `fields` (not yet
    /// received), or was provided and REJECTED (SEP-12 §Provided field
    /// object: a rejected field is to be sent again).
    pub fn asks_for(&self, field: &str) -> bool {
        self.fields.contains_key(field)
            || self
                .provided_fields
                .get(field)
                .is_some_and(|p| p.status.as_deref() == Some("REJECTED"))
    }

    /// The values of `profile` this anchor asks for, and nothing else
    /// (SEP-12's goal: enter once, give each anchor only what it needs).
    pub fn wanted(&self, profile: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        profile
            .iter()
            .filter(|(k, _)| self.asks_for(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The required fields asked for that `profile` lacks.
    pub fn missing(&self, profile: &BTreeMap<String, String>) -> Vec<String> {
        let rejected = self
            .provided_fields
            .iter()
            .filter(|(k, p)| {
                p.status.as_deref() == Some("REJECTED") && !self.fields.contains_key(*k)
            })
            .map(|(k, _)| k);
        self.fields
            .iter()
            .filter(|(_, f)| !f.optional)
            .map(|(k, _)| k)
            .chain(rejected)
            .filter(|k| !profile.contains_key(*k))
            .cloned()
            .collect()
    }
}

/// A document to upload, streamed from where it is.
pub struct Document {
    /// Its SEP-9 field name (`photo_id_front`, …).
    pub field: String,
    /// Its file name.
    pub file_name: String,
    /// Its media type.
    pub content_type: String,
    /// Its length in bytes.
    pub length: u64,
    /// Its bytes.
    pub body: reqwest::Body,
}

#[derive(Deserialize)]
struct IdBody {
    id: String,
}

impl KycServer {
    /// The server at `base` (`KYC_SERVER`), asked with `token`.
    pub fn new(http: reqwest::Client, base: Url, token: String) -> KycServer {
        KycServer { http, base, token }
    }

    /// The server the stellar.toml at `home` names.
    pub async fn discover(
        http: reqwest::Client,
        home: &Url,
        token: String,
    ) -> Result<KycServer, ClientError> {
        let base = crate::discovery::server(&http, home, "KYC_SERVER", |t| t.kyc_server).await?;
        Ok(KycServer::new(http, base, token))
    }

    fn url(&self, segments: &[&str]) -> Url {
        crate::discovery::join(&self.base, segments)
    }

    /// `GET /customer`: the customer's status, what the anchor asks for and
    /// what it has.
    pub async fn customer(&self, who: &Who) -> Result<Customer, ClientError> {
        let res = self
            .http
            .get(self.url(&["customer"]))
            .bearer_auth(&self.token)
            .query(&who.pairs())
            .send()
            .await?;
        Ok(check(res, "SEP-12 GET /customer").await?.json().await?)
    }

    /// `PUT /customer` with text fields; the customer's id.
    pub async fn put(
        &self,
        who: &Who,
        fields: &BTreeMap<String, String>,
    ) -> Result<String, ClientError> {
        let mut body: BTreeMap<String, String> = who
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != "transaction_id")
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        body.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        let res = self
            .http
            .put(self.url(&["customer"]))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let id: IdBody = check(res, "SEP-12 PUT /customer").await?.json().await?;
        Ok(id.id)
    }

    /// `PUT /customer` as `multipart/form-data`: text fields first, then
    /// the documents, each streamed (SEP-12 §Customer PUT: binary fields
    /// last); the customer's id.
    pub async fn put_documents(
        &self,
        who: &Who,
        fields: &BTreeMap<String, String>,
        documents: Vec<Document>,
    ) -> Result<String, ClientError> {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in who.pairs() {
            if k != "transaction_id" {
                form = form.text(k, v);
            }
        }
        for (k, v) in fields {
            form = form.text(k.clone(), v.clone());
        }
        for d in documents {
            let part = reqwest::multipart::Part::stream_with_length(d.body, d.length)
                .file_name(d.file_name)
                .mime_str(&d.content_type)?;
            form = form.part(d.field, part);
        }
        let res = self
            .http
            .put(self.url(&["customer"]))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await?;
        let id: IdBody = check(res, "SEP-12 PUT /customer").await?.json().await?;
        Ok(id.id)
    }

    /// `PUT /customer/callback`: the anchor POSTs the customer's `GET
    /// /customer` answer to `url` whenever its status changes (SEP-12
    /// §Customer callback PUT) — waiting without polling. The POSTs are
    /// signed by the anchor's SIGNING_KEY (`Signature` header).
    pub async fn set_callback(&self, who: &Who, url: &Url) -> Result<(), ClientError> {
        let mut body: BTreeMap<&str, String> = who
            .pairs()
            .into_iter()
            .filter(|(k, _)| matches!(*k, "id" | "memo"))
            .collect();
        body.insert("url", url.to_string());
        let res = self
            .http
            .put(self.url(&["customer", "callback"]))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        check(res, "SEP-12 PUT /customer/callback").await?;
        Ok(())
    }

    /// `DELETE /customer/{account}`: the anchor erases the customer of
    /// `account` (and `memo`).
    pub async fn delete(&self, account: &str, memo: Option<&str>) -> Result<(), ClientError> {
        let mut req = self
            .http
            .delete(self.url(&["customer", account]))
            .bearer_auth(&self.token);
        // SEP-12 §Customer DELETE: the memo in the body.
        if let Some(m) = memo {
            req = req.json(&serde_json::json!({ "memo": m, "memo_type": "id" }));
        }
        check(req.send().await?, "SEP-12 DELETE /customer").await?;
        Ok(())
    }
}
