//! Reading SEP-12 request parameters, whatever the encoding (query string,
//! JSON, form, multipart text parts), into one shape.

use serde_json::Value;

use crate::http::Pairs;
use crate::sep9::{self, Field};

/// Identity and context parameters common to the SEP-12 endpoints.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// `id`.
    pub id: Option<String>,
    /// `account` (deprecated).
    pub account: Option<String>,
    /// `memo`.
    pub memo: Option<String>,
    /// `memo_type` (deprecated).
    pub memo_type: Option<String>,
    /// `type`.
    pub kind: Option<String>,
    /// `transaction_id`.
    pub transaction_id: Option<String>,
    /// `lang`.
    pub lang: Option<String>,
    /// `url` (callback PUT).
    pub url: Option<String>,
}

/// Everything a `PUT /customer` carries besides files being uploaded.
#[derive(Debug, Default)]
pub struct PutBody {
    /// Identity and context.
    pub params: Params,
    /// SEP-9 text fields, validated and normalised.
    pub fields: Vec<(Field, String)>,
    /// `<field>_file_id` references.
    pub file_ids: Vec<(Field, String)>,
    /// `<field>_verification` codes.
    pub verifications: Vec<(Field, String)>,
}

/// Why a parameter was refused: names it, never echoes its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadParam(pub String);

/// Longest identity / context parameter.
const MAX_PARAM: usize = 256;

/// No SEP-12 value holds a NUL, and PostgreSQL cannot store one in text
/// (the statement fails, which would be a 500).
fn refuse_nul(key: &str, value: &str) -> Result<(), BadParam> {
    if value.contains('\0') {
        return Err(BadParam(format!("'{key}' holds a NUL character")));
    }
    Ok(())
}

impl Params {
    /// Takes `key` if it is one of the common parameters.
    pub fn take(&mut self, key: &str, value: String) -> Result<bool, BadParam> {
        let slot = match key {
            "id" => &mut self.id,
            "account" => &mut self.account,
            "memo" => &mut self.memo,
            "memo_type" => &mut self.memo_type,
            "type" => &mut self.kind,
            "transaction_id" => &mut self.transaction_id,
            "lang" => &mut self.lang,
            "url" => &mut self.url,
            _ => return Ok(false),
        };
        if value.len() > if key == "url" { 2048 } else { MAX_PARAM } {
            return Err(BadParam(format!("'{key}' is too long")));
        }
        refuse_nul(key, &value)?;
        *slot = Some(value).filter(|v| !v.is_empty());
        Ok(true)
    }

    /// From a query string's pairs.
    pub fn from_pairs(query: &Pairs) -> Result<Params, BadParam> {
        let mut p = Params::default();
        for (k, v) in query.iter() {
            p.take(k, v.to_owned())?;
        }
        Ok(p)
    }
}

impl PutBody {
    /// Adds one key/value of the request. Text values only; file parts are
    /// handled by the caller.
    pub fn add(&mut self, key: &str, value: String, phone_is_hash: bool) -> Result<(), BadParam> {
        refuse_nul(key, &value)?;
        if self.params.take(key, value.clone())? {
            return Ok(());
        }
        if let Some(name) = key.strip_suffix("_verification") {
            let field = known(name)?;
            self.verifications.push((field, value.trim().to_owned()));
            return self.once(key);
        }
        if let Some(name) = key.strip_suffix("_file_id") {
            let field = known(name)?;
            if !field.is_binary() {
                return Err(BadParam(format!("'{key}': '{name}' is not a binary field")));
            }
            self.file_ids.push((field, value.trim().to_owned()));
            return self.once(key);
        }
        let field = known(key)?;
        let normalised =
            sep9::validate(&field, &value, phone_is_hash).map_err(|e| BadParam(e.to_string()))?;
        self.fields.push((field, normalised));
        self.once(key)
    }

    /// A field has one value: the same key twice (a form or multipart body
    /// can repeat it) is refused rather than one of them silently kept.
    fn once(&self, key: &str) -> Result<(), BadParam> {
        let named = |f: &Field, suffix: &str| {
            f.name.len() + suffix.len() == key.len()
                && key.starts_with(f.name)
                && key.ends_with(suffix)
        };
        let n = self.fields.iter().filter(|(f, _)| named(f, "")).count()
            + self
                .file_ids
                .iter()
                .filter(|(f, _)| named(f, "_file_id"))
                .count()
            + self
                .verifications
                .iter()
                .filter(|(f, _)| named(f, "_verification"))
                .count();
        if n > 1 {
            return Err(BadParam(format!("'{key}' is sent more than once")));
        }
        Ok(())
    }

    /// From a JSON object whose values are strings (numbers and booleans
    /// are taken as their text; objects and arrays are refused).
    pub fn from_json(body: &[u8]) -> Result<PutBody, BadParam> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| BadParam("request body is not valid JSON".into()))?;
        let Value::Object(map) = value else {
            return Err(BadParam("request body must be a JSON object".into()));
        };
        let pairs = map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(n) => Ok((k, n.to_string())),
                Value::Bool(b) => Ok((k, b.to_string())),
                Value::Null => Ok((k, String::new())),
                _ => Err(BadParam(format!("{} must be a string", label(&k)))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_pairs(pairs)
    }

    /// From `application/x-www-form-urlencoded`.
    pub fn from_form(body: &[u8]) -> Result<PutBody, BadParam> {
        let pairs = Pairs::from_form(body).map_err(|e| BadParam(e.message().to_owned()))?;
        Self::from_pairs(pairs.into_vec())
    }

    /// From key/value pairs in any order: `mobile_number_format` is read
    /// first, since it decides how `mobile_number` is checked.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<PutBody, BadParam> {
        let hash = phone_is_hash(&pairs);
        let mut body = PutBody::default();
        for (k, v) in pairs {
            body.add(&k, v, hash)?;
        }
        Ok(body)
    }
}

/// Whether `mobile_number_format` says the number is not E.164 (SEP-9:
/// "It could be hashed in case mobile_number_format is defined as hash").
pub fn phone_is_hash(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .any(|(k, v)| k == "mobile_number_format" && !v.trim().eq_ignore_ascii_case("E.164"))
}

fn known(name: &str) -> Result<Field, BadParam> {
    sep9::lookup(name).ok_or_else(|| {
        BadParam(
            "unknown field: the request names a field that is not a SEP-9 field this server accepts (its name is not repeated back)"
                .into(),
        )
    })
}

/// How an error names a request key: quoted when it is one this server
/// knows (a parameter or a SEP-9 field, with its suffix), otherwise not at
/// all — whatever a client sends as a key is never echoed.
pub fn label(key: &str) -> String {
    let field = key
        .strip_suffix("_verification")
        .or_else(|| key.strip_suffix("_file_id"))
        .unwrap_or(key);
    if sep9::lookup(field).is_some() || Params::default().take(key, String::new()).unwrap_or(false)
    {
        format!("'{key}'")
    } else {
        "a field".into()
    }
}

// ------------------------------------------------------------- OpenAPI
//
// The bodies of the SEP-12 requests, as the OpenAPI description gives
// them: generated from the SEP-9 table (`crate::sep9`) and the parameters
// above, so that they list exactly the keys `PutBody::add` takes. A key
// that is neither is refused (400), hence `additionalProperties: false`.
// Values are described as loosely as the server reads them (a JSON number
// or boolean is taken as its text) and as strictly as it checks them.

/// The parameters [`Params::take`] reads, with what they are for.
const PARAMS: &[(&str, &str)] = &[
    (
        "id",
        "The customer's id, from an earlier `PUT /customer` (§Customer GET: ID vs. Account & Memo).",
    ),
    (
        "account",
        "(deprecated) The customer's `G…` or `M…` account; must be the token's own.",
    ),
    (
        "memo",
        "The memo of a customer of a shared account; must be the token's memo when the token has one. \
         An id memo is a decimal 64-bit integer; with `memo_type` `text` at most 28 bytes, `hash` 32 bytes in base64.",
    ),
    (
        "memo_type",
        "(deprecated) `id`, `text` or `hash`; ignored when the token carries a memo.",
    ),
    (
        "type",
        "The customer type (§Type Specification): one of the server's configured types; the default type when absent.",
    ),
    (
        "transaction_id",
        "The transaction the customer's information is for.",
    ),
    (
        "lang",
        "ISO 639-1 language of the descriptions; read by `GET /customer` only (answers are in English).",
    ),
    ("url", "The callback URL (`PUT /customer/callback` only)."),
];

/// The SEP-9 fields a verification code can be sent for
/// (`sep12.verification.fields` allows only these).
const VERIFIABLE: &[&str] = &["mobile_number", "email_address"];

/// Which request a body schema is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    /// `PUT /customer` as JSON or a form: text fields, `_file_id`s, codes.
    Put,
    /// `PUT /customer` as multipart: the same, and documents as parts.
    PutMultipart,
    /// `PUT /customer/verification`.
    Verification,
    /// `PUT /customer/callback`.
    Callback,
    /// `DELETE /customer/{account}`'s optional body.
    Delete,
}

mod schema {
    use utoipa::openapi::schema::{
        AdditionalProperties, KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type,
    };
    use utoipa::openapi::{RefOr, Schema};

    use super::{Body, PARAMS, VERIFIABLE};
    use crate::sep9::{self, Kind, MAX_MULTILINE, MAX_TEXT};

    fn types(t: &[Type]) -> SchemaType {
        SchemaType::Array(t.to_vec())
    }

    /// A common parameter: text of at most 256 bytes (2048 for `url`);
    /// in JSON also a number, a boolean or `null` (empty: absent).
    fn param(name: &str, description: &str) -> Object {
        let b = ObjectBuilder::new()
            .schema_type(types(&[
                Type::String,
                Type::Number,
                Type::Boolean,
                Type::Null,
            ]))
            .description(Some(description));
        if name == "url" {
            b.max_length(Some(2048))
                .format(Some(SchemaFormat::Custom("uri".into())))
                .build()
        } else {
            b.max_length(Some(super::MAX_PARAM)).build()
        }
    }

    /// A SEP-9 text field's value, checked as [`sep9::validate`] does.
    fn text_field(f: &sep9::Field) -> Object {
        let text = |max: usize| {
            ObjectBuilder::new()
                .schema_type(types(&[Type::String, Type::Number, Type::Boolean]))
                .min_length(Some(1))
                .max_length(Some(max))
        };
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let b = match f.kind {
            Kind::Text => text(MAX_TEXT),
            Kind::MultiLine => text(MAX_MULTILINE),
            // E.164 unless `mobile_number_format` says otherwise (a hash,
            // SEP-9), so not constrained here.
            Kind::Phone => text(MAX_TEXT),
            Kind::Date => string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
            Kind::YearMonth => string().pattern(Some("^[0-9]{2}-(0[1-9]|1[0-2])$")),
            Kind::Integer => ObjectBuilder::new()
                .schema_type(types(&[Type::String, Type::Integer]))
                .pattern(Some("^[0-9]{1,18}$"))
                .minimum(Some(0))
                .maximum(Some(999_999_999_999_999_999_i64)),
            Kind::Occupation => ObjectBuilder::new()
                .schema_type(types(&[Type::String, Type::Integer]))
                .pattern(Some("^[0-9]{1,4}$"))
                .minimum(Some(0))
                .maximum(Some(9999)),
            Kind::Country3 => string().pattern(Some("^[A-Z]{3}$")),
            Kind::Country2 => string().pattern(Some("^[A-Z]{2}$")),
            Kind::Language => string().pattern(Some("^[a-z]{2}$")),
            Kind::Email => string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(254)),
            Kind::Choice(c) => string().enum_values(Some(c.iter().copied())),
            Kind::Binary(_) => unreachable!("binary fields are not text"),
        };
        b.description(Some(format!("SEP-9: {}.", f.description)))
            .build()
    }

    /// A document, as a multipart part.
    fn document(f: &sep9::Field) -> Object {
        let formats = match f.kind {
            Kind::Binary(sep9::Accept::Image) => "JPEG or PNG",
            Kind::Binary(sep9::Accept::Document) => "JPEG, PNG or PDF",
            _ => "JPEG, PNG, MP4 or WebM",
        };
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some(format!(
                "SEP-9: {}. {formats}, recognised by its first bytes.",
                f.description
            )))
            .build()
    }

    fn plain(description: String) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .build()
    }

    /// The schema of `body`.
    pub(super) fn of(body: Body) -> RefOr<Schema> {
        let mut b = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        // Every body takes every parameter (each request reads those it
        // needs; the others are accepted and ignored).
        for (name, description) in PARAMS {
            b = b.property(*name, param(name, description));
        }
        b = match body {
            Body::Verification => b.required("id").description(Some(
                "The customer's `id` and at least one `<field>_verification` code. SEP-9 fields \
                 are also read (and checked), but not stored.",
            )),
            Body::Callback => b.required("url").description(Some(
                "The callback URL and who the customer is. SEP-9 fields are also read (and \
                 checked), but not stored.",
            )),
            Body::Delete => b.description(Some(
                "`memo` and `memo_type`, as an alternative to the query string (which wins). \
                 Other parameters and SEP-9 fields are read (and checked), but not used.",
            )),
            Body::Put | Body::PutMultipart => b.description(Some(
                "The identity parameters and the customer's SEP-9 fields (§Customer PUT). A \
                 field has one value: a key sent twice is refused. Documents are multipart \
                 parts, or `<field>_file_id` references to `POST /customer/files` uploads.",
            )),
        };
        if matches!(body, Body::Put | Body::PutMultipart | Body::Verification) {
            for name in VERIFIABLE {
                b = b.property(
                    format!("{name}_verification"),
                    plain(format!(
                        "The code sent to the customer's `{name}` (§Verification); a wrong one refuses the whole request."
                    )),
                );
            }
        }
        if matches!(body, Body::Put | Body::PutMultipart) {
            for f in sep9::all_names().filter_map(sep9::lookup) {
                if f.is_binary() {
                    if body == Body::PutMultipart {
                        b = b.property(f.name, document(&f));
                    }
                    b = b.property(
                        format!("{}_file_id", f.name),
                        plain(format!(
                            "The `file_id` of a document for `{}` uploaded with `POST /customer/files` by this account (§Customer Files).",
                            f.name
                        )),
                    );
                } else {
                    b = b.property(f.name, text_field(&f));
                }
            }
        }
        RefOr::T(Schema::Object(b.build()))
    }
}

macro_rules! body_schema {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $body:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                schema::of($body)
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

body_schema!(
    /// `PUT /customer` as JSON or a form: the identity parameters, the
    /// SEP-9 text fields, `<field>_file_id`s and verification codes.
    PutCustomerBody,
    "sep12.PutCustomer",
    Body::Put
);
body_schema!(
    /// `PUT /customer` as multipart: as [`PutCustomerBody`], and the SEP-9
    /// binary fields as documents.
    PutCustomerMultipart,
    "sep12.PutCustomerMultipart",
    Body::PutMultipart
);
body_schema!(
    /// `PUT /customer/verification`.
    VerificationBody,
    "sep12.PutVerification",
    Body::Verification
);
body_schema!(
    /// `PUT /customer/callback`.
    CallbackBody,
    "sep12.PutCallback",
    Body::Callback
);
body_schema!(
    /// `DELETE /customer/{account}`'s body.
    DeleteBody,
    "sep12.DeleteCustomer",
    Body::Delete
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_read_alike() {
        let j = PutBody::from_json(br#"{"id":"c1","first_name":" Ann ","occupation":2512,"mobile_number_verification":"123456","photo_id_front_file_id":"file_x"}"#).unwrap();
        assert_eq!(j.params.id.as_deref(), Some("c1"));
        assert_eq!(
            j.fields
                .iter()
                .map(|(f, v)| (f.name, v.as_str()))
                .collect::<Vec<_>>(),
            [("first_name", "Ann"), ("occupation", "2512")]
        );
        assert_eq!(j.verifications[0].0.name, "mobile_number");
        assert_eq!(j.file_ids[0].1, "file_x");
        let f = PutBody::from_form(b"account=GABC&memo=7&memo_type=id&last_name=Doe").unwrap();
        assert_eq!(
            (f.params.memo.as_deref(), f.params.memo_type.as_deref()),
            (Some("7"), Some("id"))
        );
        assert_eq!(f.fields[0].0.name, "last_name");
    }

    #[test]
    fn unknown_and_invalid_fields_are_named() {
        assert_eq!(
            PutBody::from_json(br#"{"favourite_colour":"blue"}"#)
                .unwrap_err()
                .0,
            "unknown field: the request names a field that is not a SEP-9 field this server accepts (its name is not repeated back)"
        );
        assert_eq!(
            PutBody::from_json(br#"{"birth_date":"yesterday"}"#)
                .unwrap_err()
                .0,
            "'birth_date' must be a date in ISO 8601 format, YYYY-MM-DD"
        );
        assert!(PutBody::from_json(br#"{"first_name":{"x":1}}"#).is_err());
        assert!(PutBody::from_json(b"[1]").is_err());
        assert!(PutBody::from_json(br#"{"first_name_file_id":"f"}"#).is_err());
        // A hashed phone number is accepted when the format says so, in any order.
        assert!(PutBody::from_form(b"mobile_number=ab12&mobile_number_format=hash").is_ok());
        assert!(PutBody::from_form(b"mobile_number=ab12").is_err());
        // One value per field.
        assert_eq!(
            PutBody::from_form(b"first_name=Ann&first_name=Bob")
                .unwrap_err()
                .0,
            "'first_name' is sent more than once"
        );
        assert!(PutBody::from_form(b"first_name=Ann&last_name=Ann").is_ok());
    }
}
