use super::*;

const GOOD: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<STS_EDT>
  <PARAMETRES><UAJ>0420003A</UAJ><ANNEE_SCOLAIRE>2026</ANNEE_SCOLAIRE></PARAMETRES>
  <DONNEES>
    <INDIVIDUS>
      <INDIVIDU ID="4189" TYPE="epp">
        <NOM_USAGE>DUPONT</NOM_USAGE><NOM_PATRONYMIQUE>MOREL</NOM_PATRONYMIQUE>
        <PRENOM>Jean</PRENOM><CIVILITE>1</CIVILITE><DATE_NAISSANCE>1980-03-12</DATE_NAISSANCE>
        <GRADE>CERTIFIE</GRADE><FONCTION>ENS</FONCTION>
        <PROFS_PRINC><PROF_PRINC><CODE_STRUCTURE>4A</CODE_STRUCTURE></PROF_PRINC></PROFS_PRINC>
        <DISCIPLINES><DISCIPLINE CODE="L1300"><LIBELLE_COURT>MATHEMATIQUES</LIBELLE_COURT></DISCIPLINE></DISCIPLINES>
      </INDIVIDU>
      <INDIVIDU ID="4190" TYPE="epp">
        <NOM_PATRONYMIQUE>H&Eacute;RAULT</NOM_PATRONYMIQUE><PRENOM>Ir&#232;ne</PRENOM>
      </INDIVIDU>
    </INDIVIDUS>
    <STRUCTURE>
      <DIVISIONS>
        <DIVISION CODE="4A"><SERVICES>
          <SERVICE CODE_MATIERE="061300" CODE_MOD_COURS="CG"><ENSEIGNANTS><ENSEIGNANT ID="4189" TYPE="epp"/></ENSEIGNANTS></SERVICE>
        </SERVICES></DIVISION>
        <DIVISION CODE="4B"/>
      </DIVISIONS>
      <GROUPES>
        <GROUPE CODE="4LAT">
          <LIBELLE_LONG>Latin 4e</LIBELLE_LONG>
          <DIVISIONS_APPARTENANCE><DIVISION_APPARTENANCE CODE="4A"/><DIVISION_APPARTENANCE CODE="4B"/></DIVISIONS_APPARTENANCE>
          <SERVICES><SERVICE CODE_MATIERE="020500" CODE_MOD_COURS="CG"><ENSEIGNANTS><ENSEIGNANT ID="4190" TYPE="epp"/></ENSEIGNANTS></SERVICE></SERVICES>
        </GROUPE>
      </GROUPES>
    </STRUCTURE>
  </DONNEES>
  <NOMENCLATURES><MATIERES>
    <MATIERE CODE="061300"><CODE_GESTION>MATHS</CODE_GESTION><LIBELLE_COURT>MATHS</LIBELLE_COURT><LIBELLE_LONG>MATHEMATIQUES</LIBELLE_LONG></MATIERE>
    <MATIERE CODE="020500"><CODE_GESTION>LCALA</CODE_GESTION><LIBELLE_LONG>LCA LATIN</LIBELLE_LONG></MATIERE>
  </MATIERES></NOMENCLATURES>
</STS_EDT>"#;

fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

#[test]
fn an_sts_export_is_read() {
    let sts = parse(&latin1(GOOD), Some("0420003a")).unwrap();
    assert_eq!(sts.uai.as_deref(), Some("0420003A"));
    assert_eq!(sts.year.as_deref(), Some("2026"));
    let jean = &sts.people[0];
    assert_eq!(
        (jean.last_name.as_str(), jean.birth_name.as_str()),
        ("DUPONT", "MOREL")
    );
    assert_eq!(jean.birth_date, Date::from_ymd(1980, 3, 12));
    assert_eq!(jean.main_teacher_of, ["4A"]);
    assert_eq!(jean.disciplines, ["L1300"]);
    assert_eq!(jean.line, 6);
    let irene = &sts.people[1];
    assert_eq!(
        (irene.last_name.as_str(), irene.first_name.as_str()),
        ("HÉRAULT", "Irène")
    );
    assert_eq!(sts.divisions[0].services[0].teachers, ["4189"]);
    assert!(sts.divisions[1].services.is_empty());
    let latin = &sts.groups[0];
    assert_eq!(
        (latin.label.as_str(), latin.divisions.len()),
        ("Latin 4e", 2)
    );
    assert_eq!(sts.subjects[1].long_label, "LCA LATIN");
}

#[test]
fn every_broken_reference_is_reported_with_its_line() {
    let broken = GOOD
        .replace(
            r#"<ENSEIGNANT ID="4190" TYPE="epp"/>"#,
            r#"<ENSEIGNANT ID="9999" TYPE="epp"/>"#,
        )
        .replace(
            r#"<DIVISION_APPARTENANCE CODE="4B"/>"#,
            r#"<DIVISION_APPARTENANCE CODE="4Z"/>"#,
        )
        .replace(r#"CODE_MATIERE="061300""#, r#"CODE_MATIERE="999999""#)
        .replace(
            "<DATE_NAISSANCE>1980-03-12</DATE_NAISSANCE>",
            "<DATE_NAISSANCE>12/03/80</DATE_NAISSANCE>",
        );
    let problems: Vec<String> = parse(broken.as_bytes(), None)
        .unwrap_err()
        .list
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "ligne 6, élément <INDIVIDU> : DATE_NAISSANCE vaut « 12/03/80 » ; une date AAAA-MM-JJ est attendue",
            "ligne 20, élément <SERVICE> : la matière « 999999 » n'est pas dans la nomenclature du fichier (NOMENCLATURES/MATIERES)",
            "ligne 27, élément <DIVISION_APPARTENANCE> : la classe « 4Z » n'est pas une DIVISION du fichier",
            "ligne 28, élément <ENSEIGNANT> : l'enseignant « 9999 » n'est pas un INDIVIDU du fichier",
        ]
    );
}

#[test]
fn another_file_or_establishment_is_named() {
    let said = |bytes: &[u8], uai| parse(bytes, uai).unwrap_err().report();
    assert!(
        said(GOOD.as_bytes(), Some("0690001B"))
            .contains("celui de l'établissement 0420003A, pas de 0690001B")
    );
    assert!(said(b"<EDT_STS/>", None).contains("l'export d'EDT vers STS"));
    assert!(said(b"<BEE_ELEVES/>", None).contains("SIECLE"));
    assert!(said(b"<STS_EDT><DONNEES/></STS_EDT>", None).contains("ni enseignant"));
    assert!(said(b"<STS_EDT>", None).contains("XML invalide"));
    assert!(said(b"", None).contains("vide"));
}
