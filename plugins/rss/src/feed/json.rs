//! JSON Feed (1.0 and 1.1): arrays pruned to a bounded size before feed-rs reads
//! them, errors in French with their line.

use super::*;

pub(super) fn parse_json(text: &str, base: Option<&Url>) -> Result<ParsedFeed, FeedError> {
    // Any JSON is not a JSON Feed: without the version URL it is "not a feed".
    if !text.contains("jsonfeed.org/version") {
        return Err(FeedError::Unrecognised);
    }
    let pruned = prune_json(text);
    let feed = feed_parser(base)
        .parse(pruned.as_bytes())
        .map_err(|e| feed_rs_error(e, &pruned))?;
    Ok(convert(feed, base, 0))
}

/// Most elements kept of a JSON array other than `items` (tags,
/// attachments, authors).
pub(super) const MAX_JSON_ARRAY: usize = 64;

/// Drops the elements past [`MAX_ENTRIES`] of the top-level `items` array and
/// past [`MAX_JSON_ARRAY`] of any other array, before feed-rs builds them:
/// 2 MB of `{"id":"1"},` are 140 000 entries and some 200 MB of model, far
/// beyond the component's memory. The dropped text leaves its line breaks,
/// so that error lines stay right. A scanner of strings and brackets is
/// enough: malformed JSON is reported by serde_json afterwards.
pub(super) fn prune_json(text: &str) -> std::borrow::Cow<'_, str> {
    struct Frame {
        array: bool,
        elements: usize,
        limit: usize,
    }
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut frames: Vec<Frame> = Vec::new();
    // Index of the frame being dropped and where the drop began (its comma).
    let mut dropping: Option<(usize, usize)> = None;
    let (mut in_string, mut escaped) = (false, false);
    let (mut string_start, mut last_string, mut key) = (0, (0, 0), None);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    last_string = (string_start, i);
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i + 1;
            }
            b':' => key = Some(last_string),
            b'{' | b'[' => {
                let is_items = frames.len() == 1
                    && !frames[0].array
                    && key.is_some_and(|(s, e)| &text[s..e] == "items");
                let limit = if is_items {
                    MAX_ENTRIES
                } else {
                    MAX_JSON_ARRAY
                };
                frames.push(Frame {
                    array: b == b'[',
                    elements: 0,
                    limit,
                });
                key = None;
            }
            b',' => {
                key = None;
                let depth = frames.len();
                if let Some(frame) = frames.last_mut().filter(|f| f.array) {
                    frame.elements += 1;
                    if frame.elements == frame.limit && dropping.is_none() {
                        dropping = Some((depth - 1, i));
                    }
                }
            }
            b'}' | b']' => {
                frames.pop();
                if let Some((frame, from)) = dropping
                    && frame == frames.len()
                {
                    out.push_str(&text[copied..from]);
                    out.extend(text[from..i].matches('\n'));
                    copied = i;
                    dropping = None;
                }
            }
            _ => {}
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// serde_json's message is English ("expected `,` at line 3 column 7"): keep
/// the line, say what kind of error it is and name a missing field.
pub(super) fn json_error(message: &str, line: usize, is_data: bool) -> FeedError {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let detail = if let Some(field) = missing {
        format!("champ « {field} » manquant")
    } else if is_data {
        "valeur d'un type inattendu".to_owned()
    } else if message.contains("EOF") {
        "fin du document inattendue".to_owned()
    } else {
        "erreur de syntaxe".to_owned()
    };
    FeedError::Invalid {
        syntax: Syntax::Json,
        line: (line > 0).then_some(line),
        detail,
    }
}
