//! The SEP-9 field vocabulary as data: every natural-person, financial
//! account, organization and card field, with its SEP-12 type and the
//! validation its encoding calls for (SEP-9 §Encodings).

mod files;
pub mod iso;
mod validate;

pub use files::{FileFormat, SNIFF_LEN, check_content_type, check_file, sniff};
pub use validate::{Invalid, is_date, is_e164, is_email, validate};

/// How a field's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (at most `MAX_TEXT` characters, no control characters).
    Text,
    /// Multi-line free text (an address).
    MultiLine,
    /// ISO 8601 date, `YYYY-MM-DD`.
    Date,
    /// A date as `YY-MM` (card expiry, SEP-9 §Card fields).
    YearMonth,
    /// A non-negative integer.
    Integer,
    /// ISCO-08 occupation code: 1 to 4 digits.
    Occupation,
    /// ISO 3166-1 alpha-3 country code.
    Country3,
    /// ISO 3166-1 alpha-2 country code (`card.country_code`).
    Country2,
    /// ISO 639-1 language code.
    Language,
    /// E.164 phone number.
    Phone,
    /// Email address.
    Email,
    /// One of the listed values.
    Choice(&'static [&'static str]),
    /// A file (SEP-12 type `binary`) of one of the accepted formats.
    Binary(Accept),
}

/// File formats a binary field accepts, checked by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// JPEG or PNG.
    Image,
    /// JPEG, PNG or PDF.
    Document,
    /// JPEG, PNG, MP4/MOV or WebM (liveness proofs may be video).
    Media,
    /// Any of the above (`POST /customer/files`, whose field is not known yet).
    Any,
}

/// One SEP-9 field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Name, dot notation included (`organization.name`).
    pub name: &'static str,
    /// Validation.
    pub kind: Kind,
    /// Description shown in SEP-12 `fields` / `provided_fields`.
    pub description: &'static str,
}

impl Field {
    /// The SEP-12 `type` of the field: `string`, `binary`, `number` or `date`.
    pub fn sep12_type(&self) -> &'static str {
        match self.kind {
            Kind::Binary(_) => "binary",
            Kind::Date => "date",
            Kind::Integer | Kind::Occupation => "number",
            _ => "string",
        }
    }

    /// The allowed values, for `choices`.
    pub fn choices(&self) -> Option<&'static [&'static str]> {
        match self.kind {
            Kind::Choice(c) => Some(c),
            _ => None,
        }
    }

    /// Whether values are files.
    pub fn is_binary(&self) -> bool {
        matches!(self.kind, Kind::Binary(_))
    }
}

/// Longest text value, in characters.
pub const MAX_TEXT: usize = 1000;
/// Longest multi-line value, in characters.
pub const MAX_MULTILINE: usize = 4000;

const fn f(name: &'static str, kind: Kind, description: &'static str) -> Field {
    Field {
        name,
        kind,
        description,
    }
}

use Accept::*;
use Kind::*;

/// SEP-9 v1.17.0 §Natural Person Fields.
const NATURAL_PERSON: &[Field] = &[
    f("family_name", Text, "Family or last name"),
    f("last_name", Text, "Family or last name"),
    f("given_name", Text, "Given or first name"),
    f("first_name", Text, "Given or first name"),
    f(
        "additional_name",
        Text,
        "Middle name or other additional name",
    ),
    f(
        "address_country_code",
        Country3,
        "Country code for current address (ISO 3166-1 alpha-3)",
    ),
    f(
        "state_or_province",
        Text,
        "Name of state/province/region/prefecture",
    ),
    f("city", Text, "Name of city/town"),
    f(
        "postal_code",
        Text,
        "Postal or other code identifying the customer's locale",
    ),
    f(
        "address",
        MultiLine,
        "Entire address (country, state, postal code, street address, etc.) as a multi-line string",
    ),
    f(
        "mobile_number",
        Phone,
        "Mobile phone number with country code, in E.164 format",
    ),
    f(
        "mobile_number_format",
        Text,
        "Format of mobile_number, e.g. E.164 or hash; E.164 when absent",
    ),
    f("email_address", Email, "Email address"),
    f("birth_date", Date, "Date of birth, e.g. 1976-07-04"),
    f(
        "birth_place",
        Text,
        "Place of birth (city, state, country; as on passport)",
    ),
    f(
        "birth_country_code",
        Country3,
        "Country of birth (ISO 3166-1 alpha-3)",
    ),
    f(
        "tax_id",
        Text,
        "Tax identifier in the customer's country (social security number in the US)",
    ),
    f(
        "tax_id_name",
        Text,
        "Name of the tax ID (SSN or ITIN in the US)",
    ),
    f("occupation", Occupation, "Occupation ISCO-08 code"),
    f("employer_name", Text, "Name of employer"),
    f("employer_address", MultiLine, "Address of employer"),
    f("language_code", Language, "Primary language (ISO 639-1)"),
    f(
        "id_type",
        Text,
        "Type of ID: passport, drivers_license, id_card, etc.",
    ),
    f(
        "id_country_code",
        Country3,
        "Country issuing the passport or photo ID (ISO 3166-1 alpha-3)",
    ),
    f("id_issue_date", Date, "ID issue date"),
    f("id_expiration_date", Date, "ID expiration date"),
    f("id_number", Text, "Passport or ID number"),
    f(
        "photo_id_front",
        Binary(Image),
        "Image of the front of the customer's photo ID or passport",
    ),
    f(
        "photo_id_back",
        Binary(Image),
        "Image of the back of the customer's photo ID or passport",
    ),
    f(
        "notary_approval_of_photo_id",
        Binary(Document),
        "Image of a notary's approval of the photo ID or passport",
    ),
    f("ip_address", Text, "IP address of the customer's computer"),
    f(
        "photo_proof_residence",
        Binary(Document),
        "Image of a utility bill, bank statement or similar with the customer's name and address",
    ),
    f(
        "sex",
        Choice(&["male", "female", "other"]),
        "male, female or other",
    ),
    f(
        "proof_of_income",
        Binary(Document),
        "Image of the customer's proof of income document",
    ),
    f(
        "proof_of_liveness",
        Binary(Media),
        "Video or image of the customer as a liveness proof",
    ),
    f(
        "referral_id",
        Text,
        "The customer's origin (such as an id in another application) or a referral code",
    ),
];

/// SEP-9 §Financial Account Fields (also allowed with `organization.`).
const FINANCIAL: &[Field] = &[
    f("bank_name", Text, "Name of the bank"),
    f(
        "bank_account_type",
        Choice(&["checking", "savings"]),
        "checking or savings",
    ),
    f(
        "bank_account_number",
        Text,
        "Number identifying the bank account",
    ),
    f(
        "bank_number",
        Text,
        "Number identifying the bank in the national banking system (routing number in the US)",
    ),
    f(
        "bank_phone_number",
        Phone,
        "Phone number of the bank, with country code",
    ),
    f(
        "bank_branch_number",
        Text,
        "Number identifying the bank branch",
    ),
    f(
        "external_transfer_memo",
        Text,
        "A destination tag/memo used to identify a transaction",
    ),
    f("clabe_number", Text, "Bank account number for Mexico"),
    f(
        "cbu_number",
        Text,
        "Clave Bancaria Uniforme (CBU) or Clave Virtual Uniforme (CVU)",
    ),
    f("cbu_alias", Text, "The alias for a CBU or CVU"),
    f(
        "mobile_money_number",
        Phone,
        "Mobile phone number (E.164) of a mobile money account",
    ),
    f(
        "mobile_money_provider",
        Text,
        "Name of the mobile money service provider",
    ),
    f(
        "crypto_address",
        Text,
        "Address for a cryptocurrency account",
    ),
    f(
        "crypto_memo",
        Text,
        "(deprecated, use external_transfer_memo) A destination tag/memo",
    ),
];

/// SEP-9 §Organization Fields.
const ORGANIZATION: &[Field] = &[
    f(
        "organization.name",
        Text,
        "Full organization name as on the incorporation",
    ),
    f("organization.VAT_number", Text, "Organization VAT number"),
    f(
        "organization.registration_number",
        Text,
        "Organization registration number",
    ),
    f(
        "organization.registration_date",
        Date,
        "Date the organization was registered",
    ),
    f(
        "organization.registered_address",
        MultiLine,
        "Organization registered address",
    ),
    f(
        "organization.number_of_shareholders",
        Integer,
        "Organization shareholder number",
    ),
    f(
        "organization.shareholder_name",
        Text,
        "Can be an organization or a person",
    ),
    f(
        "organization.photo_incorporation_doc",
        Binary(Document),
        "Image of incorporation documents",
    ),
    f(
        "organization.photo_proof_address",
        Binary(Document),
        "Image of a utility bill or bank statement with the organization's name and address",
    ),
    f(
        "organization.address_country_code",
        Country3,
        "Country code for the organization's address (ISO 3166-1 alpha-3)",
    ),
    f(
        "organization.state_or_province",
        Text,
        "Name of state/province/region/prefecture",
    ),
    f("organization.city", Text, "Name of city/town"),
    f(
        "organization.postal_code",
        Text,
        "Postal or other code identifying the organization's locale",
    ),
    f(
        "organization.director_name",
        Text,
        "Organization registered managing director",
    ),
    f("organization.website", Text, "Organization website"),
    f("organization.email", Email, "Organization contact email"),
    f("organization.phone", Phone, "Organization contact phone"),
];

/// SEP-9 §Card fields.
const CARD: &[Field] = &[
    f("card.number", Text, "Card number"),
    f(
        "card.expiration_date",
        YearMonth,
        "Expiration month and year in YY-MM format (e.g. 29-11)",
    ),
    f(
        "card.cvc",
        Text,
        "CVC number (digits on the back of the card)",
    ),
    f("card.holder_name", Text, "Name of the card holder"),
    f(
        "card.network",
        Text,
        "Brand of the card/network (e.g. Visa, Mastercard, AmEx)",
    ),
    f("card.postal_code", Text, "Billing address postal code"),
    f(
        "card.country_code",
        Country2,
        "Billing address country code (ISO 3166-1 alpha-2, e.g. US)",
    ),
    f(
        "card.state_or_province",
        Text,
        "Name of state/province/region/prefecture (ISO 3166-2)",
    ),
    f("card.city", Text, "Name of city/town"),
    f(
        "card.address",
        MultiLine,
        "Entire billing address as a multi-line string",
    ),
    f(
        "card.token",
        Text,
        "Token representing the card in an external payment system (e.g. Stripe)",
    ),
];

/// `organization.`-prefixed names of the financial fields, in `FINANCIAL`'s
/// order: "The organization. prefix should be used when requesting or
/// providing fields related to an organization" (§Financial Account Fields).
const ORG_FINANCIAL_NAMES: &[&str] = &[
    "organization.bank_name",
    "organization.bank_account_type",
    "organization.bank_account_number",
    "organization.bank_number",
    "organization.bank_phone_number",
    "organization.bank_branch_number",
    "organization.external_transfer_memo",
    "organization.clabe_number",
    "organization.cbu_number",
    "organization.cbu_alias",
    "organization.mobile_money_number",
    "organization.mobile_money_provider",
    "organization.crypto_address",
    "organization.crypto_memo",
];

static ORG_FINANCIAL: std::sync::LazyLock<Vec<Field>> = std::sync::LazyLock::new(|| {
    FINANCIAL
        .iter()
        .zip(ORG_FINANCIAL_NAMES)
        .map(|(f, name)| Field { name, ..*f })
        .collect()
});

fn tables() -> [&'static [Field]; 5] {
    [
        NATURAL_PERSON,
        FINANCIAL,
        ORGANIZATION,
        CARD,
        ORG_FINANCIAL.as_slice(),
    ]
}

/// Looks a field up by name.
pub fn lookup(name: &str) -> Option<Field> {
    tables()
        .into_iter()
        .flatten()
        .find(|f| f.name == name)
        .copied()
}

/// Every field name Mooring accepts.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    tables().into_iter().flatten().map(|f| f.name)
}

#[cfg(test)]
mod tests;
