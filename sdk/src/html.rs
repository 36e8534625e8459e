//! Rich text safety, done by the host (the same rules for every plugin).

use crate::bindings::preau::plugin::html;

/// Sanitizes user HTML: allowlisted video/activity links and iframes become
/// host-built embeds; scripts, event handlers, unsafe URLs and other iframes
/// disappear. Idempotent.
pub fn sanitize(rich_text: &str) -> String {
    html::sanitize(rich_text)
}

/// Plain text of an HTML fragment, for excerpts and search.
pub fn plain_text(rich_text: &str) -> String {
    html::plain_text(rich_text)
}

/// The host-built embed (an iframe) for a provider URL the region allows.
pub fn embed(url: &str) -> Option<String> {
    html::embed(url)
}

/// The first `max_chars` characters of `text`, cut at a word boundary, with `…`.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max_chars / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncates_at_word_boundary() {
        assert_eq!(super::truncate("court", 10), "court");
        assert_eq!(super::truncate("un deux trois quatre", 10), "un deux…");
        assert_eq!(super::truncate("éééééééééééé", 5), "ééééé…");
    }
}
