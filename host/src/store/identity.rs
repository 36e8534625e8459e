//! Which store a data folder holds, checked at every start.
//!
//! The first start in an empty folder writes an identity record (region id,
//! creation time, format version) into the store's meta tree, and the same
//! identity beside it in `preau-identity.json`, with the count of writes known
//! to be on disk (`seq`, rewritten every second while writes happen, and at a
//! clean stop). A later start refuses the folder when:
//! - the file is there but the store has no identity (a truncated or replaced
//!   database: it would otherwise start as a brand-new region);
//! - the two identities differ (another region's database);
//! - the store's format is newer than this binary knows;
//! - the store holds fewer writes than the file recorded (lost writes: a
//!   damaged tail, a copy taken while the server wrote);
//! - the engine fails or panics while opening or reading any tree.
//!
//! « Premier démarrage » happens only in an empty folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::SledStore;

/// The store format this binary writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The file beside the store.
pub const IDENTITY_FILE: &str = "preau-identity.json";

/// The exit code of `preau serve` (and `preau store check`) when the data
/// folder is refused.
pub const REFUSED_EXIT_CODE: u8 = 3;

/// A moment as an operator reads it (Paris time).
pub fn when(unix: i64) -> String {
    preau_text::zone::TimeZone::paris().french_date_time(unix)
}

/// What a store is: the same in the store and in the file beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Random, made at the first start; a restored store keeps it.
    pub region_id: String,
    /// When the first start happened (Unix seconds).
    pub created_at: i64,
    /// [`FORMAT_VERSION`] of the binary that created or last upgraded it.
    pub format_version: u32,
}

impl Identity {
    fn new() -> Identity {
        Identity {
            region_id: crate::directory::random_token(),
            created_at: preau_text::zone::now(),
            format_version: FORMAT_VERSION,
        }
    }

    /// The identity recorded in `store` (None: none).
    pub fn of(store: &SledStore) -> Result<Option<Identity>> {
        store
            .identity_record()?
            .map(|bytes| serde_json::from_slice(&bytes).context("identité de la base illisible"))
            .transpose()
    }

    /// Records it in `store`.
    pub fn write_to(&self, store: &SledStore) -> Result<()> {
        store.set_identity_record(&serde_json::to_vec(self)?)
    }
}

/// The file beside the store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdentityFile {
    #[serde(flatten)]
    pub identity: Identity,
    /// Writes known to be on disk when the file was written.
    pub seq: u64,
    /// Whether the server stopped cleanly after writing it.
    pub clean_shutdown: bool,
    /// When the file was written (Unix seconds).
    pub written_at: i64,
}

impl IdentityFile {
    /// Reads the file of `dir` (None: absent).
    pub fn read(dir: &Path) -> Result<Option<IdentityFile>> {
        let path = dir.join(IDENTITY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                    format!("{} illisible", path.display())
                })?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("lecture de {}", path.display())),
        }
    }

    /// Writes the file of `dir` atomically (temporary file, fsync, rename).
    pub fn write(dir: &Path, identity: &Identity, seq: u64, clean_shutdown: bool) -> Result<()> {
        use std::io::Write;
        let file = IdentityFile {
            identity: identity.clone(),
            seq,
            clean_shutdown,
            written_at: preau_text::zone::now(),
        };
        let tmp = dir.join(format!("{IDENTITY_FILE}.tmp"));
        let mut out = std::fs::File::create(&tmp)
            .with_context(|| format!("écriture de {}", tmp.display()))?;
        out.write_all(&serde_json::to_vec_pretty(&file)?)?;
        out.sync_all()?;
        std::fs::rename(&tmp, dir.join(IDENTITY_FILE))?;
        if let Ok(folder) = std::fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

/// How to open a data folder.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Free bytes the disk must keep; writes are refused below.
    pub reserve: u64,
    /// Read every tree at start (damage is found before anyone is served).
    pub verify: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            reserve: 64 << 20,
            verify: true,
        }
    }
}

/// Why a data folder was not opened. Its text tells the operator what was
/// found and what to do.
#[derive(Debug)]
pub enum Refusal {
    /// Another process has the folder open.
    Locked(PathBuf),
    /// The disk has no room for the engine to open.
    NoSpace(PathBuf),
    /// The engine failed or panicked while opening or reading.
    Damaged { dir: PathBuf, detail: String },
    /// The file beside the store is unreadable.
    UnreadableFile { dir: PathBuf, detail: String },
    /// The file names a store, the store has no identity.
    IdentityMissing { dir: PathBuf, expected: Identity },
    /// The store belongs to another region.
    Foreign {
        dir: PathBuf,
        expected: Identity,
        found: Identity,
    },
    /// Written by a newer Préau.
    TooNew { dir: PathBuf, version: u32 },
    /// Fewer writes than the file recorded.
    LostWrites {
        dir: PathBuf,
        recorded: u64,
        found: u64,
    },
    /// A non-empty folder whose store holds nothing.
    NotEmpty(PathBuf),
}

fn restore_advice(dir: &Path) -> String {
    format!(
        "Préau refuse de démarrer sur ce dossier pour ne rien servir de faux ni rien écraser.\n\
         Pour le détail : preau store check --data {dir}\n\
         Pour repartir : restaurez la dernière sauvegarde dans un dossier neuf \
         (preau restore FICHIER --data NOUVEAU_DOSSIER) et démarrez sur ce dossier ; \
         gardez celui-ci de côté.",
        dir = dir.display()
    )
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Locked(dir) => write!(
                f,
                "le dossier de données {} est déjà ouvert par un autre processus (un autre Préau \
                 tourne-t-il dessus ?). Arrêtez-le, ou pour une sauvegarde à chaud utilisez \
                 « preau backup », qui passe par le serveur en marche.",
                dir.display()
            ),
            Refusal::NoSpace(dir) => write!(
                f,
                "le disque du dossier de données {} est plein : la base ne peut pas s'ouvrir. \
                 Libérez de la place puis relancez Préau (aucune donnée n'est perdue).",
                dir.display()
            ),
            Refusal::Damaged { dir, detail } => write!(
                f,
                "la base de {} est endommagée : {detail}.\n{}",
                dir.display(),
                restore_advice(dir)
            ),
            Refusal::UnreadableFile { dir, detail } => write!(
                f,
                "le fichier d'identité de la base ({}) est illisible : {detail}.\n{}",
                dir.join(IDENTITY_FILE).display(),
                restore_advice(dir)
            ),
            Refusal::IdentityMissing { dir, expected } => write!(
                f,
                "la base de {} ne contient pas son identité (région {} créée le {}) : elle a été \
                 tronquée, vidée ou remplacée. Démarrer la prendrait pour une région neuve.\n{}",
                dir.display(),
                expected.region_id,
                when(expected.created_at),
                restore_advice(dir)
            ),
            Refusal::Foreign {
                dir,
                expected,
                found,
            } => write!(
                f,
                "la base de {} n'est pas celle de ce dossier : elle appartient à la région {} \
                 (créée le {}), le dossier attend la région {} (créée le {}).\n{}",
                dir.display(),
                found.region_id,
                when(found.created_at),
                expected.region_id,
                when(expected.created_at),
                restore_advice(dir)
            ),
            Refusal::TooNew { dir, version } => write!(
                f,
                "la base de {} est au format {version}, plus récent que celui de ce Préau \
                 ({FORMAT_VERSION}) : installez la version de Préau qui l'a écrite.",
                dir.display()
            ),
            Refusal::LostWrites {
                dir,
                recorded,
                found,
            } => write!(
                f,
                "la base de {} a perdu des écritures : {recorded} écritures étaient enregistrées, \
                 elle n'en contient que {found} (fichier endommagé, ou copié pendant que le \
                 serveur écrivait).\n{}",
                dir.display(),
                restore_advice(dir)
            ),
            Refusal::NotEmpty(dir) => write!(
                f,
                "le dossier {} n'est pas vide mais ne contient aucune base Préau reconnaissable : \
                 Préau ne démarre une région neuve que dans un dossier vide ou absent.\n{}",
                dir.display(),
                restore_advice(dir)
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// What [`open_data_dir`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// An empty folder: a new region.
    New,
    /// The store this folder held.
    Existing,
}

/// Whether `dir` is absent or empty.
fn is_empty_folder(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("lecture du dossier {}", dir.display())),
    }
}

pub(super) fn open_engine(dir: &Path, reserve: u64) -> std::result::Result<SledStore, Refusal> {
    // A process that is exiting (or a thread dropping the last handle) may
    // hold the folder's lock a moment longer.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match open_engine_once(dir, reserve) {
            Err(Refusal::Locked(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            opened => return opened,
        }
    }
}

fn open_engine_once(dir: &Path, reserve: u64) -> std::result::Result<SledStore, Refusal> {
    SledStore::open_with_reserve(dir, reserve).map_err(|error| {
        let text = format!("{error:#}");
        if text.contains("could not acquire lock") || text.contains("WouldBlock") {
            Refusal::Locked(dir.to_path_buf())
        } else if text.contains("No space left") || text.contains("StorageFull") {
            Refusal::NoSpace(dir.to_path_buf())
        } else {
            Refusal::Damaged {
                dir: dir.to_path_buf(),
                detail: text,
            }
        }
    })
}

/// Opens the store of a data folder after the checks above; starts the
/// writer of the identity file. An error that is not a [`Refusal`] is an
/// I/O problem with the folder itself.
pub fn open_data_dir(dir: &Path, options: &OpenOptions) -> Result<(Arc<SledStore>, Opening)> {
    let damaged = |detail: String| Refusal::Damaged {
        dir: dir.to_path_buf(),
        detail,
    };
    if is_empty_folder(dir)? {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("création du dossier de données {}", dir.display()))?;
        let store = open_engine(dir, options.reserve)?;
        let identity = Identity::new();
        identity.write_to(&store)?;
        IdentityFile::write(dir, &identity, store.durable_seq(), false)?;
        let store = Arc::new(store);
        keep_identity_file(&store, dir, identity);
        return Ok((store, Opening::New));
    }
    let file = IdentityFile::read(dir).map_err(|e| Refusal::UnreadableFile {
        dir: dir.to_path_buf(),
        detail: format!("{e:#}"),
    })?;
    let store = open_engine(dir, options.reserve)?;
    let found = Identity::of(&store).map_err(|e| damaged(format!("{e:#}")))?;
    let identity = match (found, &file) {
        (Some(found), Some(file)) if found.region_id != file.identity.region_id => {
            return Err(Refusal::Foreign {
                dir: dir.to_path_buf(),
                expected: file.identity.clone(),
                found,
            }
            .into());
        }
        (Some(found), _) => found,
        (None, Some(file)) => {
            return Err(Refusal::IdentityMissing {
                dir: dir.to_path_buf(),
                expected: file.identity.clone(),
            }
            .into());
        }
        (None, None) => {
            if !store.holds_data().map_err(|e| damaged(format!("{e:#}")))? {
                return Err(Refusal::NotEmpty(dir.to_path_buf()).into());
            }
            // A store from before identities: adopted as it is.
            let identity = Identity::new();
            identity.write_to(&store)?;
            tracing::warn!(
                "base sans identité (antérieure à cette version) : identité {} ajoutée",
                identity.region_id
            );
            identity
        }
    };
    if identity.format_version > FORMAT_VERSION {
        return Err(Refusal::TooNew {
            dir: dir.to_path_buf(),
            version: identity.format_version,
        }
        .into());
    }
    if let Some(file) = &file
        && store.durable_seq() < file.seq
    {
        return Err(Refusal::LostWrites {
            dir: dir.to_path_buf(),
            recorded: file.seq,
            found: store.durable_seq(),
        }
        .into());
    }
    if options.verify {
        let started = std::time::Instant::now();
        store
            .verify_readable()
            .map_err(|e| damaged(format!("{e:#}")))?;
        tracing::info!("base relue en entier en {:?}", started.elapsed());
    }
    if file.is_none() {
        tracing::warn!("fichier d'identité absent : recréé à côté de la base");
    }
    IdentityFile::write(dir, &identity, store.durable_seq(), false)?;
    let store = Arc::new(store);
    keep_identity_file(&store, dir, identity);
    Ok((store, Opening::Existing))
}

/// How often the identity file catches up with the writes.
const IDENTITY_EVERY: Duration = Duration::from_secs(1);

/// Keeps the identity file of `dir` up to date: whenever writes happened
/// (checked every second, until the store goes) and at a clean stop.
fn keep_identity_file(store: &Arc<SledStore>, dir: &Path, identity: Identity) {
    let dir = dir.to_path_buf();
    store.attach_identity_file(Box::new(move |seq, clean| {
        IdentityFile::write(&dir, &identity, seq, clean)
    }));
    let weak = Arc::downgrade(store);
    let spawned = std::thread::Builder::new()
        .name("preau-identite".into())
        .spawn(move || {
            loop {
                std::thread::sleep(IDENTITY_EVERY);
                let Some(store) = weak.upgrade() else { return };
                if let Err(e) = store.record_identity_file(false) {
                    tracing::warn!("fichier d'identité : {e:#}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("fichier d'identité : pas de mise à jour périodique ({e})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Space, Store};

    fn refusal(dir: &Path) -> Refusal {
        match open_data_dir(dir, &OpenOptions::default()) {
            Ok(_) => panic!("{} ouvert", dir.display()),
            Err(e) => e.downcast::<Refusal>().expect("un refus"),
        }
    }

    #[test]
    fn only_an_empty_folder_is_a_new_region() {
        let place = tempfile_dir("neuf");
        let dir = place.join("db");
        let (store, opening) = open_data_dir(&dir, &OpenOptions::default()).unwrap();
        assert_eq!(opening, Opening::New);
        store.put(Space::Settings, b"k", b"v").unwrap();
        let first = Identity::of(&store).unwrap().unwrap();
        // The same process cannot open it twice: the folder is locked.
        assert!(matches!(refusal(&dir), Refusal::Locked(_)));
        store.close().unwrap();
        drop(store);
        let file = IdentityFile::read(&dir).unwrap().unwrap();
        assert!(file.clean_shutdown);
        assert_eq!(file.identity, first);
        let (store, opening) = open_data_dir(&dir, &OpenOptions::default()).unwrap();
        assert_eq!(opening, Opening::Existing);
        assert_eq!(
            store.get(Space::Settings, b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        drop(store);

        let stranger = place.join("autre");
        std::fs::create_dir_all(&stranger).unwrap();
        std::fs::write(stranger.join("notes.txt"), "x").unwrap();
        assert!(matches!(refusal(&stranger), Refusal::NotEmpty(_)));
        let _ = std::fs::remove_dir_all(place);
    }

    #[test]
    fn a_newer_format_is_refused_and_an_old_store_adopted() {
        let place = tempfile_dir("format");
        let dir = place.join("db");
        let (store, _) = open_data_dir(&dir, &OpenOptions::default()).unwrap();
        let mut newer = Identity::of(&store).unwrap().unwrap();
        newer.format_version = FORMAT_VERSION + 1;
        newer.write_to(&store).unwrap();
        drop(store);
        assert!(matches!(refusal(&dir), Refusal::TooNew { .. }));

        // A store from before identities (data, no identity, no file) is adopted.
        let old = place.join("ancienne");
        let store = SledStore::open(&old).unwrap();
        store.put(Space::Users, b"u1", b"{}").unwrap();
        drop(store);
        let (store, opening) = open_data_dir(&old, &OpenOptions::default()).unwrap();
        assert_eq!(opening, Opening::Existing);
        assert!(Identity::of(&store).unwrap().is_some());
        drop(store);
        // An empty one with sled files but no identity is not a new region.
        let blank = place.join("vide");
        drop(SledStore::open(&blank).unwrap());
        assert!(matches!(refusal(&blank), Refusal::NotEmpty(_)));
        let _ = std::fs::remove_dir_all(place);
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "preau-identite-{name}-{}-{}",
            std::process::id(),
            crate::directory::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
