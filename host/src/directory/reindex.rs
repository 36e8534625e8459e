//! Brings the search index of a store written by an older version to
//! [`INDEX_FORMAT`], once, at start.
//!
//! The format is recorded in `Space::Settings` under [`FORMAT_KEY`]. Format 1
//! (no record) and format 2 have the same keys; format 2's values are nearly
//! empty (see [`super::search`]). Search reads both, so a store answers the
//! same results before, during and after the rewrite; the rewrite gives the
//! space back. It overwrites every user's entries from their record, 1 000
//! people per batch, then records the format: a crash midway leaves a
//! readable index, and the next start does it again (idempotent). Records
//! are only read, never written: no person can be lost here.

use std::time::Instant;

use anyhow::{Context, Result};

use super::search::{INDEX_FORMAT, index_ops};
use crate::store::{Space, Store, StoreExt};

/// The settings key of the index's format.
pub const FORMAT_KEY: &str = "directory/index-format";

/// Users rewritten per batch.
const BATCH: usize = 1_000;

/// What [`ensure_index_format`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reindex {
    /// The index was already at [`INDEX_FORMAT`].
    UpToDate,
    /// The entries of this many people were rewritten (0: an empty store).
    Rewritten { people: usize, unreadable: usize },
}

/// Rewrites the index at [`INDEX_FORMAT`] unless the store records it already.
pub fn ensure_index_format(store: &dyn Store) -> Result<Reindex> {
    let recorded: Option<u64> = store.get_json(Space::Settings, FORMAT_KEY)?;
    if recorded.is_some_and(|f| f >= INDEX_FORMAT) {
        return Ok(Reindex::UpToDate);
    }
    let start = Instant::now();
    let (mut people, mut unreadable) = (0, 0);
    let mut after: Option<Vec<u8>> = None;
    loop {
        // User records are the keys starting with `u` (index keys start with a
        // UAI or `*`, group members with `g`).
        let records = store.scan(Space::Users, b"u", after.as_deref(), BATCH, false)?;
        let Some((last, _)) = records.last() else {
            break;
        };
        after = Some(last.clone());
        let mut ops = Vec::new();
        for (key, value) in &records {
            match super::record::decode(value) {
                Ok(user) => {
                    ops.extend(index_ops(&user));
                    people += 1;
                }
                Err(e) => {
                    // Its format-1 entries, if any, stay and are still read.
                    tracing::warn!(
                        "index de l'annuaire : fiche {} illisible, entrées laissées telles quelles ({e})",
                        String::from_utf8_lossy(key)
                    );
                    unreadable += 1;
                }
            }
        }
        store
            .batch(Space::DirectoryIndex, ops)
            .context("réécriture de l'index de l'annuaire")?;
        if people > 0 && people % 100_000 < BATCH {
            tracing::info!("index de l'annuaire : {people} personnes réécrites…");
        }
    }
    store.put_json(Space::Settings, FORMAT_KEY, &INDEX_FORMAT)?;
    if people + unreadable > 0 {
        tracing::info!(
            "index de l'annuaire réécrit au format {INDEX_FORMAT} : {people} personnes en {:.1} s{}",
            start.elapsed().as_secs_f64(),
            if unreadable > 0 {
                format!(", {unreadable} fiche(s) illisible(s) laissée(s)")
            } else {
                String::new()
            }
        );
    }
    Ok(Reindex::Rewritten { people, unreadable })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::search::{Query, legacy_index_value, search, unindex_ops};
    use crate::directory::{Membership, User};
    use crate::store::{Op, SledStore};

    fn user(i: usize) -> User {
        let firsts = ["Jean-Pierre", "Marie", "Léa", "Jean", "Zoé"];
        let lasts = ["Le Gall", "Dupont", "Martin", "Œuvray", "N'Diaye"];
        User {
            id: format!("u{i}"),
            login: format!("p{i}"),
            first_name: firsts[i % 5].into(),
            last_name: lasts[(i / 5) % 5].into(),
            memberships: vec![Membership {
                uai: if i.is_multiple_of(2) {
                    "0420003A"
                } else {
                    "0420013L"
                }
                .into(),
                profile: if i.is_multiple_of(3) {
                    "parent"
                } else {
                    "eleve"
                }
                .into(),
                groups: vec![format!("g{}", i % 4)],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// What format 1 wrote: the same keys, a JSON summary in each.
    fn legacy_ops(user: &User) -> Vec<Op> {
        let value = legacy_index_value(user);
        let mut ops: Vec<Op> = unindex_ops(user)
            .into_iter()
            .map(|op| match op {
                Op::Delete(key) => Op::Put(key, value.clone()),
                put => put,
            })
            .collect();
        ops.push(Op::Put(
            user.id.clone().into_bytes(),
            serde_json::to_vec(user).unwrap(),
        ));
        ops
    }

    fn pages(store: &SledStore) -> Vec<Vec<String>> {
        let mut all = Vec::new();
        for text in [
            "", "jea", "ma", "le g", "dup ma", "oeuv", "jean pi", "n d", "zo",
        ] {
            for scope in [None, Some("0420003A")] {
                for profile in [None, Some("parent")] {
                    for groups in [None, Some(vec!["g1".to_string(), "g2".to_string()])] {
                        for page in 1..=3 {
                            let q = Query {
                                text: text.into(),
                                scope: scope.map(str::to_string),
                                profile: profile.map(str::to_string),
                                groups: groups.clone(),
                                page,
                                per_page: 7,
                                ..Default::default()
                            };
                            let result = search(store, &q).unwrap();
                            let mut ids: Vec<String> =
                                result.people.iter().map(|p| p.id.clone()).collect();
                            ids.push(result.has_next.to_string());
                            all.push(ids);
                        }
                    }
                }
            }
        }
        all
    }

    #[test]
    fn a_format_1_index_answers_the_same_and_is_rewritten_once() {
        let users: Vec<User> = (0..120).map(user).collect();
        let old = SledStore::temporary().unwrap();
        let new = SledStore::temporary().unwrap();
        old.batch(Space::Users, users.iter().flat_map(legacy_ops).collect())
            .unwrap();
        let ops = users
            .iter()
            .flat_map(|u| {
                let mut ops = index_ops(u);
                ops.push(Op::Put(
                    u.id.clone().into_bytes(),
                    serde_json::to_vec(u).unwrap(),
                ));
                ops
            })
            .collect();
        new.batch(Space::Users, ops).unwrap();
        let expected = pages(&new);
        assert!(expected.iter().filter(|p| p.len() > 1).count() > 100);
        // Read as it is, then rewritten: the same pages, people included.
        assert_eq!(pages(&old), expected);
        let summaries = |s: &SledStore| {
            let q = Query {
                text: "ma".into(),
                per_page: 50,
                ..Default::default()
            };
            search(s, &q).unwrap().people
        };
        assert_eq!(summaries(&old), summaries(&new));
        let before = old
            .scan(Space::Users, b"", None, usize::MAX, false)
            .unwrap();
        assert_eq!(
            ensure_index_format(&old).unwrap(),
            Reindex::Rewritten {
                people: 120,
                unreadable: 0
            }
        );
        assert_eq!(pages(&old), expected);
        assert_eq!(summaries(&old), summaries(&new));
        // Same keys as a store written at format 2, same values; records untouched.
        let after = old
            .scan(Space::Users, b"", None, usize::MAX, false)
            .unwrap();
        assert_eq!(
            after,
            new.scan(Space::Users, b"", None, usize::MAX, false)
                .unwrap()
        );
        assert_eq!(before.len(), after.len());
        for ((k1, v1), (k2, v2)) in before.iter().zip(&after) {
            assert_eq!(k1, k2);
            if k1.starts_with(b"u") {
                assert_eq!(v1, v2);
            }
        }
        // Recorded: the next start does nothing.
        assert_eq!(ensure_index_format(&old).unwrap(), Reindex::UpToDate);
        let recorded: Option<u64> = old.get_json(Space::Settings, FORMAT_KEY).unwrap();
        assert_eq!(recorded, Some(INDEX_FORMAT));
    }

    #[test]
    fn an_interrupted_rewrite_is_done_again() {
        let users: Vec<User> = (0..30).map(user).collect();
        let store = SledStore::temporary().unwrap();
        store
            .batch(Space::Users, users.iter().flat_map(legacy_ops).collect())
            .unwrap();
        // Half rewritten, no format recorded (a crash during the rewrite).
        store
            .batch(
                Space::Users,
                users[..15].iter().flat_map(index_ops).collect(),
            )
            .unwrap();
        let mixed = pages(&store);
        assert_eq!(
            ensure_index_format(&store).unwrap(),
            Reindex::Rewritten {
                people: 30,
                unreadable: 0
            }
        );
        assert_eq!(pages(&store), mixed);
        assert_eq!(ensure_index_format(&store).unwrap(), Reindex::UpToDate);
    }

    #[test]
    fn an_empty_store_records_the_format() {
        let store = SledStore::temporary().unwrap();
        assert_eq!(
            ensure_index_format(&store).unwrap(),
            Reindex::Rewritten {
                people: 0,
                unreadable: 0
            }
        );
        assert_eq!(ensure_index_format(&store).unwrap(), Reindex::UpToDate);
    }
}
