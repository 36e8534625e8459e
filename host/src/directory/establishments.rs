//! Establishments (collèges, lycées): their UAI, name, appearance and time zone.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::Directory;
use crate::store::{Space, StoreExt};

/// Colours and banner of an establishment's portal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Theme {
    /// Main colour, `#rrggbb`.
    pub primary: String,
    /// Accent colour, `#rrggbb`.
    pub accent: String,
    /// Banner image: `https://…`, `/static/…` or the uploaded `/e/<uai>/banniere?v=…`;
    /// empty for the theme's default.
    #[serde(default)]
    pub banner_url: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            primary: "#1f5f8b".into(),
            accent: "#e07a1f".into(),
            banner_url: String::new(),
        }
    }
}

/// An establishment (collège, lycée…), identified by its UAI.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Establishment {
    /// UAI code, e.g. `0420003A`.
    pub uai: String,
    /// Name, e.g. `Collège du Pilat`.
    pub name: String,
    /// Kind: `Collège`, `Lycée`…
    #[serde(default)]
    pub kind: String,
    /// Town.
    #[serde(default)]
    pub city: String,
    /// Appearance.
    #[serde(default)]
    pub theme: Theme,
    /// IANA time zone (`Europe/Paris`; overseas `Indian/Reunion`, `America/Cayenne`…):
    /// the local time of the dates shown for the establishment and of its plugins.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

/// The time zones of the French academies, with their French names: what a
/// region administrator chooses from for an establishment.
pub const TIME_ZONES: &[(&str, &str)] = &[
    ("Europe/Paris", "France métropolitaine"),
    ("America/Guadeloupe", "Guadeloupe"),
    ("America/Martinique", "Martinique"),
    ("America/Cayenne", "Guyane"),
    ("Indian/Reunion", "La Réunion"),
    ("Indian/Mayotte", "Mayotte"),
    ("America/Miquelon", "Saint-Pierre-et-Miquelon"),
    ("Pacific/Noumea", "Nouvelle-Calédonie"),
    ("Pacific/Tahiti", "Polynésie française"),
    ("Pacific/Wallis", "Wallis-et-Futuna"),
];

/// The French name of a time zone of [`TIME_ZONES`], else the IANA name itself.
pub fn time_zone_label(name: &str) -> &str {
    TIME_ZONES
        .iter()
        .find(|(zone, _)| *zone == name)
        .map_or(name, |(_, label)| label)
}

/// The time zone of establishments stored before it was a setting: metropolitan France.
fn default_time_zone() -> String {
    preau_text::zone::DEFAULT_TIME_ZONE.to_string()
}

/// Whether `uai` is a well-formed UAI: 7 digits and the check letter.
pub fn valid_uai(uai: &str) -> bool {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    let bytes = uai.as_bytes();
    if bytes.len() != 8 || !bytes[..7].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number: u64 = uai[..7].parse().unwrap_or(0);
    LETTERS[(number % 23) as usize] == bytes[7]
}

impl Directory {
    /// Every establishment, by UAI.
    pub fn establishments(&self) -> Result<Vec<Establishment>> {
        Ok(self
            .store
            .scan_json::<Establishment>(Space::Establishments, "")?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// One establishment.
    pub fn establishment(&self, uai: &str) -> Result<Option<Establishment>> {
        self.store.get_json(Space::Establishments, uai)
    }

    /// Creates or replaces an establishment.
    pub fn put_establishment(&self, establishment: &Establishment) -> Result<()> {
        if !valid_uai(&establishment.uai) {
            bail!("UAI invalide « {} »", establishment.uai);
        }
        if let Err(message) = preau_text::zone::check(&establishment.time_zone) {
            bail!("{message}");
        }
        self.store
            .put_json(Space::Establishments, &establishment.uai, establishment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uai_check_letter() {
        assert!(valid_uai("0420003A"));
        assert!(valid_uai("0420013L"));
        assert!(!valid_uai("0420003B"));
        assert!(!valid_uai("042003A"));
        assert!(!valid_uai("../../x"));
    }

    #[test]
    fn the_academies_time_zones_are_known_to_the_time_zone_database() {
        for (zone, _) in TIME_ZONES {
            assert_eq!(preau_text::zone::check(zone), Ok(()), "{zone}");
        }
        assert_eq!(time_zone_label("Indian/Reunion"), "La Réunion");
        assert_eq!(time_zone_label("Europe/Brussels"), "Europe/Brussels");
    }

    #[test]
    fn establishments_stored_before_time_zones_are_in_paris() {
        let old: Establishment =
            serde_json::from_str(r#"{"uai": "0420003A", "name": "Collège du Pilat"}"#).unwrap();
        assert_eq!(old.time_zone, "Europe/Paris");
        let reunion: Establishment = serde_json::from_str(
            r#"{"uai": "9740001A", "name": "Lycée", "time_zone": "Indian/Reunion"}"#,
        )
        .unwrap();
        assert_eq!(reunion.time_zone, "Indian/Reunion");
    }
}
