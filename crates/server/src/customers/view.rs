//! The SEP-12 status model (§Customer Statuses, §Fields, §Provided Fields):
//! what `GET /customer` answers, computed from the stored field statuses,
//! the anchor's decision and the type's requirements.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::store::{DecisionRow, FieldRow};
use crate::config::TypeConfig;
use crate::sep9;

/// A field status (§Provided Field Statuses).
pub mod field_status {
    /// Validated.
    pub const ACCEPTED: &str = "ACCEPTED";
    /// Being validated.
    pub const PROCESSING: &str = "PROCESSING";
    /// Did not pass validation.
    pub const REJECTED: &str = "REJECTED";
    /// Awaiting a verification code.
    pub const VERIFICATION_REQUIRED: &str = "VERIFICATION_REQUIRED";

    /// Whether `s` is one of the above.
    pub fn is_valid(s: &str) -> bool {
        [ACCEPTED, PROCESSING, REJECTED, VERIFICATION_REQUIRED].contains(&s)
    }
}

/// A field still needed (§Fields).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = sep12::Field)]
pub struct FieldView {
    /// The data type of the field's value: `string`, `binary`, `number` or `date`.
    #[serde(rename = "type")]
    #[schema(value_type = FieldType)]
    pub kind: &'static str,
    /// What to provide (the SEP-9 field's description).
    pub description: &'static str,
    /// The values allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<String>, required = false)]
    pub choices: Option<&'static [&'static str]>,
    /// `true` when the field is not needed to proceed; absent otherwise
    /// (SEP-12: "Defaults to false").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub optional: Option<bool>,
}

/// A field received (§Provided Fields): described as in `fields`, with
/// its review.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = sep12::ProvidedField)]
pub struct ProvidedFieldView {
    /// The field, as in `fields`.
    #[serde(flatten)]
    pub field: FieldView,
    /// Its review status (§Provided Field Statuses).
    #[schema(value_type = FieldStatus)]
    pub status: String,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// The `GET /customer` answer (also the callback body).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = sep12::Customer)]
pub struct CustomerView {
    /// The customer's id, once created (absent for a customer not
    /// registered yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id: Option<String>,
    /// The customer's status for the `type` asked (§Customer Statuses).
    #[schema(value_type = CustomerStatus)]
    pub status: &'static str,
    /// The SEP-9 fields still needed, by name (§Fields): always present
    /// for `NEEDS_INFO`; otherwise the optional ones left, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub fields: Option<BTreeMap<String, FieldView>>,
    /// The SEP-9 fields received that the type asks for, by name, with
    /// their review (§Provided Fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub provided_fields: Option<BTreeMap<String, ProvidedFieldView>>,
    /// For people: the anchor's message; always present for `REJECTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<String>,
}

/// A customer's status (SEP-12 §Customer Statuses).
#[derive(ToSchema)]
#[schema(as = sep12::CustomerStatus, rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // described; the values are written as strings
pub enum CustomerStatus {
    /// Every required field is accepted.
    Accepted,
    /// Everything is in, some of it still under review.
    Processing,
    /// A required field is missing or was rejected, or awaits its code.
    NeedsInfo,
    /// Rejected for this type, for good.
    Rejected,
}

/// A field's data type (SEP-12 §Fields).
#[derive(ToSchema)]
#[schema(as = sep12::FieldType, rename_all = "lowercase")]
#[allow(dead_code)] // described; the values are written as strings
pub enum FieldType {
    /// Text.
    String,
    /// A document, sent as a multipart part or as `<field>_file_id`.
    Binary,
    /// A number.
    Number,
    /// An ISO 8601 date, `YYYY-MM-DD`.
    Date,
}

/// A provided field's status (SEP-12 §Provided Field Statuses).
#[derive(ToSchema)]
#[schema(as = sep12::FieldStatus, rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // described; the values are written as strings
pub enum FieldStatus {
    /// Validated.
    Accepted,
    /// Being validated.
    Processing,
    /// Did not pass validation.
    Rejected,
    /// Awaiting its verification code (§Verification).
    VerificationRequired,
}

fn describe(name: &str, optional: bool) -> FieldView {
    let f = sep9::lookup(name).expect("types name only SEP-9 fields (checked at load)");
    FieldView {
        kind: f.sep12_type(),
        description: f.description,
        choices: f.choices(),
        optional: optional.then_some(true),
    }
}

/// Computes the customer's status for one type.
///
/// - REJECTED: the anchor rejected the customer for this type (final).
/// - NEEDS_INFO: a required field is missing or was rejected (and may be
///   sent again), or a field awaits its verification code.
/// - ACCEPTED: every required field is accepted.
/// - PROCESSING: everything is in, some of it still under review.
pub fn compute(
    id: Option<&str>,
    rows: &[FieldRow],
    decision: Option<&DecisionRow>,
    requirements: &TypeConfig,
) -> CustomerView {
    let wanted = |name: &str| {
        requirements
            .required
            .iter()
            .chain(&requirements.optional)
            .any(|r| r == name)
    };
    let by_name: BTreeMap<&str, &FieldRow> = rows.iter().map(|r| (r.name.as_str(), r)).collect();
    let provided: BTreeMap<String, ProvidedFieldView> = rows
        .iter()
        .filter(|r| wanted(&r.name))
        .map(|r| {
            let optional = !requirements.required.contains(&r.name);
            (
                r.name.clone(),
                ProvidedFieldView {
                    field: describe(&r.name, optional),
                    status: r.status.clone(),
                    error: r.error.clone(),
                },
            )
        })
        .collect();
    let message = decision.and_then(|d| d.message.clone());
    if let Some(d) = decision.filter(|d| d.rejected != 0) {
        return CustomerView {
            id: id.map(str::to_owned),
            status: "REJECTED",
            fields: None,
            provided_fields: (!provided.is_empty()).then_some(provided),
            // "The message must be supplied in this case."
            message: Some(
                d.message
                    .clone()
                    .unwrap_or_else(|| "KYC was rejected".into()),
            ),
        };
    }
    // Still needed: required and optional fields not provided, and provided
    // ones that were rejected (they may be sent again).
    let needed: BTreeMap<String, FieldView> = requirements
        .required
        .iter()
        .map(|n| (n, false))
        .chain(requirements.optional.iter().map(|n| (n, true)))
        .filter(|(n, _)| {
            by_name
                .get(n.as_str())
                .is_none_or(|r| r.status == field_status::REJECTED)
        })
        .map(|(n, optional)| (n.clone(), describe(n, optional)))
        .collect();
    let required_state = |status: &str| {
        requirements
            .required
            .iter()
            .any(|n| by_name.get(n.as_str()).is_some_and(|r| r.status == status))
    };
    let missing_required = requirements
        .required
        .iter()
        .any(|n| !by_name.contains_key(n.as_str()));
    let awaiting_code = rows
        .iter()
        .any(|r| wanted(&r.name) && r.status == field_status::VERIFICATION_REQUIRED);
    let status = if missing_required || required_state(field_status::REJECTED) || awaiting_code {
        "NEEDS_INFO"
    } else if requirements.required.iter().all(|n| {
        by_name
            .get(n.as_str())
            .is_some_and(|r| r.status == field_status::ACCEPTED)
    }) {
        "ACCEPTED"
    } else {
        "PROCESSING"
    };
    // §Fields: required for NEEDS_INFO; an ACCEPTED customer lists no
    // required field, so only optional ones can remain.
    let fields = match status {
        "NEEDS_INFO" => Some(needed),
        _ => {
            let optional_left: BTreeMap<String, FieldView> = needed
                .into_iter()
                .filter(|(_, f)| f.optional == Some(true))
                .collect();
            (!optional_left.is_empty()).then_some(optional_left)
        }
    };
    CustomerView {
        id: id.map(str::to_owned),
        status,
        fields,
        provided_fields: (!provided.is_empty()).then_some(provided),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> TypeConfig {
        TypeConfig {
            required: vec!["first_name".into(), "email_address".into()],
            optional: vec!["mobile_number".into()],
        }
    }

    fn row(name: &str, status: &str) -> FieldRow {
        FieldRow {
            name: name.into(),
            value: Some(vec![1]),
            file_id: None,
            fingerprint: vec![],
            status: status.into(),
            error: None,
        }
    }

    #[test]
    fn unknown_customer_needs_every_field() {
        let v = compute(None, &[], None, &req());
        assert_eq!(v.status, "NEEDS_INFO");
        let f = v.fields.unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f["mobile_number"].optional, Some(true));
        assert_eq!(f["first_name"].optional, None);
        assert!(v.id.is_none() && v.provided_fields.is_none());
    }

    #[test]
    fn statuses_follow_the_fields() {
        use field_status::*;
        let partial = compute(Some("c"), &[row("first_name", PROCESSING)], None, &req());
        assert_eq!(partial.status, "NEEDS_INFO");
        assert!(partial.fields.unwrap().contains_key("email_address"));
        let processing = compute(
            Some("c"),
            &[
                row("first_name", ACCEPTED),
                row("email_address", PROCESSING),
            ],
            None,
            &req(),
        );
        assert_eq!(processing.status, "PROCESSING");
        let accepted = compute(
            Some("c"),
            &[row("first_name", ACCEPTED), row("email_address", ACCEPTED)],
            None,
            &req(),
        );
        assert_eq!(accepted.status, "ACCEPTED");
        assert!(
            accepted
                .fields
                .unwrap()
                .values()
                .all(|f| f.optional == Some(true))
        );
        let rejected_field = compute(
            Some("c"),
            &[row("first_name", ACCEPTED), row("email_address", REJECTED)],
            None,
            &req(),
        );
        assert_eq!(rejected_field.status, "NEEDS_INFO");
        assert!(rejected_field.fields.unwrap().contains_key("email_address"));
        let code = compute(
            Some("c"),
            &[
                row("first_name", ACCEPTED),
                row("email_address", ACCEPTED),
                row("mobile_number", VERIFICATION_REQUIRED),
            ],
            None,
            &req(),
        );
        assert_eq!(code.status, "NEEDS_INFO");
        let decision = DecisionRow {
            rejected: 1,
            message: Some("on a sanctions list".into()),
        };
        let rejected = compute(
            Some("c"),
            &[row("first_name", ACCEPTED)],
            Some(&decision),
            &req(),
        );
        assert_eq!(
            (rejected.status, rejected.message.as_deref()),
            ("REJECTED", Some("on a sanctions list"))
        );
    }

    #[test]
    fn serialises_in_the_spec_shape() {
        let v = compute(Some("c"), &[row("first_name", "ACCEPTED")], None, &req());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["provided_fields"]["first_name"]["status"], "ACCEPTED");
        assert_eq!(json["provided_fields"]["first_name"]["type"], "string");
        assert_eq!(json["fields"]["email_address"]["type"], "string");
        assert!(json["fields"]["email_address"].get("optional").is_none());
        assert_eq!(json["fields"]["mobile_number"]["optional"], true);
    }
}
