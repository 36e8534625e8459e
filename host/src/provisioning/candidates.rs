//! The accounts an imported person may be: found in the directory by name,
//! in the establishment of the import or (the manual's « recherche avancée »,
//! for a teacher new to it) in the whole region, then described the way the
//! matching engine weighs them.

use anyhow::Result;

use super::matching::{Candidate, IdKind, Incoming, Profile};
use crate::directory::search::{self, MAX_PER_PAGE, Query};
use crate::directory::{Directory, User};

/// Accounts whose last name starts with the first word of `incoming`'s (accents
/// and case aside), in `uai` or, when `region_wide`, anywhere; at most
/// [`MAX_PER_PAGE`] (a name shared by more people than that is not a match
/// anyone could make by hand either).
pub fn candidates(
    directory: &Directory,
    uai: &str,
    incoming: &Incoming,
    region_wide: bool,
) -> Result<Vec<Candidate>> {
    let key = preau_text::fold::search_key(&incoming.last_name);
    let Some(word) = key.split(' ').next().filter(|w| !w.is_empty()) else {
        return Ok(Vec::new());
    };
    let page = search::search(
        directory.store(),
        &Query {
            text: word.to_owned(),
            scope: (!region_wide).then(|| uai.to_owned()),
            page: 1,
            per_page: MAX_PER_PAGE,
            ..Query::default()
        },
    )?;
    let mut found = Vec::with_capacity(page.people.len());
    for person in page.people {
        if let Some(user) = directory.user(&person.id)? {
            found.push(candidate(&user, uai));
        }
    }
    Ok(found)
}

/// How the engine sees an account from `uai`'s point of view.
pub fn candidate(user: &User, uai: &str) -> Candidate {
    let ids = user
        .identifiers
        .iter()
        .filter_map(|(kind, value)| Some((id_kind(kind)?, value.clone())))
        .chain((!user.pronote_id.is_empty()).then(|| (IdKind::Pronote, user.pronote_id.clone())))
        .collect();
    Candidate {
        id: user.id.clone(),
        last_name: user.last_name.clone(),
        first_name: user.first_name.clone(),
        birth_date: user.birth_date,
        profiles: user
            .memberships
            .iter()
            .filter(|m| m.uai == uai)
            .filter_map(|m| Profile::of_code(&m.profile))
            .collect(),
        ids,
    }
}

/// The kind of a stored identifier (`INE`, `SIECLE`, `AAF`).
pub fn id_kind(code: &str) -> Option<IdKind> {
    match code {
        "INE" => Some(IdKind::Ine),
        "SIECLE" => Some(IdKind::Siecle),
        "AAF" => Some(IdKind::Aaf),
        "IDPN" => Some(IdKind::Pronote),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::directory::Membership;
    use crate::provisioning::matching::{Decision, decide};
    use crate::store::SledStore;

    fn person(login: &str, first: &str, last: &str, uai: &str, profile: &str) -> User {
        User {
            login: login.into(),
            first_name: first.into(),
            last_name: last.into(),
            memberships: vec![Membership {
                uai: uai.into(),
                profile: profile.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_teacher_is_found_here_or_in_the_region_and_matched() {
        let store = SledStore::temporary().unwrap();
        let directory = Directory::new(Arc::new(store));
        let mut jean = person("jean.dupont", "Jean", "Dupont", "0420003A", "enseignant");
        jean.birth_date = preau_text::Date::from_ymd(1980, 3, 12);
        let jean = directory.create_user(jean).unwrap();
        let mut lycee = person(
            "jeanne.dupont",
            "Jeanne",
            "DUPONT",
            "0420020U",
            "enseignant",
        );
        lycee.identifiers.push(("INE".into(), "X".into()));
        let lycee = directory.create_user(lycee).unwrap();
        directory
            .create_user(person("paul.durand", "Paul", "Durand", "0420003A", "eleve"))
            .unwrap();

        let file = Incoming {
            key: "IDPN:1A2B".into(),
            last_name: "DUPONT".into(),
            first_name: "Jean".into(),
            birth_date: preau_text::Date::from_ymd(1980, 3, 12),
            profile: Profile::Teacher,
            ids: vec![(IdKind::Pronote, "1A2B".into())],
        };
        let here = candidates(&directory, "0420003A", &file, false).unwrap();
        assert_eq!(
            here.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            [jean.id.as_str()]
        );
        let Decision::Matched { account, .. } = decide(&file, &here, None) else {
            panic!("Jean Dupont devrait être reconnu");
        };
        assert_eq!(account, jean.id);

        let region = candidates(&directory, "0420003A", &file, true).unwrap();
        assert_eq!(region.len(), 2);
        let jeanne = region.iter().find(|c| c.id == lycee.id).unwrap();
        assert!(
            jeanne.profiles.is_empty(),
            "outside the establishment of the import"
        );
        assert_eq!(jeanne.ids, [(IdKind::Ine, "X".to_owned())]);
    }
}
