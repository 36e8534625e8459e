//! The article record and the pure rules about it (unit-tested natively).

use preau_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest title accepted.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest body accepted (HTML source).
pub const MAX_BODY_BYTES: usize = 200_000;

/// Publication state of an article.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Pending,
    Published,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "brouillon",
            Status::Pending => "a_valider",
            Status::Published => "publie",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Brouillon",
            Status::Pending => "À valider",
            Status::Published => "Publié",
        }
    }

    pub fn index_key(self) -> &'static str {
        match self {
            Status::Draft => "status:brouillon",
            Status::Pending => "status:a_valider",
            Status::Published => "status:publie",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Post {
    pub title: String,
    /// Sanitized HTML.
    pub body: String,
    /// Plain-text start of the body, for lists and blocks.
    pub excerpt: String,
    pub author_id: String,
    pub author_name: String,
    pub status: Status,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    /// Files attached to the article (kept by the host, counted in their
    /// uploader's quota).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// Most files one article may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// A file attached to an article.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
}

pub fn author_index(author_id: &str) -> String {
    format!("author:{author_id}")
}

impl Record for Post {
    const KIND: &'static str = "post";

    fn index_keys(&self) -> Vec<String> {
        vec![
            self.status.index_key().to_string(),
            author_index(&self.author_id),
        ]
    }
}

/// What the caller may do, from their roles.
pub struct Access {
    caller_id: Option<String>,
    pub can_write: bool,
    pub can_publish_own: bool,
    pub can_moderate: bool,
}

impl Access {
    pub fn of(invocation: &Invocation) -> Self {
        let signed_in = invocation.caller().is_some();
        Access {
            caller_id: invocation.caller().map(|c| c.id.clone()),
            can_write: signed_in
                && invocation.has_any_role(&["redacteur", "redacteur-en-ligne", "moderateur"]),
            can_publish_own: signed_in
                && invocation.has_any_role(&["redacteur-en-ligne", "moderateur"]),
            can_moderate: signed_in && invocation.has_role("moderateur"),
        }
    }

    fn is_author(&self, post: &Post) -> bool {
        self.caller_id.as_deref() == Some(post.author_id.as_str())
    }

    /// Published articles are for every reader; others for their author and moderators.
    pub fn can_read(&self, post: &Post) -> bool {
        post.status == Status::Published
            || self.is_author(post)
            || (self.can_moderate && post.status == Status::Pending)
    }

    pub fn can_edit(&self, post: &Post) -> bool {
        self.can_moderate || (self.can_write && self.is_author(post))
    }

    /// The state an article takes when saved with the "publish" box ticked or not:
    /// a plain rédacteur's articles wait for a moderator.
    pub fn status_on_save(&self, publish: bool) -> Status {
        match (publish, self.can_publish_own) {
            (false, _) => Status::Draft,
            (true, true) => Status::Published,
            (true, false) => Status::Pending,
        }
    }
}

/// Field errors of a submitted article, in French.
pub fn validate(title: &str, body: &str) -> std::result::Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if title.is_empty() {
        errors.push(FieldError::new("title", "Le titre est obligatoire."));
    } else if title.chars().count() > MAX_TITLE_CHARS {
        errors.push(FieldError::new(
            "title",
            &format!("Le titre ne doit pas dépasser {MAX_TITLE_CHARS} caractères."),
        ));
    }
    if body.trim().is_empty() {
        errors.push(FieldError::new(
            "body",
            "Le contenu de l'article est obligatoire.",
        ));
    } else if body.len() > MAX_BODY_BYTES {
        errors.push(FieldError::new(
            "body",
            "Le contenu est trop long (200 000 caractères au plus).",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(id: &str) -> Caller {
        Caller {
            id: id.into(),
            login: id.into(),
            display_name: id.into(),
            profiles: vec![],
            groups: vec![],
            functions: vec![],
            region_admin: false,
        }
    }

    fn post(author: &str, status: Status) -> Post {
        Post {
            title: "t".into(),
            body: "b".into(),
            excerpt: "b".into(),
            author_id: author.into(),
            author_name: author.into(),
            status,
            created_at: 0,
            updated_at: 0,
            published_at: None,
            attachments: Vec::new(),
        }
    }

    fn access(id: &str, roles: &[&str]) -> Access {
        Access::of(&Invocation::for_tests(Some(caller(id)), roles, "/e/X/blog"))
    }

    #[test]
    fn redacteur_submits_for_validation_and_publisher_publishes() {
        assert_eq!(
            access("a", &["redacteur"]).status_on_save(true),
            Status::Pending
        );
        assert_eq!(
            access("a", &["redacteur-en-ligne"]).status_on_save(true),
            Status::Published
        );
        assert_eq!(
            access("a", &["moderateur"]).status_on_save(false),
            Status::Draft
        );
    }

    #[test]
    fn unpublished_articles_are_private() {
        let reader = access("r", &["lecteur"]);
        let moderator = access("m", &["moderateur"]);
        let author = access("a", &["redacteur"]);
        let draft = post("a", Status::Draft);
        let pending = post("a", Status::Pending);
        assert!(!reader.can_read(&draft) && !reader.can_read(&pending));
        assert!(author.can_read(&draft) && author.can_edit(&draft));
        assert!(moderator.can_read(&pending) && !moderator.can_read(&draft));
        assert!(moderator.can_edit(&draft));
        assert!(!reader.can_edit(&post("r", Status::Published)));
        let anonymous = Access::of(&Invocation::for_tests(None, &["redacteur"], "/"));
        assert!(!anonymous.can_write);
    }

    #[test]
    fn validation_names_fields() {
        let errors = validate("", " ").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, "title");
        assert!(validate(&"x".repeat(201), "b").is_err());
        assert!(validate("ok", "<p>ok</p>").is_ok());
    }
}
