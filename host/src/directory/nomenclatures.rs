//! The national nomenclatures a person's form offers: fonctions (AAF codes)
//! and disciplines de poste (BCN), shipped in `data/nomenclatures/` with their
//! source and date in each file's header, compiled in so that the host needs
//! no data folder to offer them.

const FONCTIONS: &str = include_str!("../../../data/nomenclatures/fonctions.csv");
const DISCIPLINES: &str = include_str!("../../../data/nomenclatures/disciplines-de-poste.csv");

/// (code, label) lines of a `code;libellé` file, `#` lines being its header.
fn entries(text: &'static str) -> Vec<(&'static str, &'static str)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(';'))
        .map(|(code, label)| (code.trim(), label.trim()))
        .collect()
}

/// Fonctions: (code, label), e.g. (`ENS`, `ENSEIGNEMENT`).
pub fn fonctions() -> Vec<(&'static str, &'static str)> {
    entries(FONCTIONS)
}

/// Disciplines de poste: (code, label), e.g. (`L1300`, `MATHEMATIQUES`).
pub fn disciplines() -> Vec<(&'static str, &'static str)> {
    entries(DISCIPLINES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lists_hold_the_manual_codes() {
        let codes: Vec<&str> = fonctions().iter().map(|(c, _)| *c).collect();
        for code in [
            "ENS", "DIR", "EDU", "DOC", "MDS", "ADF", "ORI", "SUR", "ASE", "LAB",
        ] {
            assert!(codes.contains(&code), "{code}");
        }
        assert!(disciplines().contains(&("L1300", "MATHEMATIQUES")));
        assert!(
            fonctions()
                .iter()
                .all(|(c, l)| !c.is_empty() && !l.is_empty())
        );
    }
}
