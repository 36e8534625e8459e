//! Decoding of `application/x-www-form-urlencoded` bodies and query strings.
//!
//! Pure (no HTTP types), so that the fuzz targets (`fuzz/`) compile it alone.

/// Decodes an `application/x-www-form-urlencoded` body; None if it is not
/// valid UTF-8 form data. Percent-escapes that do not decode to UTF-8 become
/// U+FFFD. Never panics.
pub fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    std::str::from_utf8(body).ok()?;
    serde_urlencoded::from_bytes(body).ok()
}

/// Decodes a query string; an undecodable one gives no pairs. Never panics.
pub fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_is_refused_or_replaced_never_a_panic() {
        assert_eq!(
            parse_form(b"a=1&b=%C3%A9"),
            Some(vec![("a".into(), "1".into()), ("b".into(), "é".into())])
        );
        // Raw bytes that are not UTF-8: refused.
        assert_eq!(parse_form(b"a=\xff\xfe"), None);
        // Escapes of invalid UTF-8: replaced.
        assert_eq!(
            parse_form(b"a=%FF%C0%AE"),
            Some(vec![("a".into(), "\u{fffd}\u{fffd}\u{fffd}".into())])
        );
        for odd in ["", "&&&", "=", "==&=", "%", "%%", "%4", "a=%zz", "+=+"] {
            assert!(parse_form(odd.as_bytes()).is_some(), "{odd}");
            let _ = parse_query(Some(odd));
        }
        assert_eq!(parse_query(None), vec![]);
    }
}
