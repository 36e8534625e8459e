//! The French school holiday calendars shipped in `data/calendrier-scolaire/`
//! (compiled in: the binary runs outside a checkout), and the zones an
//! establishment can be in. Only metropolitan zones A, B and C have a file;
//! the overseas academies and Corsica have their own calendars, refused with a
//! French message (their closures are typed by hand).

use preau_text::Date;
use serde::Deserialize;

use super::{Closure, SchoolYear};

/// (code, label) of the zones an establishment can be in.
pub const ZONES: &[(&str, &str)] = &[
    ("A", "Zone A"),
    ("B", "Zone B"),
    ("C", "Zone C"),
    ("corse", "Corse"),
    ("guadeloupe", "Guadeloupe"),
    ("guyane", "Guyane"),
    ("martinique", "Martinique"),
    ("mayotte", "Mayotte"),
    ("reunion", "La Réunion"),
    ("nouvelle-caledonie", "Nouvelle-Calédonie"),
    ("polynesie", "Polynésie française"),
    ("saint-pierre-et-miquelon", "Saint-Pierre-et-Miquelon"),
    ("wallis-et-futuna", "Wallis-et-Futuna"),
];

/// The shipped files, by school year (`2026-2027`).
const FILES: &[(&str, &str)] = &[
    (
        "2025-2026",
        include_str!("../../../data/calendrier-scolaire/2025-2026.toml"),
    ),
    (
        "2026-2027",
        include_str!("../../../data/calendrier-scolaire/2026-2027.toml"),
    ),
];

#[derive(Deserialize)]
struct Holidays {
    nom: String,
    fin_des_cours: String,
    reprise: String,
}

#[derive(Deserialize)]
struct BankHoliday {
    nom: String,
    date: String,
}

#[derive(Deserialize)]
struct File {
    annee: String,
    rentree: String,
    fin_des_cours: String,
    vacances: Vec<Holidays>,
    zones: std::collections::BTreeMap<String, Vec<Holidays>>,
    feries: Vec<BankHoliday>,
}

/// One year's calendar for one zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// « 2026-2027 ».
    pub year: String,
    /// The first day of classes and the last: the year's bounds it proposes.
    pub first: Date,
    pub last: Date,
    /// Holidays, then bank holidays outside them, by first day.
    pub closures: Vec<Closure>,
}

fn date(text: &str, file: &str) -> Result<Date, String> {
    Date::parse_iso(text)
        .ok_or_else(|| format!("calendrier {file} : « {text} » n'est pas une date AAAA-MM-JJ"))
}

/// A stable id per closure of a calendar: what it names and where it starts.
fn closure_id(first: Date, name: &str) -> String {
    let slug: String = preau_text::fold::search_key(name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("cal-{first}-{}", slug.trim_matches('-'))
}

/// The label of a zone code.
pub fn zone_label(code: &str) -> Option<&'static str> {
    ZONES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// The school years a file is shipped for.
pub fn years() -> Vec<&'static str> {
    FILES.iter().map(|(year, _)| *year).collect()
}

/// The calendar of `zone` for the school year `label` (`2026-2027`), or the
/// French message saying why there is none.
pub fn calendar(label: &str, zone: &str) -> Result<Calendar, String> {
    let Some(zone_name) = zone_label(zone) else {
        return Err(format!("« {zone} » n'est pas une zone connue."));
    };
    let Some((_, text)) = FILES.iter().find(|(year, _)| *year == label) else {
        return Err(format!(
            "Aucun calendrier scolaire n'est fourni pour l'année {label} (fournis : {}) : saisissez ses fermetures à la main.",
            years().join(", ")
        ));
    };
    let file: File =
        toml::from_str(text).map_err(|e| format!("calendrier {label} illisible : {e}"))?;
    let Some(zone_holidays) = file.zones.get(zone) else {
        return Err(format!(
            "Le calendrier de {zone_name} n'est pas fourni : son calendrier scolaire est arrêté par le recteur de l'académie. Saisissez ses fermetures à la main."
        ));
    };
    let mut closures = Vec::new();
    for holidays in file.vacances.iter().chain(zone_holidays) {
        let first = date(&holidays.fin_des_cours, label)?.add_days(1);
        let last = date(&holidays.reprise, label)?.add_days(-1);
        closures.push(Closure {
            id: closure_id(first, &holidays.nom),
            name: holidays.nom.clone(),
            first,
            last,
        });
    }
    // Bank holidays are listed even inside holidays (Noël, the Ascension of
    // the bridge): a principal checks them against the official list.
    for bank in &file.feries {
        let day = date(&bank.date, label)?;
        closures.push(Closure {
            id: closure_id(day, &bank.nom),
            name: bank.nom.clone(),
            first: day,
            last: day,
        });
    }
    closures.sort_by_key(|c| (c.first, c.last));
    Ok(Calendar {
        year: file.annee,
        first: date(&file.rentree, label)?,
        last: date(&file.fin_des_cours, label)?,
        closures,
    })
}

/// The closures of `zone`'s calendar that fall in `year` (the others would be refused).
pub fn closures_for(year: &SchoolYear, zone: &str) -> Result<Vec<Closure>, String> {
    let calendar = calendar(&year.label(), zone)?;
    Ok(calendar
        .closures
        .into_iter()
        .filter(|c| year.first <= c.first && c.last <= year.last)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Easter Sunday (anonymous Gregorian algorithm), to check the file's movable feasts.
    fn easter(year: i32) -> Date {
        let a = year % 19;
        let b = year / 100;
        let c = year % 100;
        let d = b / 4;
        let e = b % 4;
        let f = (b + 8) / 25;
        let g = (b - f + 1) / 3;
        let h = (19 * a + b - d - g + 15) % 30;
        let i = c / 4;
        let k = c % 4;
        let l = (32 + 2 * e + 2 * i - h - k) % 7;
        let m = (a + 11 * h + 22 * l) / 451;
        let month = (h + l - 7 * m + 114) / 31;
        let day = (h + l - 7 * m + 114) % 31 + 1;
        Date::from_ymd(year, month as u32, day as u32).unwrap()
    }

    #[test]
    fn every_shipped_file_reads_for_each_metropolitan_zone_and_its_feasts_follow_easter() {
        assert_eq!(years(), ["2025-2026", "2026-2027"]);
        for label in years() {
            for zone in ["A", "B", "C"] {
                let calendar = calendar(label, zone).unwrap();
                assert_eq!(calendar.year, label);
                assert!(calendar.first < calendar.last);
                // Three common holidays, two of the zone: fin des cours a Saturday
                // (Wednesday for the Ascension bridge), reprise a Monday.
                let holidays: Vec<_> = calendar
                    .closures
                    .iter()
                    .filter(|c| c.name.starts_with("Vacances") || c.name.starts_with("Pont"))
                    .collect();
                assert_eq!(holidays.len(), 5, "{label} {zone}");
                for h in &holidays {
                    assert_eq!(
                        h.last.add_days(1).weekday(),
                        0,
                        "{label} {zone} {h:?} reprend un lundi"
                    );
                    let end_of_classes = h.first.add_days(-1).weekday();
                    assert!(
                        end_of_classes == 5 || (h.name.starts_with("Pont") && end_of_classes == 2),
                        "{h:?}"
                    );
                    assert!(calendar.first < h.first && h.last < calendar.last);
                }
                let ids: std::collections::BTreeSet<_> =
                    calendar.closures.iter().map(|c| &c.id).collect();
                assert_eq!(ids.len(), calendar.closures.len(), "ids uniques");
            }
            let spring = easter(calendar(label, "A").unwrap().last.year());
            let named = |name: &str| {
                calendar(label, "B")
                    .unwrap()
                    .closures
                    .into_iter()
                    .find(|c| c.name == name)
                    .map(|c| c.first)
            };
            assert_eq!(
                named("Lundi de Pâques"),
                Some(spring.add_days(1)),
                "{label}"
            );
            assert_eq!(named("Ascension"), Some(spring.add_days(39)), "{label}");
            assert_eq!(
                named("Lundi de Pentecôte"),
                Some(spring.add_days(50)),
                "{label}"
            );
            assert!(named("Noël").is_some());
        }
        assert_eq!(easter(2026).iso(), "2026-04-05");
    }

    #[test]
    fn zone_a_2026_2027_and_the_refusals() {
        let a = calendar("2026-2027", "A").unwrap();
        let winter = a
            .closures
            .iter()
            .find(|c| c.name == "Vacances d'hiver")
            .unwrap();
        assert_eq!(
            (winter.first.iso(), winter.last.iso()),
            ("2027-02-14".into(), "2027-02-28".into())
        );
        assert!(
            a.closures
                .iter()
                .any(|c| c.name == "Lundi de Pentecôte" && c.first.iso() == "2027-05-17")
        );
        assert_eq!(
            calendar("2026-2027", "reunion").unwrap_err(),
            "Le calendrier de La Réunion n'est pas fourni : son calendrier scolaire est arrêté par le recteur de l'académie. Saisissez ses fermetures à la main."
        );
        assert!(
            calendar("2030-2031", "A")
                .unwrap_err()
                .starts_with("Aucun calendrier scolaire n'est fourni pour l'année 2030-2031")
        );
        assert_eq!(
            calendar("2026-2027", "Z").unwrap_err(),
            "« Z » n'est pas une zone connue."
        );
    }
}
