//! Backups: one consistent state of a store in one compressed file, with a
//! checksum; restored only into an empty folder.
//!
//! # Format (version 1)
//! A gzip stream of:
//! - a header line: JSON [`Header`] (format name and version, the store's
//!   identity, write count, id floor, when it was taken), then `\n`;
//! - per tree: `T`, name length (u32 BE), name, entry count (u64 BE), then
//!   per entry: key length (u32 BE), key, value length (u32 BE), value;
//! - `E`, then the SHA-256 of every byte before `E` (uncompressed).
//!
//! The file is written as `FILE.partial` and renamed once complete and
//! synced, so a backup killed half-way leaves no file under the final name;
//! a truncated or altered file fails the checksum and is refused whole.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::identity::{FORMAT_VERSION, Identity, IdentityFile};
use super::{Entry, SledStore};

const FORMAT_NAME: &str = "preau-snapshot";
const SNAPSHOT_VERSION: u32 = 1;

/// What a snapshot says of itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub snapshot_version: u32,
    /// The store's format version.
    pub store_format: u32,
    pub identity: Identity,
    /// Writes the store had counted.
    pub seq: u64,
    /// Above every id the snapshot holds.
    pub id_floor: u64,
    /// When it was taken (Unix seconds).
    pub taken_at: i64,
}

/// A summary of a written or verified snapshot.
#[derive(Clone, Debug)]
pub struct Summary {
    pub header: Header,
    /// Entries per tree.
    pub trees: Vec<(String, u64)>,
    /// Size of the file.
    pub file_bytes: u64,
    /// SHA-256 of the uncompressed content (hex).
    pub sha256: String,
}

impl Summary {
    /// All entries.
    pub fn entries(&self) -> u64 {
        self.trees.iter().map(|(_, n)| n).sum()
    }
}

/// Writes the bytes it is given and hashes them.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

impl SledStore {
    /// Takes a snapshot into the file `to` (replaced if it exists). Writes
    /// wait while the store is read (not while it is compressed).
    pub fn write_snapshot(&self, to: &Path) -> Result<Summary> {
        write(self, to)
    }
}

fn write(store: &SledStore, to: &Path) -> Result<Summary> {
    let export = store.export()?;
    let identity: Identity = match &export.identity {
        Some(bytes) => serde_json::from_slice(bytes).context("identité de la base illisible")?,
        None => bail!(
            "la base n'a pas d'identité : démarrez Préau une fois dessus avant de la sauvegarder"
        ),
    };
    let header = Header {
        format: FORMAT_NAME.into(),
        snapshot_version: SNAPSHOT_VERSION,
        store_format: identity.format_version,
        identity,
        seq: export.seq,
        id_floor: export.id_floor,
        taken_at: preau_text::zone::now(),
    };
    let partial = partial_path(to);
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("création de {}", partial.display()))?;
    let gzip = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let mut out = Hashing {
        inner: gzip,
        hash: Sha256::new(),
    };
    let written = (|| -> Result<String> {
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        for (name, entries) in &export.trees {
            out.write_all(b"T")?;
            write_bytes(&mut out, name.as_bytes())?;
            out.write_all(&(entries.len() as u64).to_be_bytes())?;
            for (k, v) in entries {
                write_bytes(&mut out, k)?;
                write_bytes(&mut out, v)?;
            }
        }
        let digest = out.hash.clone().finalize();
        out.inner.write_all(b"E")?;
        out.inner.write_all(&digest)?;
        let file = out
            .inner
            .finish()?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(hex(&digest))
    })();
    let sha256 = match written {
        Ok(sha) => sha,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("écriture de {}", to.display())));
        }
    };
    std::fs::rename(&partial, to).with_context(|| format!("écriture de {}", to.display()))?;
    if let Some(folder) = to.parent().and_then(|p| std::fs::File::open(p).ok()) {
        let _ = folder.sync_all();
    }
    Ok(Summary {
        header,
        trees: export
            .trees
            .iter()
            .map(|(name, entries)| (name.clone(), entries.len() as u64))
            .collect(),
        file_bytes: std::fs::metadata(to)?.len(),
        sha256,
    })
}

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    let len = u32::try_from(bytes.len()).context("valeur trop grande pour une sauvegarde")?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A snapshot read back whole and verified.
pub struct Snapshot {
    pub summary: Summary,
    pub trees: Vec<(String, Vec<Entry>)>,
}

/// Reads and verifies the snapshot `from` (checksum, format, trees).
pub fn read(from: &Path) -> Result<Snapshot> {
    let file =
        std::fs::File::open(from).with_context(|| format!("ouverture de {}", from.display()))?;
    let file_bytes = file.metadata()?.len();
    let mut input = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut hash = Sha256::new();
    let refuse = |what: &str| {
        anyhow::anyhow!(
            "{} n'est pas une sauvegarde Préau complète et intacte : {what}",
            from.display()
        )
    };
    // The header line.
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        input
            .read_exact(&mut byte)
            .map_err(|e| refuse(&format!("en-tête illisible ({e})")))?;
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
        ensure!(line.len() < 64 * 1024, refuse("en-tête trop long"));
    }
    hash.update(&line);
    hash.update(b"\n");
    let header: Header =
        serde_json::from_slice(&line).map_err(|e| refuse(&format!("en-tête illisible ({e})")))?;
    ensure!(header.format == FORMAT_NAME, refuse("format inconnu"));
    ensure!(
        header.snapshot_version <= SNAPSHOT_VERSION,
        refuse(&format!(
            "version de sauvegarde {} plus récente que ce Préau ({SNAPSHOT_VERSION})",
            header.snapshot_version
        ))
    );
    let cut = |_: std::io::Error| refuse("fichier tronqué ou altéré");
    let mut trees = Vec::new();
    let mut reader = Hashed {
        inner: &mut input,
        hash: &mut hash,
    };
    loop {
        let mut tag = [0u8; 1];
        reader
            .inner
            .read_exact(&mut tag)
            .map_err(|_| refuse("fichier tronqué ou altéré (fin absente)"))?;
        match tag[0] {
            b'T' => {
                reader.hash.update(tag);
                let name = String::from_utf8(reader.bytes().map_err(cut)?)
                    .map_err(|_| refuse("nom d'arbre illisible"))?;
                ensure!(
                    SledStore::is_space_tree(&name),
                    refuse(&format!("arbre inconnu « {name} »"))
                );
                let count = reader.u64().map_err(cut)?;
                let mut entries = Vec::new();
                for _ in 0..count {
                    let k = reader.bytes().map_err(cut)?;
                    let v = reader.bytes().map_err(cut)?;
                    entries.push((k, v));
                }
                trees.push((name, entries));
            }
            b'E' => {
                let mut digest = [0u8; 32];
                reader
                    .inner
                    .read_exact(&mut digest)
                    .map_err(|_| refuse("fichier tronqué ou altéré (somme de contrôle absente)"))?;
                let computed = reader.hash.clone().finalize();
                ensure!(
                    computed.as_slice() == digest,
                    refuse("la somme de contrôle ne correspond pas (fichier altéré)")
                );
                let mut rest = [0u8; 1];
                ensure!(
                    matches!(reader.inner.read(&mut rest), Ok(0)),
                    refuse("données après la fin")
                );
                let summary = Summary {
                    header,
                    trees: trees
                        .iter()
                        .map(|(n, e): &(String, Vec<Entry>)| (n.clone(), e.len() as u64))
                        .collect(),
                    file_bytes,
                    sha256: hex(&digest),
                };
                return Ok(Snapshot { summary, trees });
            }
            other => return Err(refuse(&format!("bloc inconnu (octet {other})"))),
        }
    }
}

/// Reads through, hashing what it reads.
struct Hashed<'a, R: Read> {
    inner: &'a mut R,
    hash: &'a mut Sha256,
}

impl<R: Read> Hashed<'_, R> {
    fn exact(&mut self, len: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.inner.read_exact(&mut buf)?;
        self.hash.update(&buf);
        Ok(buf)
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        let b = self.exact(8)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }
    fn bytes(&mut self) -> std::io::Result<Vec<u8>> {
        let b = self.exact(4)?;
        let len = u32::from_be_bytes(b.try_into().expect("4 bytes")) as usize;
        // Read in steps: a damaged length must not allocate gigabytes at once.
        let mut out = Vec::new();
        let mut left = len;
        while left > 0 {
            let step = left.min(1 << 20);
            out.extend(self.exact(step)?);
            left -= step;
        }
        Ok(out)
    }
}

/// Restores the snapshot `from` into `dir`, which must be absent or empty.
/// Nothing is left in `dir` when the snapshot is refused.
pub fn restore(from: &Path, dir: &Path) -> Result<Summary> {
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        bail!(
            "le dossier {} n'est pas vide : la restauration se fait dans un dossier neuf \
             (rien n'a été modifié)",
            dir.display()
        );
    }
    let snapshot = read(from)?;
    let header = &snapshot.summary.header;
    ensure!(
        header.store_format <= FORMAT_VERSION,
        "la sauvegarde est au format de base {}, plus récent que ce Préau ({FORMAT_VERSION})",
        header.store_format
    );
    let created_dir = !dir.exists();
    let loaded = (|| -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let store = SledStore::open_for_bulk_load(dir)?;
        for (name, entries) in &snapshot.trees {
            store.load_tree(name, entries)?;
        }
        store.set_identity_record(&serde_json::to_vec(&header.identity)?)?;
        store.set_id_floor(header.id_floor)?;
        store.raise_seq(header.seq)?;
        crate::store::Store::close(&store)?;
        IdentityFile::write(dir, &header.identity, store.durable_seq(), true)?;
        Ok(())
    })();
    if let Err(e) = loaded {
        // Leave the folder as it was found: empty (or absent).
        if created_dir {
            let _ = std::fs::remove_dir_all(dir);
        } else if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path())
                    .or_else(|_| std::fs::remove_file(entry.path()));
            }
        }
        return Err(e.context(format!("restauration dans {}", dir.display())));
    }
    Ok(snapshot.summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenOptions, Space, Store, open_data_dir};

    #[test]
    fn a_snapshot_restores_whole_and_an_altered_one_is_refused() {
        let place = std::env::temp_dir().join(format!(
            "preau-instantane-{}-{}",
            std::process::id(),
            crate::directory::random_token()
        ));
        let (store, _) = open_data_dir(&place.join("db"), &OpenOptions::default()).unwrap();
        for i in 0..500 {
            let value = format!("valeur {i} ").repeat(20);
            store
                .put(
                    Space::PluginData,
                    format!("k{i:04}").as_bytes(),
                    value.as_bytes(),
                )
                .unwrap();
        }
        let id = store.next_id().unwrap();
        let file = place.join("s.preau.gz");
        let written = store.backup(&file).unwrap();
        assert_eq!(written.entries(), 500);
        assert!(!place.join("s.preau.gz.partial").exists());

        let summary = restore(&file, &place.join("restauree")).unwrap();
        assert_eq!(summary.sha256, written.sha256);
        let (restored, _) =
            open_data_dir(&place.join("restauree"), &OpenOptions::default()).unwrap();
        assert_eq!(
            restored.get(Space::PluginData, b"k0499").unwrap(),
            store.get(Space::PluginData, b"k0499").unwrap()
        );
        assert!(
            restored.next_id().unwrap() > id,
            "les identifiants continuent"
        );

        // One byte changed in the middle of the compressed stream.
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        let altered = place.join("alteree.preau.gz");
        std::fs::write(&altered, &bytes).unwrap();
        let error = restore(&altered, &place.join("jamais")).unwrap_err();
        assert!(
            format!("{error:#}").contains("complète et intacte"),
            "{error:#}"
        );
        assert!(!place.join("jamais").exists());
        drop((store, restored));
        let _ = std::fs::remove_dir_all(place);
    }
}
