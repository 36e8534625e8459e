//! The services catalogue ("Les services"): the region's connectors, each
//! establishment's own connectors, and its enabled plugins (internal services),
//! with who may see them in "Mes services".
//!
//! Stored in `Space::Settings`: `services/region` holds the region's connectors;
//! `services/<uai>` an establishment's connectors and its settings of plugins
//! and of inherited, unlocked region connectors. Nothing here knows HTTP.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, Membership, PROFILES, User};
use crate::store::{Space, StoreExt};

/// Menu headings of the catalogue, in menu order: (code, label).
pub const CATEGORIES: &[(&str, &str)] = &[
    ("personnels", "Services personnels"),
    ("pedagogie", "Pédagogie"),
    ("scolarite", "Scolarité"),
    ("orientation", "Orientation"),
    ("publication", "Publication"),
    ("ressources", "Ressources numériques"),
    ("autres", "Autres services"),
];

/// Where a service without a chosen heading goes.
pub const DEFAULT_CATEGORY: &str = "autres";

/// Single sign-on kinds: (code, label).
pub const SSO_KINDS: &[(&str, &str)] = &[("aucun", "Pas de SSO ou SSO Standard"), ("cas", "CAS")];

/// The short label of an SSO kind, for tables.
pub fn sso_short_label(code: &str) -> &'static str {
    if code == "cas" { "CAS" } else { "Standard" }
}

/// Longest code.
pub const MAX_CODE: usize = 20;
/// Longest label.
pub const MAX_LABEL: usize = 80;
/// Longest connector URL.
pub const MAX_URL: usize = 500;
/// Order of plugins nobody has placed yet: after the usual hand-set orders.
const DEFAULT_PLUGIN_ORDER: f64 = 50.0;

const REGION_KEY: &str = "services/region";

fn establishment_key(uai: &str) -> String {
    format!("services/{uai}")
}

/// The label of a category code.
pub fn category_label(code: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Autres services")
}

/// The label of an SSO kind.
pub fn sso_label(code: &str) -> &'static str {
    SSO_KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Pas de SSO ou SSO Standard")
}

/// Who may use a service in an establishment: everyone there, and/or some
/// profiles, and/or some of its groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Access {
    /// Every person of the establishment.
    pub everyone: bool,
    /// Profile codes (see [`PROFILES`]).
    pub profiles: Vec<String>,
    /// Group ids of the establishment.
    pub groups: Vec<String>,
}

impl Access {
    /// Everyone of the establishment.
    pub fn everyone() -> Access {
        Access {
            everyone: true,
            ..Default::default()
        }
    }

    /// Whether this person's place in the establishment is admitted.
    pub fn admits(&self, membership: &Membership) -> bool {
        self.everyone
            || self.profiles.contains(&membership.profile)
            || membership.groups.iter().any(|g| self.groups.contains(g))
    }
}

/// A connector: a link to an external service, possibly with CAS single sign-on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connector {
    /// `A–Z 0–9 - _`, at most [`MAX_CODE`], unique in the region.
    pub code: String,
    /// Intitulé.
    pub label: String,
    /// Absolute http(s) URL.
    pub url: String,
    /// `aucun` or `cas`.
    pub sso: String,
    /// Position in its category (1.0, 2.5…).
    pub order: f64,
    /// Shown to visitors who are not signed in.
    pub anonymous: bool,
    /// Shown at all.
    pub active: bool,
    /// Category code (see [`CATEGORIES`]).
    pub category: String,
    /// Who may use it.
    pub access: Access,
    /// Region connectors: offered to every establishment.
    pub inherited: bool,
    /// Region connectors: establishments cannot change it.
    pub locked: bool,
}

impl Default for Connector {
    fn default() -> Self {
        Connector {
            code: String::new(),
            label: String::new(),
            url: String::new(),
            sso: "aucun".into(),
            order: 1.0,
            anonymous: false,
            active: true,
            category: DEFAULT_CATEGORY.into(),
            access: Access::default(),
            inherited: false,
            locked: false,
        }
    }
}

/// An establishment's settings of a service it does not own: one of its
/// plugins, or an inherited region connector that is not locked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Placement {
    /// Shown at all.
    pub active: bool,
    /// Position in its category.
    pub order: f64,
    /// Category code.
    pub category: String,
    /// Shown to visitors who are not signed in.
    pub anonymous: bool,
    /// Who may use it.
    pub access: Access,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            active: true,
            order: DEFAULT_PLUGIN_ORDER,
            category: DEFAULT_CATEGORY.into(),
            anonymous: false,
            access: Access::everyone(),
        }
    }
}

impl Placement {
    /// The placement a region connector has until the establishment changes it.
    pub fn of(connector: &Connector) -> Placement {
        Placement {
            active: connector.active,
            order: connector.order,
            category: connector.category.clone(),
            anonymous: connector.anonymous,
            access: connector.access.clone(),
        }
    }
}

/// The region's connectors.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RegionCatalogue {
    /// By creation order.
    pub connectors: Vec<Connector>,
}

/// An establishment's own connectors and its placements of other services.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EstablishmentCatalogue {
    /// Its own connectors (never `inherited` nor `locked`).
    pub connectors: Vec<Connector>,
    /// Plugin id → placement.
    pub plugins: BTreeMap<String, Placement>,
    /// Region connector code → placement (inherited, unlocked ones only).
    pub region: BTreeMap<String, Placement>,
}

/// Where a catalogue entry comes from, which says who may change what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An enabled plugin: placement only.
    Plugin,
    /// An inherited region connector: placement only, or nothing if locked.
    Region {
        /// Establishments cannot change it.
        locked: bool,
    },
    /// The establishment's own connector: everything.
    Establishment,
}

/// One service of an establishment's catalogue, resolved.
#[derive(Clone, Debug)]
pub struct Service {
    /// Code (a plugin's id for plugins).
    pub code: String,
    /// Intitulé.
    pub label: String,
    /// The connector's URL; empty for plugins.
    pub url: String,
    /// `aucun` or `cas`.
    pub sso: String,
    /// Position in its category.
    pub order: f64,
    /// Shown to visitors who are not signed in.
    pub anonymous: bool,
    /// Shown at all.
    pub active: bool,
    /// Category code.
    pub category: String,
    /// Who may use it.
    pub access: Access,
    /// Where it comes from.
    pub origin: Origin,
}

impl Service {
    /// A plugin of the establishment (internal service).
    pub fn internal(&self) -> bool {
        self.origin == Origin::Plugin
    }

    /// Whether `viewer` may see and open it (when active).
    pub fn visible_to(&self, viewer: &Viewer) -> bool {
        if !self.active {
            return false;
        }
        match viewer {
            Viewer::Admin => true,
            _ if self.anonymous => true,
            Viewer::Member(membership) => self.access.admits(membership),
            Viewer::Anonymous | Viewer::Outsider => false,
        }
    }
}

/// Who looks at an establishment's services.
pub enum Viewer<'a> {
    /// Not signed in.
    Anonymous,
    /// Signed in, with no open place in this establishment.
    Outsider,
    /// A person of the establishment.
    Member(&'a Membership),
    /// Its administrators and the region's: every active service.
    Admin,
}

impl<'a> Viewer<'a> {
    /// The viewer `user` is in `uai`; `closed` is whether an access window or a
    /// block currently shuts them out there (they then see what visitors see).
    pub fn of(user: Option<&'a User>, uai: &str, closed: bool) -> Viewer<'a> {
        match user {
            None => Viewer::Anonymous,
            Some(u) if u.administers(uai) => Viewer::Admin,
            Some(_) if closed => Viewer::Outsider,
            Some(u) => u.membership(uai).map_or(Viewer::Outsider, Viewer::Member),
        }
    }
}

/// The region's connectors.
pub fn region_catalogue(directory: &Directory) -> Result<RegionCatalogue> {
    Ok(directory
        .store()
        .get_json(Space::Settings, REGION_KEY)?
        .unwrap_or_default())
}

/// Replaces the region's connectors.
pub fn put_region_catalogue(directory: &Directory, catalogue: &RegionCatalogue) -> Result<()> {
    directory
        .store()
        .put_json(Space::Settings, REGION_KEY, catalogue)
}

/// An establishment's connectors and placements.
pub fn establishment_catalogue(directory: &Directory, uai: &str) -> Result<EstablishmentCatalogue> {
    Ok(directory
        .store()
        .get_json(Space::Settings, &establishment_key(uai))?
        .unwrap_or_default())
}

/// Replaces an establishment's connectors and placements.
pub fn put_establishment_catalogue(
    directory: &Directory,
    uai: &str,
    catalogue: &EstablishmentCatalogue,
) -> Result<()> {
    directory
        .store()
        .put_json(Space::Settings, &establishment_key(uai), catalogue)
}

/// Every establishment's catalogue (`uai`, catalogue), in one scan: for
/// region-wide checks (code uniqueness, CAS sign-out targets).
pub fn all_establishment_catalogues(
    directory: &Directory,
) -> Result<Vec<(String, EstablishmentCatalogue)>> {
    let mut out = Vec::new();
    for (key, value) in
        directory
            .store()
            .scan(Space::Settings, b"services/", None, usize::MAX, false)?
    {
        let key = String::from_utf8_lossy(&key["services/".len()..]).into_owned();
        if key == "region" {
            continue;
        }
        out.push((key, serde_json::from_slice(&value)?));
    }
    Ok(out)
}

/// An establishment's catalogue: its enabled plugins (`(id, name)`), the
/// region's inherited connectors and its own, sorted by order then label.
pub fn resolve(
    region: &RegionCatalogue,
    local: &EstablishmentCatalogue,
    plugins: &[(String, String)],
) -> Vec<Service> {
    let mut services = Vec::new();
    for (id, name) in plugins {
        let placement = local.plugins.get(id).cloned().unwrap_or_default();
        services.push(Service {
            code: id.clone(),
            label: name.clone(),
            url: String::new(),
            sso: "aucun".into(),
            order: placement.order,
            anonymous: placement.anonymous,
            active: placement.active,
            category: placement.category,
            access: placement.access,
            origin: Origin::Plugin,
        });
    }
    for connector in region.connectors.iter().filter(|c| c.inherited) {
        let placement = match local.region.get(&connector.code) {
            Some(placement) if !connector.locked => placement.clone(),
            _ => Placement::of(connector),
        };
        services.push(Service {
            code: connector.code.clone(),
            label: connector.label.clone(),
            url: connector.url.clone(),
            sso: connector.sso.clone(),
            order: placement.order,
            anonymous: placement.anonymous,
            active: placement.active,
            category: placement.category,
            access: placement.access,
            origin: Origin::Region {
                locked: connector.locked,
            },
        });
    }
    for connector in &local.connectors {
        services.push(Service {
            code: connector.code.clone(),
            label: connector.label.clone(),
            url: connector.url.clone(),
            sso: connector.sso.clone(),
            order: connector.order,
            anonymous: connector.anonymous,
            active: connector.active,
            category: connector.category.clone(),
            access: connector.access.clone(),
            origin: Origin::Establishment,
        });
    }
    services.sort_by(|a, b| {
        a.order
            .total_cmp(&b.order)
            .then_with(|| a.label.to_lowercase().cmp(&b.label.to_lowercase()))
    });
    services
}

/// Whether `code` is a well-formed connector code.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether two codes name the same service (plugin ids are lowercase, codes uppercase).
pub fn same_code(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses an order typed as `2`, `2.5` or `2,5`: 0 to 9999, two decimals at most.
pub fn parse_order(text: &str) -> Option<f64> {
    let text = text.trim().replace(',', ".");
    let (whole, decimals) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 4
        || decimals.len() > 2
        || !digits(whole)
        || !digits(decimals)
    {
        return None;
    }
    text.parse().ok()
}

/// `1.0`, `2.5`, `2.25`: the way the catalogue shows an order.
pub fn format_order(order: f64) -> String {
    let one = format!("{order:.1}");
    if (one.parse::<f64>().unwrap_or(order) - order).abs() < 1e-9 {
        one
    } else {
        format!("{order:.2}")
    }
}

/// Whether `url` is an absolute http(s) URL fit for a link.
pub fn valid_connector_url(url: &str) -> bool {
    url.len() <= MAX_URL
        && !url.contains(|c: char| c.is_whitespace() || c.is_control() || "\"'<>\\".contains(c))
        && url::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
        })
}

/// Whether a CAS `service` URL belongs to the connector at `base`: same scheme,
/// host and port, and a path under the connector's. A plain string prefix would
/// let `https://ent.example.fr.evil.example/` pass for `https://ent.example.fr`.
pub fn service_matches(base: &str, service: &str) -> bool {
    let (Ok(base), Ok(service)) = (url::Url::parse(base), url::Url::parse(service)) else {
        return false;
    };
    if base.scheme() != service.scheme()
        || base.host_str() != service.host_str()
        || base.port_or_known_default() != service.port_or_known_default()
        || !service.username().is_empty()
        || service.password().is_some()
    {
        return false;
    }
    let (prefix, path) = (base.path(), service.path());
    if prefix.ends_with('/') {
        path.starts_with(prefix)
    } else {
        path == prefix || path.starts_with(&format!("{prefix}/"))
    }
}

/// The profile code's label, for access summaries.
pub fn profile_label(code: &str) -> &'static str {
    PROFILES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Inconnu")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert!(valid_code("PRONOTE"));
        assert!(valid_code("LIVRE-SCOLAIRE_2"));
        assert!(!valid_code(""));
        assert!(!valid_code("pronote"));
        assert!(!valid_code("ÉCOLE"));
        assert!(!valid_code("A B"));
        assert!(!valid_code("ABCDEFGHIJKLMNOPQRSTU"));
    }

    #[test]
    fn orders() {
        assert_eq!(parse_order("2"), Some(2.0));
        assert_eq!(parse_order("2,5"), Some(2.5));
        assert_eq!(parse_order(" 10.25 "), Some(10.25));
        assert_eq!(parse_order("-1"), None);
        assert_eq!(parse_order("1e3"), None);
        assert_eq!(parse_order("NaN"), None);
        assert_eq!(parse_order("1.234"), None);
        assert_eq!(format_order(1.0), "1.0");
        assert_eq!(format_order(2.5), "2.5");
        assert_eq!(format_order(2.25), "2.25");
    }

    #[test]
    fn urls() {
        assert!(valid_connector_url("https://www.onisep.fr/"));
        assert!(valid_connector_url("http://intranet.example/x?y=1"));
        assert!(!valid_connector_url("javascript:alert(1)"));
        assert!(!valid_connector_url("/local"));
        assert!(!valid_connector_url("https://a.example/\"x"));
        assert!(!valid_connector_url("https://user:pw@a.example/"));
    }

    #[test]
    fn cas_services_match_by_origin_and_path() {
        let base = "https://pronote.example.fr/pronote/";
        assert!(service_matches(
            base,
            "https://pronote.example.fr/pronote/eleve.html?x=1"
        ));
        assert!(!service_matches(base, "https://pronote.example.fr/autre/"));
        assert!(!service_matches(
            base,
            "https://pronote.example.fr.evil.example/pronote/"
        ));
        assert!(!service_matches(base, "http://pronote.example.fr/pronote/"));
        assert!(!service_matches(
            base,
            "https://pronote.example.fr:8443/pronote/"
        ));
        let bare = "https://cas.example.fr/app";
        assert!(service_matches(bare, "https://cas.example.fr/app"));
        assert!(service_matches(bare, "https://cas.example.fr/app/login"));
        assert!(!service_matches(bare, "https://cas.example.fr/application"));
    }

    #[test]
    fn visibility() {
        let service = Service {
            code: "X".into(),
            label: "X".into(),
            url: String::new(),
            sso: "aucun".into(),
            order: 1.0,
            anonymous: false,
            active: true,
            category: "autres".into(),
            access: Access {
                everyone: false,
                profiles: vec!["enseignant".into()],
                groups: vec!["g-ca".into()],
            },
            origin: Origin::Establishment,
        };
        let teacher = Membership {
            profile: "enseignant".into(),
            ..Default::default()
        };
        let pupil = Membership {
            profile: "eleve".into(),
            ..Default::default()
        };
        let parent_in_ca = Membership {
            profile: "parent".into(),
            groups: vec!["g-ca".into()],
            ..Default::default()
        };
        assert!(service.visible_to(&Viewer::Member(&teacher)));
        assert!(!service.visible_to(&Viewer::Member(&pupil)));
        assert!(service.visible_to(&Viewer::Member(&parent_in_ca)));
        assert!(!service.visible_to(&Viewer::Anonymous));
        assert!(service.visible_to(&Viewer::Admin));
        let inactive = Service {
            active: false,
            ..service.clone()
        };
        assert!(!inactive.visible_to(&Viewer::Admin));
        let public = Service {
            anonymous: true,
            ..service
        };
        assert!(public.visible_to(&Viewer::Anonymous));
        assert!(public.visible_to(&Viewer::Member(&pupil)));
    }
}
