//! TEMPORARY STUB — replaced by the real search index.
#![allow(missing_docs, dead_code)]
use crate::directory::User;
use crate::store::{Op, Store};
use serde::{Deserialize, Serialize};
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexedPerson {
    pub id: String,
    pub last_name: String,
    pub first_name: String,
    pub login: String,
    pub profiles: Vec<(String, String)>,
    pub blocked: bool,
}
pub struct Query {
    pub text: String,
    pub scope: Option<String>,
    pub profile: Option<String>,
    pub page: usize,
    pub per_page: usize,
}
pub struct Page {
    pub people: Vec<IndexedPerson>,
    pub has_next: bool,
}
pub fn index_ops(_user: &User) -> Vec<Op> {
    Vec::new()
}
pub fn unindex_ops(_user: &User) -> Vec<Op> {
    Vec::new()
}
pub fn search(_store: &dyn Store, _q: &Query) -> anyhow::Result<Page> {
    Ok(Page {
        people: Vec::new(),
        has_next: false,
    })
}
