//! Documents of binary fields: which formats a field accepts, recognised
//! by their magic bytes, never by the name or type the client gives.

use super::Accept::{self, *};
use super::Invalid;
use super::validate::invalid;

/// A file's format, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// PDF.
    Pdf,
    /// MP4 or QuickTime (ISO base media).
    Mp4,
    /// WebM / Matroska.
    Webm,
}

impl FileFormat {
    /// Its media type.
    pub fn content_type(&self) -> &'static str {
        match self {
            FileFormat::Jpeg => "image/jpeg",
            FileFormat::Png => "image/png",
            FileFormat::Pdf => "application/pdf",
            FileFormat::Mp4 => "video/mp4",
            FileFormat::Webm => "video/webm",
        }
    }
}

/// Bytes needed to recognise a format.
pub const SNIFF_LEN: usize = 12;

/// Recognises a format by magic bytes.
pub fn sniff(head: &[u8]) -> Option<FileFormat> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileFormat::Jpeg)
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(FileFormat::Png)
    } else if head.starts_with(b"%PDF-") {
        Some(FileFormat::Pdf)
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some(FileFormat::Mp4)
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some(FileFormat::Webm)
    } else {
        None
    }
}

/// Checks that a file is what `accept` allows, with the seed's message:
/// `'photo_id_front' cannot be decoded. Must be jpg or png.`
pub fn check_file(field: &str, accept: Accept, head: &[u8]) -> Result<FileFormat, Invalid> {
    let format = sniff(head);
    let allowed: &[FileFormat] = match accept {
        Image => &[FileFormat::Jpeg, FileFormat::Png],
        Document => &[FileFormat::Jpeg, FileFormat::Png, FileFormat::Pdf],
        Media => &[
            FileFormat::Jpeg,
            FileFormat::Png,
            FileFormat::Mp4,
            FileFormat::Webm,
        ],
        Any => &[
            FileFormat::Jpeg,
            FileFormat::Png,
            FileFormat::Pdf,
            FileFormat::Mp4,
            FileFormat::Webm,
        ],
    };
    match format {
        Some(f) if allowed.contains(&f) => Ok(f),
        _ => Err(invalid(
            field,
            match accept {
                Image => "cannot be decoded. Must be jpg or png.",
                Document => "cannot be decoded. Must be jpg, png or pdf.",
                Media => "cannot be decoded. Must be jpg, png, mp4 or webm.",
                Any => "cannot be decoded. Must be jpg, png, pdf, mp4 or webm.",
            },
        )),
    }
}

/// Checks that a file already stored (known by its media type) is what
/// `accept` allows, with the same message as [`check_file`].
pub fn check_content_type(field: &str, accept: Accept, content_type: &str) -> Result<(), Invalid> {
    let head: &[u8] = match content_type {
        "image/jpeg" => &[0xFF, 0xD8, 0xFF],
        "image/png" => &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A],
        "application/pdf" => b"%PDF-",
        "video/mp4" => b"\0\0\0\0ftyp",
        "video/webm" => &[0x1A, 0x45, 0xDF, 0xA3],
        _ => b"",
    };
    check_file(field, accept, head).map(|_| ())
}
