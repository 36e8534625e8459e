//! An establishment's appearance as CSS: its two colours, validated, and the
//! text colour that stays readable on the primary one.

use crate::directory::Theme;

/// `#rrggbb` only: the value goes into CSS.
pub fn valid_colour(colour: &str) -> bool {
    colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Black or white, whichever reads better on `colour` (WCAG relative luminance).
fn contrast_text(colour: &str) -> &'static str {
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&colour[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white = 1.05 / (L + 0.05); with black = (L + 0.05) / 0.05.
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#111111"
    }
}

/// The custom properties of an establishment's colours.
pub fn stylesheet(theme: &Theme) -> String {
    let default = Theme::default();
    let primary = if valid_colour(&theme.primary) {
        &theme.primary
    } else {
        &default.primary
    };
    let accent = if valid_colour(&theme.accent) {
        &theme.accent
    } else {
        &default.accent
    };
    format!(
        ":root {{\n  --primary: {primary};\n  --primary-contrast: {};\n  --accent: {accent};\n}}\n",
        contrast_text(primary)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_validated_and_contrasted() {
        assert!(valid_colour("#1f5f8b"));
        assert!(!valid_colour("red;}body{x"));
        assert_eq!(contrast_text("#1f5f8b"), "#ffffff");
        assert_eq!(contrast_text("#f5e663"), "#111111");
        let css = stylesheet(&Theme {
            primary: "}</style>".into(),
            accent: "#000000".into(),
            banner_url: String::new(),
        });
        assert!(css.contains("--primary: #1f5f8b"));
    }
}
