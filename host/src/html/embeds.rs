//! Embed providers: recognising a provider URL, reduced to provider + validated
//! id, and the iframe the host builds for it from a fixed pattern.

use super::markup::escape;
use std::sync::LazyLock;

use regex::Regex;

pub(super) static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?i:https?):)?//([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$").unwrap()
});

/// Which embed providers exist; the region enables a subset (region configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmbedProvider {
    /// YouTube videos, embedded through youtube-nocookie.com.
    YouTube,
    /// Dailymotion videos.
    Dailymotion,
    /// Vimeo videos.
    Vimeo,
    /// LearningApps exercises.
    LearningApps,
    /// Padlet walls.
    Padlet,
    /// Quizlet flashcard sets.
    Quizlet,
}

impl EmbedProvider {
    /// Every provider, in a stable order.
    pub const ALL: [EmbedProvider; 6] = [
        Self::YouTube,
        Self::Dailymotion,
        Self::Vimeo,
        Self::LearningApps,
        Self::Padlet,
        Self::Quizlet,
    ];

    /// Stable lowercase identifier, as used in configuration (`"youtube"`, …).
    pub fn id(self) -> &'static str {
        match self {
            Self::YouTube => "youtube",
            Self::Dailymotion => "dailymotion",
            Self::Vimeo => "vimeo",
            Self::LearningApps => "learningapps",
            Self::Padlet => "padlet",
            Self::Quizlet => "quizlet",
        }
    }

    /// Human-readable brand name (`"YouTube"`, …).
    pub fn label(self) -> &'static str {
        match self {
            Self::YouTube => "YouTube",
            Self::Dailymotion => "Dailymotion",
            Self::Vimeo => "Vimeo",
            Self::LearningApps => "LearningApps",
            Self::Padlet => "Padlet",
            Self::Quizlet => "Quizlet",
        }
    }

    /// The provider whose [`id`](Self::id) is `id`, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    /// French title of the embedded frame (accessibility).
    pub(super) fn title(self) -> &'static str {
        match self {
            Self::YouTube => "Vidéo YouTube",
            Self::Dailymotion => "Vidéo Dailymotion",
            Self::Vimeo => "Vidéo Vimeo",
            Self::LearningApps => "Application LearningApps",
            Self::Padlet => "Mur Padlet",
            Self::Quizlet => "Cartes Quizlet",
        }
    }
}

/// A recognised embed: provider + canonical id.
///
/// The id is validated with a strict character class and kept only as the
/// canonical `src` built from it, so nothing else of the original URL survives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Embed {
    /// Who serves the embedded content.
    pub provider: EmbedProvider,
    pub(super) src: String,
}

impl Embed {
    /// The canonical iframe `src` (fixed pattern per provider).
    pub fn src(&self) -> String {
        self.src.clone()
    }

    /// The host-built, sandboxed iframe with its wrapper.
    pub fn to_html(&self) -> String {
        format!(
            "<div class=\"embed embed-{}\"><iframe src=\"{}\" title=\"{}\" \
             sandbox=\"allow-scripts allow-same-origin allow-presentation allow-popups\" \
             referrerpolicy=\"strict-origin-when-cross-origin\" loading=\"lazy\" allowfullscreen></iframe></div>",
            self.provider.id(),
            escape(&self.src),
            escape(self.provider.title()),
        )
    }
}

/// Parses an allowlisted provider URL into its canonical embed (all providers).
pub(super) fn parse_embed(url: &str) -> Option<Embed> {
    use EmbedProvider::*;
    let url = url.trim();
    // Userinfo, backslashes (path separators for browsers), spaces and quotes
    // never belong in a provider URL.
    let odd = |c: char| c.is_whitespace() || c.is_control() || "@\\\"'<>`".contains(c);
    if url.chars().any(odd) {
        return None;
    }
    let c = URL.captures(url)?;
    // Exact host match: a port or a lookalike makes it unequal to every host below.
    let host = c[1].to_ascii_lowercase();
    let is = |base: &str| host == base || host.strip_prefix("www.") == Some(base);
    let path = c[2].strip_suffix('/').unwrap_or(&c[2]);
    let seg: Vec<&str> = path.split('/').skip(1).collect();
    let query = c.get(3).map_or("", |m| m.as_str());
    let param = |name: &str| {
        let mut pairs = query.split('&');
        pairs.find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let digits = |id: &str| chars(id, 1, 15, |c| c.is_ascii_digit());

    let youtube = is("youtube.com") || host == "m.youtube.com";
    let (provider, src) = if youtube || is("youtu.be") || is("youtube-nocookie.com") {
        let id = match (&seg[..], youtube, is("youtu.be")) {
            (&[id], _, true) | (&["embed", id], _, false) => Some(id),
            (&["watch"], true, _) => param("v"),
            (&["shorts", id], true, _) => Some(id),
            _ => None,
        };
        let id = id.filter(|id| chars(id, 11, 11, word));
        let src = id.map(|id| format!("https://www.youtube-nocookie.com/embed/{id}"));
        (YouTube, src)
    } else if is("dailymotion.com") || is("dai.ly") {
        let id = match (&seg[..], is("dai.ly")) {
            (&[id], true) | (&["video", id], false) => Some(id),
            (&["embed", "video", id], false) => Some(id),
            _ => None,
        };
        let id = id.filter(|id| chars(id, 5, 12, |c| c.is_ascii_alphanumeric()));
        (
            Dailymotion,
            id.map(|id| format!("https://www.dailymotion.com/embed/video/{id}")),
        )
    } else if is("vimeo.com") || host == "player.vimeo.com" {
        let id = match (&seg[..], is("vimeo.com")) {
            (&[id], true) | (&["video", id], false) => Some(id),
            _ => None,
        };
        (
            Vimeo,
            id.filter(|id| digits(id))
                .map(|id| format!("https://player.vimeo.com/video/{id}")),
        )
    } else if is("learningapps.org") {
        let app = |id: &str| digits(id).then(|| format!("https://learningapps.org/watch?app={id}"));
        let src = match seg[..] {
            ["watch"] => match (param("v"), param("app")) {
                (Some(v), _) if chars(v, 6, 20, lower) => {
                    Some(format!("https://learningapps.org/watch?v={v}"))
                }
                (None, Some(id)) => app(id),
                _ => None,
            },
            ["view", id] => app(id),
            [id] => app(id.strip_prefix("view").unwrap_or(id)),
            _ => None,
        };
        (LearningApps, src)
    } else if is("padlet.com") {
        let src = match seg[..] {
            ["embed", id] if chars(id, 6, 40, lower) => {
                Some(format!("https://padlet.com/embed/{id}"))
            }
            [user, board]
                if user != "embed" && chars(user, 1, 60, word) && chars(board, 1, 60, word) =>
            {
                Some(format!("https://padlet.com/{user}/{board}"))
            }
            _ => None,
        };
        (Padlet, src)
    } else if is("quizlet.com") {
        // Optional locale (`/fr/`, `/fr-fr/`), the numeric set id, then any slug.
        let locale = |s: &str| {
            s.len() <= 5
                && s.split('-')
                    .all(|p| chars(p, 2, 2, |c| c.is_ascii_lowercase()))
        };
        let rest = match seg[..] {
            [l, ref rest @ ..] if locale(l) => rest,
            ref rest => rest,
        };
        let src = match rest {
            [id, tail @ ..] if digits(id) && tail.iter().all(|s| chars(s, 1, 60, word)) => {
                Some(format!("https://quizlet.com/{id}/flashcards/embed"))
            }
            _ => None,
        };
        (Quizlet, src)
    } else {
        return None;
    };
    Some(Embed {
        provider,
        src: src?,
    })
}

/// `s` has `min..=max` characters, all accepted by `ok`.
pub(super) fn chars(s: &str, min: usize, max: usize, ok: impl Fn(char) -> bool) -> bool {
    (min..=max).contains(&s.len()) && s.chars().all(ok)
}
