//! How a user record is stored: a compact binary form (about 40 % of its
//! JSON at the bulk load's typical record, its field names gone). Records
//! written as JSON by earlier versions are still read, and rewritten in the
//! compact form the next time the person is saved.

use anyhow::{Context, Result, bail};

use super::summary::{get_len, get_str, put_len, put_str};
use super::{Membership, User};

/// First byte of [`encode`]'s form (never `{`, which starts a JSON record).
const RECORD: u8 = 1;

const REGION_ADMIN: u8 = 1;
const BLOCKED: u8 = 2;
const PERENNE: u8 = 4;
const LAST_LOGIN: u8 = 8;
const PENDING_SECRET: u8 = 16;
const BIRTH_DATE: u8 = 32;
const IDENTIFIERS: u8 = 64;

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    put_len(out, items.len());
    for item in items {
        put_str(out, item);
    }
}

fn get_list(input: &mut &[u8]) -> Option<Vec<String>> {
    (0..get_len(input)?).map(|_| get_str(input)).collect()
}

fn get_i64(input: &mut &[u8]) -> Option<i64> {
    let (bytes, rest) = input.split_first_chunk::<8>()?;
    *input = rest;
    Some(i64::from_le_bytes(*bytes))
}

/// The stored form of `user`: [`RECORD`], flags, the strings (each as
/// `put_len` then its bytes), the creation time (8 bytes, little-endian), the
/// last sign-in and the pending secret when present, the memberships, the
/// children, then the birth date (days since 1970, 4 bytes) and the other
/// software's identifiers when present (older records end before: their
/// flags say so). Every field of [`User`] is written (`records_round_trip` fails
/// to compile when one is added and not written here).
pub fn encode(user: &User) -> Vec<u8> {
    let flags = [
        (user.region_admin, REGION_ADMIN),
        (user.blocked, BLOCKED),
        (user.perenne, PERENNE),
        (user.last_login.is_some(), LAST_LOGIN),
        (user.pending_secret.is_some(), PENDING_SECRET),
        (user.birth_date.is_some(), BIRTH_DATE),
        (!user.identifiers.is_empty(), IDENTIFIERS),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .fold(0, |flags, (_, bit)| flags | bit);
    let mut out = Vec::with_capacity(256);
    out.extend([RECORD, flags]);
    for text in [
        &user.id,
        &user.login,
        &user.first_name,
        &user.last_name,
        &user.password_hash,
        &user.civility,
        &user.email,
        &user.phone_personal,
        &user.phone_work,
        &user.pronote_id,
    ] {
        put_str(&mut out, text);
    }
    out.extend(user.created_at.to_le_bytes());
    if let Some(at) = user.last_login {
        out.extend(at.to_le_bytes());
    }
    if let Some(secret) = &user.pending_secret {
        put_str(&mut out, secret);
    }
    put_len(&mut out, user.memberships.len());
    for m in &user.memberships {
        put_str(&mut out, &m.uai);
        put_str(&mut out, &m.profile);
        out.push(u8::from(m.admin));
        put_list(&mut out, &m.groups);
        put_list(&mut out, &m.functions);
        put_list(&mut out, &m.disciplines);
    }
    put_list(&mut out, &user.children);
    if let Some(date) = user.birth_date {
        out.extend(date.days().to_le_bytes());
    }
    if !user.identifiers.is_empty() {
        put_len(&mut out, user.identifiers.len());
        for (kind, value) in &user.identifiers {
            put_str(&mut out, kind);
            put_str(&mut out, value);
        }
    }
    out
}

fn decode_compact(bytes: &[u8]) -> Option<User> {
    let (&flags, mut input) = bytes.strip_prefix(&[RECORD])?.split_first()?;
    let input = &mut input;
    let mut texts = Vec::with_capacity(10);
    for _ in 0..10 {
        texts.push(get_str(input)?);
    }
    let [
        id,
        login,
        first_name,
        last_name,
        password_hash,
        civility,
        email,
        phone_personal,
        phone_work,
        pronote_id,
    ] = <[String; 10]>::try_from(texts).ok()?;
    let created_at = get_i64(input)?;
    let last_login = if flags & LAST_LOGIN != 0 {
        Some(get_i64(input)?)
    } else {
        None
    };
    let pending_secret = if flags & PENDING_SECRET != 0 {
        Some(get_str(input)?)
    } else {
        None
    };
    let memberships = (0..get_len(input)?)
        .map(|_| {
            let uai = get_str(input)?;
            let profile = get_str(input)?;
            let (&admin, rest) = input.split_first()?;
            *input = rest;
            Some(Membership {
                uai,
                profile,
                admin: admin != 0,
                groups: get_list(input)?,
                functions: get_list(input)?,
                disciplines: get_list(input)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let children = get_list(input)?;
    let birth_date = if flags & BIRTH_DATE != 0 {
        let (bytes, rest) = input.split_first_chunk::<4>()?;
        *input = rest;
        Some(preau_text::Date::from_days(i32::from_le_bytes(*bytes)))
    } else {
        None
    };
    let identifiers = if flags & IDENTIFIERS != 0 {
        (0..get_len(input)?)
            .map(|_| Some((get_str(input)?, get_str(input)?)))
            .collect::<Option<Vec<_>>>()?
    } else {
        Vec::new()
    };
    input.is_empty().then_some(User {
        id,
        login,
        first_name,
        last_name,
        password_hash,
        region_admin: flags & REGION_ADMIN != 0,
        memberships,
        blocked: flags & BLOCKED != 0,
        civility,
        email,
        phone_personal,
        phone_work,
        perenne: flags & PERENNE != 0,
        pronote_id,
        created_at,
        last_login,
        pending_secret,
        children,
        birth_date,
        identifiers,
    })
}

/// A stored user record, in either form: [`encode`]'s, or JSON.
pub fn decode(bytes: &[u8]) -> Result<User> {
    match bytes.first() {
        Some(b'{') => serde_json::from_slice(bytes).context("fiche illisible"),
        Some(&RECORD) => decode_compact(bytes).context("fiche illisible"),
        _ => bail!("fiche illisible"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything() -> User {
        // Every field named: a field added to `User` breaks this until `encode` writes it.
        User {
            id: "u42".into(),
            login: "anne-sophie.le-gall".into(),
            first_name: "Anne-Sophie".into(),
            last_name: "Le Gall".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            region_admin: true,
            memberships: vec![
                Membership {
                    uai: "0420003A".into(),
                    profile: "enseignant".into(),
                    admin: true,
                    groups: vec!["3e A".into(), "4e B".into()],
                    functions: vec!["Direction".into()],
                    disciplines: vec!["ENSEIGNEMENT / L0202 - LETTRES MODERNES".into()],
                },
                Membership {
                    uai: "0420020U".into(),
                    profile: "parent".into(),
                    ..Default::default()
                },
            ],
            blocked: true,
            civility: "Mme".into(),
            email: "asl@example.fr".into(),
            phone_personal: "06 00 00 00 00".into(),
            phone_work: "04 77 00 00 00".into(),
            perenne: true,
            pronote_id: "P123".into(),
            created_at: -5,
            last_login: Some(1_765_000_000),
            pending_secret: Some("x".repeat(300)),
            children: vec!["u7".into(), "u8".into()],
            birth_date: preau_text::Date::from_ymd(1984, 2, 29),
            identifiers: vec![
                ("INE".into(), "123456789AB".into()),
                ("AAF".into(), "2000041".into()),
            ],
        }
    }

    fn same(a: &User, b: &User) -> bool {
        serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
    }

    #[test]
    fn records_round_trip() {
        let user = everything();
        let bytes = encode(&user);
        assert!(same(&decode(&bytes).unwrap(), &user));
        let plain = User {
            id: "u1".into(),
            ..Default::default()
        };
        assert!(same(&decode(&encode(&plain)).unwrap(), &plain));
        assert!(bytes.len() < serde_json::to_vec(&user).unwrap().len());
    }

    #[test]
    fn json_records_are_still_read() {
        let user = everything();
        let json = serde_json::to_vec(&user).unwrap();
        assert!(same(&decode(&json).unwrap(), &user));
        assert!(decode(b"{}").is_ok());
    }

    #[test]
    fn damaged_records_are_refused() {
        let bytes = encode(&everything());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "{cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        assert!(decode(b"").is_err());
        assert!(decode(b"\x07").is_err());
    }

    /// A folder written before the compact form (JSON records) still serves its
    /// people, their search and `preau store check`; a person saved again is
    /// stored compact, beside the others still in JSON.
    #[test]
    fn a_store_of_json_records_keeps_working() {
        use std::sync::Arc;

        use crate::directory::search::{Query, index_ops, search};
        use crate::directory::{Directory, consistency};
        use crate::store::{Op, SledStore, Space, Store};

        let store = Arc::new(SledStore::temporary().unwrap());
        let people: Vec<User> = (0..30)
            .map(|i| User {
                id: format!("u{i}"),
                login: format!("lea.martin{i}"),
                first_name: "Léa".into(),
                last_name: if i % 2 == 0 { "Martin" } else { "Le Gall" }.into(),
                memberships: vec![Membership {
                    uai: "0420003A".into(),
                    profile: "eleve".into(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        // What earlier versions wrote: the same index entries, a JSON record, the login.
        for user in &people {
            let mut ops = index_ops(user);
            ops.push(Op::Put(
                user.id.clone().into_bytes(),
                serde_json::to_vec(user).unwrap(),
            ));
            store.batch(Space::Users, ops).unwrap();
            store
                .put(Space::Logins, user.login.as_bytes(), user.id.as_bytes())
                .unwrap();
        }
        let directory = Directory::new(store.clone());
        let found = |text: &str| -> Vec<String> {
            let q = Query {
                text: text.into(),
                scope: Some("0420003A".into()),
                per_page: 50,
                ..Default::default()
            };
            let page = search(store.as_ref(), &q).unwrap();
            page.people.into_iter().map(|p| p.id).collect()
        };
        assert_eq!(directory.users().unwrap().len(), 30);
        let lea = directory.user_by_login("LEA.MARTIN4").unwrap().unwrap();
        assert!(same(&lea, &people[4]));
        assert_eq!(found("lea").len(), 30);
        assert_eq!(found("lea gal").len(), 15);
        assert!(consistency::check(store.as_ref()).unwrap().is_consistent());

        // Saved again: compact, still found, still consistent.
        let mut renamed = lea.clone();
        renamed.last_name = "Zola".into();
        directory.save_user(Some(&lea), &renamed).unwrap();
        let stored = store.get(Space::Users, b"u4").unwrap().unwrap();
        assert_eq!(stored.first(), Some(&RECORD));
        assert!(same(&directory.user("u4").unwrap().unwrap(), &renamed));
        assert_eq!(found("zol"), ["u4"]);
        assert_eq!(found("lea").len(), 30);
        let report = consistency::check(store.as_ref()).unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
    }
}
