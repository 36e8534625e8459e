//! What readers of XML documents from elsewhere (feeds, timetable and directory
//! exports) tell an administrator: quick-xml's errors in French, and the line
//! of a byte offset. Behind the `xml` feature: only those readers need quick-xml.

use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};

/// 1-based line of a byte offset.
pub fn line_at(text: &str, pos: u64) -> usize {
    let end = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// quick-xml's errors, in French.
pub fn error_fr(error: &XmlError) -> String {
    match error {
        XmlError::Syntax(e) => match e {
            SyntaxError::InvalidBangMarkup => "balise « <! » mal formée".into(),
            SyntaxError::UnclosedPI => "instruction de traitement non fermée".into(),
            SyntaxError::UnclosedXmlDecl => "déclaration XML non fermée".into(),
            SyntaxError::UnclosedComment => "commentaire non fermé".into(),
            SyntaxError::UnclosedDoctype => "DOCTYPE non fermé".into(),
            SyntaxError::UnclosedCData => "section CDATA non fermée".into(),
            SyntaxError::UnclosedTag => "balise non fermée (« > » manquant)".into(),
            SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue => {
                "valeur d'attribut non fermée (guillemet manquant)".into()
            }
        },
        XmlError::IllFormed(e) => match e {
            IllFormedError::MissingDeclVersion(_) => "déclaration XML sans version".into(),
            IllFormedError::UnknownVersion => "version XML inconnue".into(),
            IllFormedError::MissingDoctypeName => "DOCTYPE sans nom".into(),
            IllFormedError::MissingEndTag(name) => format!("la balise <{name}> n'est pas fermée"),
            IllFormedError::UnmatchedEndTag(name) => {
                format!("balise fermante inattendue </{name}>")
            }
            IllFormedError::MismatchedEndTag { expected, found } => {
                format!("balise fermante inattendue </{found}> (attendue : </{expected}>)")
            }
            IllFormedError::DoubleHyphenInComment => "« -- » dans un commentaire".into(),
            IllFormedError::UnclosedReference => {
                "référence d'entité non terminée (« ; » manquant)".into()
            }
        },
        XmlError::InvalidAttr(_) => "attribut mal formé".into(),
        XmlError::Encoding(_) => "encodage invalide".into(),
        XmlError::Escape(_) => "référence de caractère ou d'entité invalide".into(),
        XmlError::Namespace(_) => "espace de noms invalide".into(),
        XmlError::Io(_) => "lecture impossible".into(),
    }
}
