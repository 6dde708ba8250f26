//! SEP-12 §Customer Files: upload a document on its own, reference it later
//! as `<field>_file_id`; list what was uploaded.

use serde::Serialize;

use super::owner;
use super::service::{CustomerError, Customers, owner_of_uploads};
use super::store::{self, FileRow};
use super::upload::Stored;
use crate::http::Principal;
use crate::sep9::{Field, Kind};

/// A file as SEP-12 describes it (§POST Response).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = sep12::File)]
pub struct FileView {
    /// `file_<uuid>`: the value of a `<field>_file_id` in `PUT /customer`.
    pub file_id: String,
    /// Its media type, as recognised from its bytes.
    #[schema(value_type = FileContentType)]
    pub content_type: String,
    /// Size in bytes.
    #[schema(minimum = 0)]
    pub size: i64,
    /// When it is discarded if no `PUT /customer` references it (UTC ISO
    /// 8601); absent once it belongs to a customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub expires_at: Option<String>,
    /// The customer it belongs to; `null` while none does.
    #[schema(required = true)]
    pub customer_id: Option<String>,
}

/// The media types a document is stored as, recognised from its first
/// bytes (`sep9::FileFormat`).
#[derive(utoipa::ToSchema)]
#[schema(as = sep12::FileContentType)]
#[allow(dead_code)] // described; the values are written as strings
pub enum FileContentType {
    /// JPEG.
    #[schema(rename = "image/jpeg")]
    Jpeg,
    /// PNG.
    #[schema(rename = "image/png")]
    Png,
    /// PDF.
    #[schema(rename = "application/pdf")]
    Pdf,
    /// MP4 or QuickTime.
    #[schema(rename = "video/mp4")]
    Mp4,
    /// WebM.
    #[schema(rename = "video/webm")]
    Webm,
}

/// `POST /customer/files` accepts any document a SEP-9 binary field may hold.
pub const ANY_DOCUMENT: Field = Field {
    name: "file",
    kind: Kind::Binary(crate::sep9::Accept::Any),
    description: "A document",
};

fn view(f: &FileRow) -> FileView {
    FileView {
        file_id: f.id.clone(),
        content_type: f.content_type.clone(),
        size: f.size,
        expires_at: f.expires_at.map(crate::clock::rfc3339),
        customer_id: f.customer_id.clone(),
    }
}

impl Customers {
    /// Records an uploaded file. It belongs to the token's own customer if
    /// one exists; otherwise it expires unless a PUT references it.
    pub async fn post_file(
        &self,
        p: &Principal,
        stored: Stored,
    ) -> Result<FileView, CustomerError> {
        let now = self.now();
        let (account, memo) = owner_of_uploads(p);
        let key = owner::resolve(p, None, None, None)?;
        let customer = store::customer_by_key(self.db().reader(), &key).await?;
        let ttl = i64::try_from(self.cfg().unattached_file_ttl_secs).unwrap_or(i64::MAX);
        let row = FileRow {
            id: stored.id,
            owner_account: account,
            owner_memo: memo,
            expires_at: customer.is_none().then_some(now.saturating_add(ttl)),
            customer_id: customer.map(|c| c.id),
            field: None,
            content_type: stored.format.content_type().to_owned(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            data_key: stored.data_key,
            blob: stored.blob,
            created_at: now,
        };
        if let Err(e) = store::insert_file(self.db(), &row).await {
            let _ = self.blobs().delete(&row.blob).await;
            return Err(e.into());
        }
        Ok(view(&row))
    }

    /// `GET /customer/files`: by `file_id` or `customer_id`. What the token
    /// may not reach is simply not listed.
    pub async fn list_files(
        &self,
        p: &Principal,
        file_id: Option<&str>,
        customer_id: Option<&str>,
    ) -> Result<Vec<FileView>, CustomerError> {
        let (account, memo) = owner_of_uploads(p);
        if let Some(id) = file_id {
            let Some(f) = store::file(self.db().reader(), id).await? else {
                return Ok(vec![]);
            };
            let own_upload = f.owner_account == account && f.owner_memo == memo;
            let own_customer = match &f.customer_id {
                Some(c) => store::customer_by_id(self.db().reader(), c)
                    .await?
                    .is_some_and(|r| owner::may_access(p, &r.account, &r.memo, &r.memo_type)),
                None => false,
            };
            let matches_customer = customer_id.is_none_or(|c| f.customer_id.as_deref() == Some(c));
            return Ok(if (own_upload || own_customer) && matches_customer {
                vec![view(&f)]
            } else {
                vec![]
            });
        }
        let Some(customer_id) = customer_id else {
            return Err(CustomerError::Invalid(
                "one of file_id or customer_id is required".into(),
            ));
        };
        let reachable = store::customer_by_id(self.db().reader(), customer_id)
            .await?
            .is_some_and(|r| owner::may_access(p, &r.account, &r.memo, &r.memo_type));
        if !reachable {
            return Ok(vec![]);
        }
        Ok(store::files_of_customer(self.db().reader(), customer_id)
            .await?
            .iter()
            .map(view)
            .collect())
    }
}
