//! A county's branding: its colour, contact details and logo, set by an
//! administrator and shown on the report (cover and page head), the pages
//! its clients meet and its public pages.
//!
//! The colour becomes the colour of links and buttons, so it must be dark
//! enough to read on white and on the light grey of the page head (WCAG
//! 2.1 AA: 4.5:1). A logo is a PNG, JPEG or SVG image; the store keeps
//! every logo once used under its SHA-256, so an approved report keeps the
//! logo it was approved with.

use serde::{Deserialize, Serialize};

use crate::plan::{ErrorCode, FieldError};
use crate::I18nText;

/// The largest logo accepted, in bytes.
pub const LOGO_MAX_BYTES: usize = 512 * 1024;

/// The longest contact text accepted per language, in characters.
pub const CONTACT_MAX_CHARS: usize = 600;

/// The lightest background the colour must read on: the page head.
const HEAD_BACKGROUND: (u8, u8, u8) = (0xf2, 0xf2, 0xf2);

/// The contrast the colour needs with white and the page head's grey.
pub const MIN_CONTRAST: f64 = 4.5;

/// A county's branding. Empty when nothing is set: then Valvo's own
/// colour and no logo.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Branding {
    /// `#rrggbb`, lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// Contact details (address, telephone, e-mail), a few lines.
    #[serde(default, skip_serializing_if = "I18nText::is_empty")]
    pub contact: I18nText,
    /// The logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
}

impl Branding {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.colour.is_none() && self.contact.is_empty() && self.logo.is_none()
    }
}

/// A logo: which image (by its SHA-256) and its type. The image itself is
/// not part of a report's snapshot: the store fills it when it reads one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logo {
    /// Hex SHA-256 of the image.
    pub sha256: String,
    /// `image/png`, `image/jpeg` or `image/svg+xml`.
    pub media_type: String,
    /// The image (not serialised).
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// The image type of a logo file, from its first bytes: PNG, JPEG or SVG.
pub fn logo_media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some("image/jpeg");
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if (head.starts_with("<?xml") || head.starts_with("<svg") || head.starts_with("<!--"))
        && head.contains("<svg")
    {
        return Some("image/svg+xml");
    }
    None
}

/// Checks a logo file's size and type (field `brand_logo`).
pub fn check_logo(bytes: &[u8]) -> Result<&'static str, FieldError> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(FieldError::new("brand_logo", ErrorCode::TooLong));
    }
    logo_media_type(bytes).ok_or_else(|| FieldError::new("brand_logo", ErrorCode::Invalid))
}

fn channel(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.03928 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// WCAG relative luminance.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// `#rrggbb` (or `#rgb`) as its three channels.
pub fn rgb(hex: &str) -> Option<(u8, u8, u8)> {
    let h = hex.trim().strip_prefix('#')?;
    if !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let full: String = match h.len() {
        3 => h.chars().flat_map(|c| [c, c]).collect(),
        6 => h.to_string(),
        _ => return None,
    };
    let p = |i: usize| u8::from_str_radix(&full[i..i + 2], 16).ok();
    Some((p(0)?, p(2)?, p(4)?))
}

/// Parses the colour field (`brand_colour`): empty is no colour of the
/// county's own; otherwise `#rrggbb` (or `#rgb`) dark enough to read on the
/// page head's light grey, and so on white: [`MIN_CONTRAST`].
pub fn parse_colour(input: &str) -> Result<Option<String>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let c = rgb(s).ok_or_else(|| FieldError::new("brand_colour", ErrorCode::Invalid))?;
    if contrast(c, HEAD_BACKGROUND) < MIN_CONTRAST {
        return Err(FieldError::new("brand_colour", ErrorCode::OutOfRange));
    }
    Ok(Some(format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)))
}

/// Checks the contact text's length (fields `brand_contact_fi`, `_sv`, `_en`).
pub fn check_contact(contact: &I18nText) -> Result<(), FieldError> {
    for lang in crate::Lang::ALL {
        if contact
            .get(lang)
            .is_some_and(|t| t.chars().count() > CONTACT_MAX_CHARS)
        {
            return Err(FieldError::new(
                format!("brand_contact_{}", lang.code()),
                ErrorCode::TooLong,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_must_read_on_the_page_head() {
        assert_eq!(parse_colour(""), Ok(None));
        assert_eq!(parse_colour(" #0B5EA8 "), Ok(Some("#0b5ea8".into())));
        assert_eq!(parse_colour("#000"), Ok(Some("#000000".into())));
        // Yellow on white: 1.07:1.
        assert_eq!(
            parse_colour("#ffcc00").unwrap_err().code,
            ErrorCode::OutOfRange
        );
        // #767676 is 4.54:1 on white but 4.07:1 on the grey head.
        assert!(contrast(rgb("#767676").unwrap(), (255, 255, 255)) > 4.5);
        assert_eq!(
            parse_colour("#767676").unwrap_err().code,
            ErrorCode::OutOfRange
        );
        for bad in ["blue", "#12345", "#ggg000", "0b5ea8"] {
            assert_eq!(
                parse_colour(bad).unwrap_err().code,
                ErrorCode::Invalid,
                "{bad}"
            );
        }
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn a_logo_is_known_by_its_first_bytes() {
        assert_eq!(logo_media_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(
            logo_media_type(&[0xff, 0xd8, 0xff, 0xe0]),
            Some("image/jpeg")
        );
        assert_eq!(
            logo_media_type(
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
            ),
            Some("image/svg+xml")
        );
        assert_eq!(logo_media_type(b"GIF89a"), None);
        assert_eq!(logo_media_type(b"<html><svg/></html>"), None);
        assert_eq!(
            check_logo(&vec![0u8; LOGO_MAX_BYTES + 1]).unwrap_err().code,
            ErrorCode::TooLong
        );
    }
}
