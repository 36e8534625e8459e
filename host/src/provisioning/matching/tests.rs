use super::*;

fn date(iso: &str) -> Option<Date> {
    Date::parse_iso(iso)
}

fn incoming(last: &str, first: &str, birth: Option<&str>) -> Incoming {
    Incoming {
        key: format!("{last}|{first}"),
        last_name: last.into(),
        first_name: first.into(),
        birth_date: birth.and_then(date),
        profile: Profile::Pupil,
        ids: Vec::new(),
    }
}

fn account(id: &str, last: &str, first: &str, birth: Option<&str>) -> Candidate {
    Candidate {
        id: id.into(),
        last_name: last.into(),
        first_name: first.into(),
        birth_date: birth.and_then(date),
        profiles: vec![Profile::Pupil],
        ids: Vec::new(),
    }
}

fn matched(decision: &Decision) -> Option<&str> {
    match decision {
        Decision::Matched { account, .. } => Some(account),
        Decision::Manual { .. } => None,
    }
}

#[test]
fn names_written_differently_still_match_and_the_score_says_why() {
    let file = incoming("LE GALL", "Hélène", Some("2013-04-02"));
    let score = score(
        &file,
        &account("u1", "Legall", "Helene", Some("2013-04-02")),
    );
    assert_eq!(score.total, 95);
    assert_eq!(
        score.explained(),
        "même nom, écrit autrement (« Legall ») (+35), même prénom (+30), même date de naissance (+30) = 95"
    );
    let compound = score_of("MARTIN-LEFÈVRE", "Jean-Baptiste", "Martin", "Jean");
    assert_eq!(compound.total, 35, "{}", compound.explained());
}

fn score_of(file_last: &str, file_first: &str, last: &str, first: &str) -> Score {
    score(
        &incoming(file_last, file_first, None),
        &account("u", last, first, None),
    )
}

#[test]
fn a_unique_close_account_is_matched_homonyms_are_not() {
    let file = incoming("Martin", "Emma", Some("2013-04-02"));
    let emma = account("u1", "MARTIN", "Emma", Some("2013-04-02"));
    let other_emma = account("u2", "Martin", "Emma", Some("2012-11-20"));
    let paul = account("u3", "Martin", "Paul", Some("2013-04-02"));
    let decision = decide(
        &file,
        &[emma.clone(), other_emma.clone(), paul.clone()],
        None,
    );
    assert_eq!(matched(&decision), Some("u1"), "{decision:?}");
    // The homonym's other birth date speaks against her.
    let other = score(&file, &other_emma);
    assert_eq!(other.total, 30, "{}", other.explained());
    assert!(
        other.explained().contains(
            "date de naissance différente (02/04/2013 dans le fichier, 20/11/2012 dans l'annuaire)"
        ),
        "{}",
        other.explained()
    );

    // Without birth dates, two Emma Martin: the administrator decides.
    let file = incoming("Martin", "Emma", None);
    let twins = [
        account("u1", "Martin", "Emma", None),
        account("u2", "MARTIN", "EMMA", None),
    ];
    match decide(&file, &twins, None) {
        Decision::Manual { why, candidates } => {
            assert!(why.contains("homonymes"), "{why}");
            assert_eq!(candidates.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    // One of them remembered from last year's import: no question asked.
    let decision = decide(&file, &twins, Some("u2"));
    assert_eq!(matched(&decision), Some("u2"));
    assert!(matches!(
        decision,
        Decision::Matched {
            because: Because::Remembered,
            ..
        }
    ));
    // A remembered account that no longer exists is not used.
    assert_eq!(matched(&decide(&file, &twins, Some("u9"))), None);
}

#[test]
fn a_shared_identifier_decides_even_against_names() {
    let mut file = incoming("Dupont", "Jean", None);
    file.profile = Profile::Teacher;
    file.ids.push((IdKind::Pronote, "1A2B3C4D".into()));
    let mut renamed = account("u7", "Dupont-Morel", "Jean", None);
    renamed.profiles = vec![Profile::Teacher];
    renamed.ids.push((IdKind::Pronote, "1A2B3C4D".into()));
    let mut namesake = account("u8", "Dupont", "Jean", None);
    namesake.profiles = vec![Profile::Teacher];
    let decision = decide(&file, &[namesake, renamed], None);
    assert_eq!(matched(&decision), Some("u7"));
    let Decision::Matched { because, .. } = decision else {
        unreachable!()
    };
    assert_eq!(because.french(), "même identifiant Pronote/EDT (1A2B3C4D)");
}

#[test]
fn a_wrong_profile_or_another_establishment_weighs_against() {
    let mut file = incoming("Dupont", "Jean", None);
    file.profile = Profile::Teacher;
    let pupil = account("u1", "Dupont", "Jean", None);
    let score = score(&file, &pupil);
    assert_eq!(score.total, 40, "{}", score.explained());
    let mut elsewhere = account("u2", "Dupont", "Jean", None);
    elsewhere.profiles.clear();
    let decision = decide(&file, &[pupil, elsewhere], None);
    // 65 for the teacher of the lycée: proposed, not chosen without asking.
    match decision {
        Decision::Manual { candidates, why } => {
            assert_eq!(candidates[0].0.id, "u2");
            assert_eq!(candidates[0].1.total, 65);
            assert!(why.contains("assez proche"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide(&file, &[], None),
        Decision::Manual { ref why, .. } if why.contains("aucun compte")
    ));
}
