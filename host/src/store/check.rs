//! The engine-level part of `preau store check`: is this the folder's store,
//! does every tree read back whole, how much each plugin namespace holds.
//! (The directory's own consistency is checked by `directory::consistency`.)

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::identity::{FORMAT_VERSION, Identity, IdentityFile, Refusal};
use super::{SledStore, Space, Store};

/// What the engine-level check found.
#[derive(Debug)]
pub struct EngineReport {
    pub identity: Option<Identity>,
    pub file: Option<IdentityFile>,
    /// Writes counted in the store.
    pub seq: u64,
    /// Per tree: entries, bytes.
    pub trees: Vec<(String, u64, u64)>,
    /// Per plugin namespace (`<uai>/<plugin>`, `<uai>#<rubrique>/<plugin>`,
    /// `@region/<plugin>`): entries, bytes.
    pub namespaces: BTreeMap<String, (u64, u64)>,
    /// Problems, in French.
    pub problems: Vec<String>,
}

/// Opens `dir` without writing to it (no identity is added, no file
/// rewritten) and checks it. A refusal to open is returned as the error.
pub fn check(dir: &Path) -> Result<(SledStore, EngineReport)> {
    let file = IdentityFile::read(dir).map_err(|e| Refusal::UnreadableFile {
        dir: dir.to_path_buf(),
        detail: format!("{e:#}"),
    })?;
    let store = super::identity::open_engine(dir, 0)?;
    let mut problems = Vec::new();
    let identity = Identity::of(&store).unwrap_or_else(|e| {
        problems.push(format!("identité illisible : {e:#}"));
        None
    });
    match (&identity, &file) {
        (None, Some(f)) => problems.push(format!(
            "la base ne contient pas son identité (le fichier attend la région {}) : \
             tronquée, vidée ou remplacée",
            f.identity.region_id
        )),
        (Some(i), Some(f)) if i.region_id != f.identity.region_id => problems.push(format!(
            "la base appartient à la région {}, le fichier attend la région {}",
            i.region_id, f.identity.region_id
        )),
        (None, None) => problems.push("ni identité ni fichier d'identité".into()),
        _ => {}
    }
    if let Some(i) = &identity
        && i.format_version > FORMAT_VERSION
    {
        problems.push(format!(
            "format {} plus récent que ce Préau ({FORMAT_VERSION})",
            i.format_version
        ));
    }
    let seq = store.durable_seq();
    if let Some(f) = &file
        && seq < f.seq
    {
        problems.push(format!(
            "écritures perdues : {} enregistrées, {seq} dans la base",
            f.seq
        ));
    }
    let trees = match store.verify_readable() {
        Ok(trees) => trees,
        Err(e) => {
            problems.push(format!("{e:#}"));
            Vec::new()
        }
    };
    let mut namespaces = BTreeMap::new();
    if problems.is_empty() {
        for (key, value) in store.scan(Space::PluginData, b"", None, usize::MAX, false)? {
            if key.starts_with(super::usage::COUNTER_PREFIX) {
                continue;
            }
            let text = String::from_utf8_lossy(&key);
            let mut parts = text.splitn(3, '/');
            let (Some(owner), Some(plugin), Some(_)) = (parts.next(), parts.next(), parts.next())
            else {
                problems.push(format!("donnée de plugin hors de tout espace : {text}"));
                continue;
            };
            let slot = namespaces
                .entry(format!("{owner}/{plugin}"))
                .or_insert((0u64, 0u64));
            slot.0 += 1;
            slot.1 += (key.len() + value.len()) as u64;
        }
        for (owner, plugin, counted, actual) in super::usage::mismatches(&store)? {
            problems.push(format!(
                "compteur d'espace de {owner}/{plugin} : {counted} octets comptés, {actual} occupés"
            ));
        }
    }
    Ok((
        store,
        EngineReport {
            identity,
            file,
            seq,
            trees,
            namespaces,
            problems,
        },
    ))
}
