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
