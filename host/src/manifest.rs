//! `plugin.toml`: what a plugin declares about itself.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Contract versions this host serves.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.5.0", "0.5.1"];
/// Memory cap of a plugin instance unless its manifest lowers it.
pub const DEFAULT_MEMORY_MIB: u64 = 64;
/// Deadline of one call unless the manifest lowers it.
pub const DEFAULT_TIMEOUT_MS: u64 = 2_000;

/// A role a plugin defines; granted by administrators to populations.
#[derive(Clone, Debug, Deserialize)]
pub struct Role {
    /// Id passed to the plugin (e.g. `lecteur`).
    pub id: String,
    /// French label for administrators.
    pub label: String,
    /// What the role allows, in French, for the rights pages.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Profiles granted this role when the plugin is first enabled in an establishment.
    #[serde(default)]
    pub default_profiles: Vec<String>,
    /// Given to every visitor, signed in or not, of a public rubrique (and to every
    /// member of the populations allowed into a restricted one): the reading role.
    #[serde(default)]
    pub public: bool,
}

/// A block the plugin can render on a home page.
#[derive(Clone, Debug, Deserialize)]
pub struct Block {
    /// Block name passed to `render-block`.
    pub id: String,
    /// French label.
    pub label: String,
    /// Who sees the same fragment: `public` (everyone), `roles` (everyone
    /// with the same roles in the instance), `personal` (one person). The
    /// host caches a rendered fragment for its audience until the plugin's
    /// data changes; without it, the block is rendered on every view.
    #[serde(default)]
    pub audience: Option<Audience>,
    /// For a block whose content also changes with time (a deadline, « à
    /// venir »): the longest a cached fragment is shown, in seconds.
    #[serde(default)]
    pub max_age_seconds: Option<u64>,
}

/// Who sees the same rendering of a block ([`Block::audience`]).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Every visitor.
    Public,
    /// Every visitor with the same roles in the instance.
    Roles,
    /// One person.
    Personal,
}

/// Resource limits declared by the plugin (may only lower the host's defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Memory cap in MiB.
    pub memory_mib: u64,
    /// Deadline of one call in milliseconds.
    pub timeout_ms: u64,
    /// Storage each namespace of the plugin may use, in MiB, when lower than
    /// the region's quota.
    pub storage_mib: Option<u64>,
}

/// Outbound HTTP the plugin may ask the host for.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OutboundDeclaration {
    /// Host patterns: `example.org`, `*.example.org`, or `*` (any host an
    /// administrator approves). Empty: no outbound access at all.
    pub hosts: Vec<String>,
    /// Largest response body accepted, in KiB (capped by the host).
    pub max_kib: Option<u64>,
}

/// An object of the plugin that other services' content can embed: a link to
/// `<mount><pattern>` alone in a paragraph of rich text becomes `render-block(block)`.
#[derive(Clone, Debug, Deserialize)]
pub struct EmbedDeclaration {
    /// Path below the mount, `{name}` segments become block parameters (e.g. `/d/{id}`).
    pub pattern: String,
    /// Block name passed to `render-block`.
    pub block: String,
}

impl EmbedDeclaration {
    /// The parameters if `path` (below the mount) matches the pattern.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let wanted: Vec<&str> = self.pattern.split('/').collect();
        let given: Vec<&str> = path.split('/').collect();
        if wanted.len() != given.len() {
            return None;
        }
        let mut params = Vec::new();
        for (w, g) in wanted.iter().zip(&given) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => params.push((name.to_string(), g.to_string())),
                Some(_) => return None,
                None if w == g => {}
                None => return None,
            }
        }
        Some(params)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: DEFAULT_MEMORY_MIB,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            storage_mib: None,
        }
    }
}

/// A parsed and checked `plugin.toml`.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    /// Id: crate name, folder name, URL segment, template prefix.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// WIT contract version it was built against.
    pub contract: String,
    /// French description.
    #[serde(default)]
    pub description: String,
    /// Enabled in new establishments by default.
    #[serde(default)]
    pub default_enabled: bool,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Home-page blocks.
    #[serde(default)]
    pub blocks: Vec<Block>,
    /// Whether the plugin can live in rubriques (one instance and namespace per rubrique).
    #[serde(default)]
    pub rubrique: bool,
    /// Whether the plugin exports news for the "Actualités" block.
    #[serde(default)]
    pub news: bool,
    /// Who reads the same news ([`Audience`]): when declared, the host keeps
    /// the news it got per audience until the plugin's data changes.
    #[serde(default)]
    pub news_audience: Option<Audience>,
    /// Whether the host sends it a periodic `tick` event in every establishment where it is enabled.
    #[serde(default)]
    pub scheduled: bool,
    /// Outbound HTTP.
    #[serde(default)]
    pub outbound: OutboundDeclaration,
    /// Whether the plugin may send notifications (`notify` import).
    #[serde(default)]
    pub notify: bool,
    /// The role whose holders may set rights on the plugin's objects (scopes), besides
    /// establishment administrators; none: the plugin has no per-object rights.
    #[serde(default)]
    pub scoped_rights: Option<String>,
    /// Objects other services' content can embed.
    #[serde(default)]
    pub embeds: Vec<EmbedDeclaration>,
    /// JSON Schema of the per-establishment configuration.
    #[serde(default = "empty_object_schema")]
    pub config_schema: serde_json::Value,
}

fn empty_object_schema() -> serde_json::Value {
    serde_json::json!({ "type": "object" })
}

/// Whether `id` is usable as a plugin id (URL segment, crate name).
pub fn valid_plugin_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        // Segments the host routes itself below `/e/<uai>/`.
        && !RESERVED_IDS.contains(&id)
}

/// Path segments below `/e/<uai>/` that belong to the host.
pub const RESERVED_IDS: &[&str] = &[
    "r",
    "rubriques",
    "actualites",
    "services",
    "mes-eleves",
    "theme.css",
    "admin",
];

impl Manifest {
    /// Parses and checks a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest> {
        let mut manifest: Manifest = toml::from_str(text).context("plugin.toml illisible")?;
        if !valid_plugin_id(&manifest.id) {
            bail!("identifiant de plugin invalide « {} »", manifest.id);
        }
        if !SUPPORTED_CONTRACTS.contains(&manifest.contract.as_str()) {
            bail!(
                "contrat {} non pris en charge (pris en charge : {:?})",
                manifest.contract,
                SUPPORTED_CONTRACTS
            );
        }
        if manifest.roles.is_empty() {
            bail!("le plugin {} ne déclare aucun rôle", manifest.id);
        }
        if let Some(role) = &manifest.scoped_rights
            && !manifest.roles.iter().any(|r| &r.id == role)
        {
            bail!("scoped_rights : le rôle « {role} » n'est pas déclaré");
        }
        for block in &manifest.blocks {
            if block.max_age_seconds == Some(0) {
                bail!(
                    "bloc « {} » : max_age_seconds vaut au moins 1 (sans cache : retirez audience)",
                    block.id
                );
            }
        }
        for embed in &manifest.embeds {
            if !embed.pattern.starts_with('/') || embed.block.is_empty() {
                bail!("embeds : motif « {} » ou bloc invalide", embed.pattern);
            }
        }
        // Manifests may lower the limits, never raise them.
        manifest.limits.memory_mib = manifest.limits.memory_mib.clamp(1, DEFAULT_MEMORY_MIB);
        manifest.limits.timeout_ms = manifest.limits.timeout_ms.clamp(10, DEFAULT_TIMEOUT_MS);
        jsonschema::validator_for(&manifest.config_schema)
            .map_err(|e| anyhow::anyhow!("schéma de configuration invalide : {e}"))?;
        Ok(manifest)
    }

    /// Ids of the roles given to every reader of a public rubrique.
    pub fn public_role_ids(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.public)
            .map(|r| r.id.clone())
            .collect()
    }

    /// Reads `dir/plugin.toml`.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join("plugin.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("lecture de {}", path.display()))?;
        Manifest::parse(&text).with_context(|| format!("manifeste {}", path.display()))
    }

    /// Ids of every role.
    pub fn role_ids(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.id.clone()).collect()
    }

    /// Name of the compiled component in the wasm output folder.
    pub fn wasm_file_name(&self) -> String {
        format!("{}.wasm", self.id.replace('-', "_"))
    }

    /// The configuration made of the schema's defaults.
    pub fn default_config(&self) -> serde_json::Value {
        let mut config = serde_json::Map::new();
        if let Some(props) = self
            .config_schema
            .get("properties")
            .and_then(|p| p.as_object())
        {
            for (name, prop) in props {
                if let Some(default) = prop.get("default") {
                    config.insert(name.clone(), default.clone());
                }
            }
        }
        serde_json::Value::Object(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        id = "notes"
        name = "Notes"
        version = "0.1.0"
        contract = "0.5.0"
        [limits]
        memory_mib = 4096
        [[roles]]
        id = "lecteur"
        label = "Lecteur"
        [config_schema]
        type = "object"
        [config_schema.properties.n]
        type = "integer"
        default = 3
    "#;

    #[test]
    fn parses_and_clamps_limits() {
        let m = Manifest::parse(MINIMAL).unwrap();
        assert_eq!(m.limits.memory_mib, DEFAULT_MEMORY_MIB);
        assert_eq!(m.default_config(), serde_json::json!({"n": 3}));
        assert_eq!(m.wasm_file_name(), "notes.wasm");
    }

    #[test]
    fn rejects_bad_ids_and_contracts() {
        assert!(Manifest::parse(&MINIMAL.replace("\"notes\"", "\"../x\"")).is_err());
        assert!(
            Manifest::parse(&MINIMAL.replace("contract = \"0.5.0\"", "contract = \"9.0.0\""))
                .is_err()
        );
        assert!(Manifest::parse(&MINIMAL.replace("type = \"integer\"", "type = 12")).is_err());
    }
}
