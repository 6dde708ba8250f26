use super::*;

fn check(name: &str, value: &str) -> Result<String, Invalid> {
    validate(&lookup(name).unwrap(), value, false)
}

#[test]
fn every_sep9_field_is_known_with_its_type() {
    assert_eq!(all_names().count(), 36 + 14 + 17 + 11 + 14);
    assert_eq!(lookup("photo_id_front").unwrap().sep12_type(), "binary");
    assert_eq!(lookup("birth_date").unwrap().sep12_type(), "date");
    assert_eq!(lookup("occupation").unwrap().sep12_type(), "number");
    assert_eq!(
        lookup("organization.bank_account_number").unwrap().name,
        "organization.bank_account_number"
    );
    assert!(lookup("organization.first_name").is_none());
    assert!(lookup("favourite_colour").is_none());
    for name in all_names() {
        assert!(lookup(name).is_some(), "{name}");
    }
    for (f, org) in FINANCIAL.iter().zip(ORG_FINANCIAL_NAMES) {
        assert_eq!(format!("organization.{}", f.name), *org);
    }
}

#[test]
fn encodings_are_enforced() {
    assert_eq!(check("birth_date", " 1976-07-04 ").unwrap(), "1976-07-04");
    for bad in [
        "1976-7-4",
        "1976-02-30",
        "2023-02-29",
        "76-07-04",
        "1976/07/04",
        "1976-13-01",
    ] {
        assert!(check("birth_date", bad).is_err(), "{bad}");
    }
    assert!(check("birth_date", "2024-02-29").is_ok());
    assert!(check("address_country_code", "USA").is_ok());
    assert_eq!(
        check("address_country_code", "US").unwrap_err().to_string(),
        "'address_country_code' must be an ISO 3166-1 alpha-3 country code, e.g. USA"
    );
    assert!(check("card.country_code", "US").is_ok());
    assert!(check("language_code", "pt").is_ok() && check("language_code", "por").is_err());
    assert!(check("mobile_number", "+14155552671").is_ok());
    for bad in [
        "14155552671",
        "+0123456789",
        "+1 415 555 2671",
        "+123",
        "+1234567890123456",
    ] {
        assert!(check("mobile_number", bad).is_err(), "{bad}");
    }
    assert!(validate(&lookup("mobile_number").unwrap(), "ab12cd34", true).is_ok());
    assert!(check("email_address", "alice.b+kyc@mail.example.com").is_ok());
    for bad in [
        "alice",
        "a@b",
        "a@@b.com",
        "a b@c.com",
        ".a@b.com",
        "a@-b.com",
        "a@b.c0m",
    ] {
        assert!(check("email_address", bad).is_err(), "{bad}");
    }
    assert!(check("sex", "female").is_ok());
    assert_eq!(
        check("sex", "f").unwrap_err().to_string(),
        "'sex' must be one of: male, female, other"
    );
    assert!(check("occupation", "2512").is_ok() && check("occupation", "25120").is_err());
    assert!(
        check("card.expiration_date", "29-11").is_ok()
            && check("card.expiration_date", "29-13").is_err()
    );
    assert!(check("first_name", "").is_err());
    assert!(check("first_name", "Ann\u{0}").is_err());
    assert!(check("address", "1 Main St\nSpringfield").is_ok());
    assert!(check("first_name", "Ann\nBob").is_err());
    assert!(check("first_name", &"x".repeat(1001)).is_err());
    assert_eq!(
        check("photo_id_front", "abc").unwrap_err().to_string(),
        "'photo_id_front' is a file: send it as multipart/form-data or as <field>_file_id"
    );
}

#[test]
fn files_are_recognised_by_their_bytes() {
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    assert_eq!(
        check_file("photo_id_front", Image, &png),
        Ok(FileFormat::Png)
    );
    assert_eq!(
        check_file("photo_id_front", Image, &[0xFF, 0xD8, 0xFF, 0xE0]),
        Ok(FileFormat::Jpeg)
    );
    assert_eq!(
        check_file("photo_id_front", Image, b"%PDF-1.7")
            .unwrap_err()
            .to_string(),
        "'photo_id_front' cannot be decoded. Must be jpg or png."
    );
    assert_eq!(
        check_file("photo_proof_residence", Document, b"%PDF-1.7"),
        Ok(FileFormat::Pdf)
    );
    assert_eq!(
        check_file("proof_of_liveness", Media, b"\0\0\0\x18ftypmp42"),
        Ok(FileFormat::Mp4)
    );
    assert!(check_file("photo_id_front", Image, b"GIF89a").is_err());
    assert!(check_file("photo_id_front", Image, b"").is_err());
}

#[test]
fn bidirectional_controls_are_refused_by_name() {
    for c in [
        '\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}',
    ] {
        let err = check("first_name", &format!("Ann{c}eL")).unwrap_err();
        assert_eq!(err.field, "first_name");
        assert!(err.problem.contains("bidirectional"), "{err}");
        assert!(!err.to_string().contains("Ann"), "the value is not echoed");
    }
    assert!(check("address", "Rue de l\u{2019}Église 1").is_ok());
    assert!(check("last_name", "\u{0639}\u{0644}\u{064A}").is_ok());
}
