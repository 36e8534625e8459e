//! The forum's records and the pure rules about them (unit-tested natively).

use preau_sdk::prelude::*;
use preau_sdk::text::fold::fold;
use serde::{Deserialize, Serialize};

/// Longest category or subject title.
pub const MAX_TITLE_CHARS: usize = 150;
/// Longest message (HTML source).
pub const MAX_BODY_BYTES: usize = 50_000;

/// Roles that may read.
pub const READERS: &[&str] = &["lecteur", "contributeur", "moderateur"];
/// Roles that may write.
pub const WRITERS: &[&str] = &["contributeur", "moderateur"];

/// A category of subjects.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Category {
    pub title: String,
    pub description: String,
}

impl Record for Category {
    const KIND: &'static str = "category";
}

/// A subject (thread).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subject {
    pub category: Id,
    pub title: String,
    pub author_id: String,
    pub author_name: String,
    pub created_at: i64,
    /// Last visible activity (creation or last reply), for ordering and unread markers.
    pub last_post_at: i64,
    pub last_author: String,
    /// Messages, the first one included.
    pub posts: u32,
    pub locked: bool,
    pub hidden: bool,
    /// Opened by a pupil under pre-moderation: shown to its author and moderators only.
    #[serde(default)]
    pub pending: bool,
}

/// Index of a category's subjects.
pub fn category_index(category: Id) -> String {
    format!("cat:{category}")
}

impl Record for Subject {
    const KIND: &'static str = "subject";

    fn index_keys(&self) -> Vec<String> {
        vec![category_index(self.category)]
    }
}

/// A quoted message, copied at the time of the reply.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Quote {
    pub author: String,
    pub excerpt: String,
}

/// A message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Post {
    pub subject: Id,
    pub author_id: String,
    pub author_name: String,
    /// Sanitized HTML.
    pub body: String,
    /// Plain text, for search and quotes.
    pub text: String,
    pub created_at: i64,
    pub hidden: bool,
    /// Waiting for a moderator (pre-moderation of pupils' messages).
    pub pending: bool,
    pub quote: Option<Quote>,
}

/// Index of a subject's messages.
pub fn subject_index(subject: Id) -> String {
    format!("subject:{subject}")
}

impl Record for Post {
    const KIND: &'static str = "post";

    fn index_keys(&self) -> Vec<String> {
        let mut keys = vec![subject_index(self.subject)];
        if self.pending {
            keys.push("pending".into());
        }
        keys
    }
}

/// What the caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub moderate: bool,
}

impl Access {
    pub fn of(invocation: &Invocation) -> Access {
        Access {
            read: invocation.has_any_role(READERS),
            write: invocation.caller().is_some() && invocation.has_any_role(WRITERS),
            moderate: invocation.caller().is_some() && invocation.has_role("moderateur"),
        }
    }

    /// Whether a message is shown to `caller`: hidden ones to moderators only,
    /// pending ones to moderators and their author.
    pub fn sees_post(&self, post: &Post, caller: Option<&str>) -> bool {
        if self.moderate {
            return true;
        }
        !post.hidden && (!post.pending || caller == Some(post.author_id.as_str()))
    }

    /// Whether a subject is listed: hidden ones to moderators only, pending ones
    /// to moderators and their author.
    pub fn sees_subject(&self, subject: &Subject, caller: Option<&str>) -> bool {
        self.moderate
            || (!subject.hidden && (!subject.pending || caller == Some(subject.author_id.as_str())))
    }

    /// Whether the caller may reply in `subject`.
    pub fn may_reply(&self, subject: &Subject) -> bool {
        self.write && (self.moderate || (!subject.locked && !subject.hidden && !subject.pending))
    }
}

/// Checks a title: required, at most [`MAX_TITLE_CHARS`].
pub fn check_title(field: &str, title: &str) -> Option<FieldError> {
    if title.trim().is_empty() {
        Some(FieldError::new(field, "Donnez un titre."))
    } else if title.chars().count() > MAX_TITLE_CHARS {
        Some(FieldError::new(
            field,
            &format!("Le titre dépasse {MAX_TITLE_CHARS} caractères."),
        ))
    } else {
        None
    }
}

/// Checks a message body: required, at most [`MAX_BODY_BYTES`].
pub fn check_body(body: &str) -> Option<FieldError> {
    if body.trim().is_empty() {
        Some(FieldError::new("message", "Écrivez votre message."))
    } else if body.len() > MAX_BODY_BYTES {
        Some(FieldError::new(
            "message",
            "Le message est trop long (50 000 caractères au plus).",
        ))
    } else {
        None
    }
}

/// Whether every word of `query` (case- and accent-insensitive: the SDK's
/// [`fold`](preau_sdk::text::fold::fold), so `cœur` finds `Cœur` and `coeur`) occurs in
/// `text`.
pub fn matches(query: &str, text: &str) -> bool {
    let text = fold(text);
    let words: Vec<String> = fold(query).split_whitespace().map(str::to_string).collect();
    !words.is_empty() && words.iter().all(|w| text.contains(w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(author: &str, hidden: bool, pending: bool) -> Post {
        Post {
            subject: Id(1),
            author_id: author.into(),
            author_name: author.into(),
            body: String::new(),
            text: String::new(),
            created_at: 0,
            hidden,
            pending,
            quote: None,
        }
    }

    #[test]
    fn visibility_of_hidden_and_pending_messages() {
        let reader = Access {
            read: true,
            write: true,
            moderate: false,
        };
        let moderator = Access {
            moderate: true,
            ..reader
        };
        assert!(!reader.sees_post(&post("a", true, false), Some("a")));
        assert!(reader.sees_post(&post("a", false, true), Some("a")));
        assert!(!reader.sees_post(&post("a", false, true), Some("b")));
        assert!(moderator.sees_post(&post("a", true, true), Some("b")));
    }

    #[test]
    fn search_ignores_case_and_accents() {
        assert!(matches("ÉLÈVES sortie", "La sortie des élèves"));
        assert!(!matches("sortie piscine", "La sortie des élèves"));
        assert!(!matches("  ", "x"));
        assert!(matches("coeur", "Le Cœur du sujet"));
        assert!(matches("cœur", "Un coeur"));
    }

    #[test]
    fn titles_and_bodies_are_checked() {
        assert!(check_title("titre", " ").is_some());
        assert!(check_title("titre", &"x".repeat(151)).is_some());
        assert!(check_title("titre", "Bonjour").is_none());
        assert!(check_body("").is_some());
    }
}
