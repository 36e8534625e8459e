//! TEMPORARY STUB — replaced by the real sanitizer.
#![allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmbedProvider { YouTube, Dailymotion, Vimeo, LearningApps, Padlet, Quizlet }
impl EmbedProvider {
    pub const ALL: [EmbedProvider; 6] = [Self::YouTube, Self::Dailymotion, Self::Vimeo, Self::LearningApps, Self::Padlet, Self::Quizlet];
    pub fn id(self) -> &'static str { "youtube" }
    pub fn label(self) -> &'static str { "YouTube" }
    pub fn from_id(_id: &str) -> Option<Self> { None }
}
pub struct Sanitizer;
impl Sanitizer {
    pub fn new(_enabled: &[EmbedProvider]) -> Self { Sanitizer }
    pub fn clean(&self, html: &str) -> String { ammonia::clean(html) }
    pub fn embed_html(&self, _url: &str) -> Option<String> { None }
    pub fn plain_text(&self, html: &str) -> String { html.to_string() }
}
