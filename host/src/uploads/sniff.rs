//! The type of an uploaded file, judged by its first bytes, never by its name
//! or by what the browser claimed; and whether a browser may show it inline.

use crate::image_header::{self, ImageFormat};

/// Types a browser may show inline (under a CSP that runs nothing): images,
/// PDF and plain text. Everything else is downloaded as an attachment.
pub const SHOWN_INLINE: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain; charset=utf-8",
];

/// The media type of a file whose first bytes are `head` (at least the first
/// 512 bytes when the file is that long). Office documents and ZIP archives
/// share a signature: the name's extension tells them apart only among them.
pub fn media_type(head: &[u8], name: &str) -> &'static str {
    if let Some(format) = image_header::sniff(head) {
        return match format {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        };
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(b"%PDF-") {
        "application/pdf"
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        match extension.as_str() {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "odt" => "application/vnd.oasis.opendocument.text",
            "ods" => "application/vnd.oasis.opendocument.spreadsheet",
            "odp" => "application/vnd.oasis.opendocument.presentation",
            _ => "application/zip",
        }
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // The old Office formats (.doc, .xls, .ppt).
        "application/x-ole-storage"
    } else if head.starts_with(b"ID3") || head.starts_with(&[0xFF, 0xFB]) {
        "audio/mpeg"
    } else if head.get(4..8) == Some(b"ftyp") {
        "video/mp4"
    } else if head.starts_with(b"OggS") {
        "audio/ogg"
    } else if looks_like_markup(head) {
        // Never shown as a page, whatever it holds.
        "application/octet-stream"
    } else if std::str::from_utf8(trim_partial_char(head)).is_ok() && !head.contains(&0) {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// HTML, SVG or XML: a browser could run it if it were shown.
fn looks_like_markup(head: &[u8]) -> bool {
    if image_header::looks_like_svg(head) {
        return true;
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    [
        "<!doctype",
        "<html",
        "<?xml",
        "<head",
        "<body",
        "<script",
        "<iframe",
    ]
    .iter()
    .any(|tag| text.starts_with(tag))
}

/// `head` without a UTF-8 sequence cut at its end.
fn trim_partial_char(head: &[u8]) -> &[u8] {
    match std::str::from_utf8(head) {
        Ok(_) => head,
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        Err(_) => head,
    }
}

#[cfg(test)]
mod tests {
    use super::media_type;

    #[test]
    fn the_bytes_decide_not_the_name() {
        assert_eq!(media_type(b"%PDF-1.7\n", "devoir.txt"), "application/pdf");
        assert_eq!(
            media_type(b"<!DOCTYPE html><script>alert(1)</script>", "notes.txt"),
            "application/octet-stream"
        );
        assert_eq!(
            media_type(b"<svg xmlns='http://www.w3.org/2000/svg'>", "a.png"),
            "application/octet-stream"
        );
        assert_eq!(
            media_type("Liste des fournitures\n".as_bytes(), "liste"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            media_type(b"PK\x03\x04rest", "cours.odt"),
            "application/vnd.oasis.opendocument.text"
        );
        assert_eq!(
            media_type(b"PK\x03\x04rest", "cours.exe"),
            "application/zip"
        );
        assert_eq!(
            media_type(&[0, 1, 2, 3], "x.pdf"),
            "application/octet-stream"
        );
        // A multi-byte character cut by the end of the sniffed head is still text.
        let text = "é".repeat(300);
        assert_eq!(
            media_type(&text.as_bytes()[..511], "t"),
            "text/plain; charset=utf-8"
        );
    }
}
