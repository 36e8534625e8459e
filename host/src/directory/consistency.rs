//! `preau store check`: the directory's indexes agree with its records.
//!
//! Checked: every user record decodes (compact, or JSON as earlier versions wrote); the search index holds exactly the
//! entries [`super::search::index_ops`] derives from the records, with the
//! same values (or the summaries format 1 wrote, until the start rewrites them); every login points at a user who has that login, and every
//! user's login is there; every group-member entry names an existing user
//! and group.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::search::{index_ops, legacy_index_value};
use super::{Group, User};
use crate::store::{Op, Space, Store, StoreExt};

/// Problems reported at most (the count of the others is given).
const MAX_PROBLEMS: usize = 50;

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    pub users: usize,
    pub index_entries: usize,
    pub logins: usize,
    pub group_members: usize,
    /// Each problem in French, at most [`MAX_PROBLEMS`].
    pub problems: Vec<String>,
    /// Problems beyond those listed.
    pub more_problems: usize,
}

impl Report {
    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        } else {
            self.more_problems += 1;
        }
    }

    /// Whether nothing is wrong.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

const SEP: char = '\x1f';

fn printable(key: &[u8]) -> String {
    String::from_utf8_lossy(key).replace(SEP, "␟")
}

/// Checks the directory of `store`.
pub fn check(store: &dyn Store) -> Result<Report> {
    let mut report = Report::default();
    // The users' tree holds records (`u…`), search entries and group members (`g␟…`).
    let all = store.scan(Space::Users, b"", None, usize::MAX, false)?;
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    let mut index: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut members: Vec<(String, String)> = Vec::new();
    for (key, value) in all {
        if key.starts_with(b"u") {
            match super::record::decode(&value) {
                Ok(user) => {
                    users.insert(String::from_utf8_lossy(&key).into_owned(), user);
                }
                Err(e) => report.problem(format!(
                    "utilisateur {} : fiche illisible ({e})",
                    printable(&key)
                )),
            }
        } else if let Some(rest) = key.strip_prefix(b"g\x1f") {
            let rest = String::from_utf8_lossy(rest).into_owned();
            match rest.split_once(SEP) {
                Some((group, user)) => members.push((group.to_string(), user.to_string())),
                None => report.problem(format!("membre de groupe mal formé : {}", printable(&key))),
            }
        } else {
            index.insert(key, value);
        }
    }
    report.users = users.len();
    report.index_entries = index.len();
    report.group_members = members.len();

    // Key → (value, format-1 value, user id).
    let mut expected: BTreeMap<Vec<u8>, (Vec<u8>, Vec<u8>, String)> = BTreeMap::new();
    for (key, user) in &users {
        if *key != user.id {
            report.problem(format!(
                "utilisateur {key} : la fiche porte l'identifiant {}",
                user.id
            ));
        }
        let legacy = legacy_index_value(user);
        for op in index_ops(user) {
            if let Op::Put(k, v) = op {
                expected.insert(k, (v, legacy.clone(), user.id.clone()));
            }
        }
    }
    for (key, (value, legacy, id)) in &expected {
        match index.get(key) {
            None => report.problem(format!(
                "index de recherche : entrée manquante pour {id} ({})",
                printable(key)
            )),
            Some(found) if found != value && found != legacy => report.problem(format!(
                "index de recherche : résumé périmé pour {id} ({})",
                printable(key)
            )),
            Some(_) => {}
        }
    }
    for key in index.keys().filter(|k| !expected.contains_key(*k)) {
        report.problem(format!(
            "index de recherche : entrée orpheline {} (aucune fiche ne la produit)",
            printable(key)
        ));
    }

    let logins = store.scan(Space::Logins, b"", None, usize::MAX, false)?;
    report.logins = logins.len();
    let mut seen_logins = BTreeSet::new();
    for (login, id) in logins {
        let login = String::from_utf8_lossy(&login).into_owned();
        let id = String::from_utf8_lossy(&id).into_owned();
        match users.get(&id) {
            None => report.problem(format!("identifiant « {login} » : utilisateur {id} absent")),
            Some(user) if user.login.to_lowercase() != login => report.problem(format!(
                "identifiant « {login} » : l'utilisateur {id} a l'identifiant « {} »",
                user.login
            )),
            Some(_) => {
                seen_logins.insert(login);
            }
        }
    }
    for user in users.values() {
        if !seen_logins.contains(&user.login.to_lowercase()) {
            report.problem(format!(
                "utilisateur {} : son identifiant « {} » n'est pas enregistré",
                user.id, user.login
            ));
        }
    }

    let groups: BTreeSet<String> = store
        .scan_json::<Group>(Space::Groups, "")?
        .into_iter()
        .map(|(_, g)| g.id)
        .collect();
    for (group, user) in &members {
        if !users.contains_key(user) {
            report.problem(format!(
                "groupe {group} : membre {user} absent de l'annuaire"
            ));
        }
        if !groups.contains(group) {
            report.problem(format!("groupe {group} : a des membres mais n'existe pas"));
        }
    }
    Ok(report)
}
