//! The typeface shipped with the binary: Inter (SIL Open Font License 1.1,
//! `crates/valvo-report/fonts/`), the same face on the web pages and in
//! every PDF.

/// The font files: (file name, bytes). Regular, italic, semibold (the
/// pages' labels), bold and bold italic.
pub const FONTS: [(&str, &[u8]); 5] = [
    (
        "Inter-Regular.otf",
        include_bytes!("../fonts/Inter-Regular.otf"),
    ),
    (
        "Inter-Italic.otf",
        include_bytes!("../fonts/Inter-Italic.otf"),
    ),
    (
        "Inter-SemiBold.otf",
        include_bytes!("../fonts/Inter-SemiBold.otf"),
    ),
    ("Inter-Bold.otf", include_bytes!("../fonts/Inter-Bold.otf")),
    (
        "Inter-BoldItalic.otf",
        include_bytes!("../fonts/Inter-BoldItalic.otf"),
    ),
];

/// A font file by its name.
pub fn font(name: &str) -> Option<&'static [u8]> {
    FONTS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}
