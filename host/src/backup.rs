//! Backups while the server runs, restores, and `preau store check`.
//!
//! sled lets one process open a folder, so a backup of a running server goes
//! through the server: it listens on a Unix socket in its data folder
//! (`control.sock`, mode 0600: only the account that runs Préau may use it),
//! and `preau backup` asks it for a snapshot ([`crate::store::snapshot`]).
//! When no server runs, `preau backup` opens the folder itself.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::store::identity::when;
use crate::store::snapshot::{self, Summary};
use crate::store::{OpenOptions, Store, open_data_dir};

/// The control socket's name in the data folder.
pub const CONTROL_SOCKET: &str = "control.sock";

#[derive(Serialize, Deserialize)]
struct BackupRequest {
    backup: PathBuf,
}

/// What the server answers.
#[derive(Serialize, Deserialize)]
struct BackupAnswer {
    error: Option<String>,
    entries: u64,
    file_bytes: u64,
    sha256: String,
    seq: u64,
    taken_at: i64,
}

impl BackupAnswer {
    fn of(summary: &Summary) -> BackupAnswer {
        BackupAnswer {
            error: None,
            entries: summary.entries(),
            file_bytes: summary.file_bytes,
            sha256: summary.sha256.clone(),
            seq: summary.header.seq,
            taken_at: summary.header.taken_at,
        }
    }

    fn text(&self, to: &Path) -> String {
        format!(
            "Sauvegarde écrite : {} ({} entrées, {:.1} Mio, prise le {}, {} écritures)\nSHA-256 du contenu : {}",
            to.display(),
            self.entries,
            self.file_bytes as f64 / (1 << 20) as f64,
            when(self.taken_at),
            self.seq,
            self.sha256
        )
    }
}

/// Serves backup requests on `<data>/control.sock` until the store goes.
pub fn start_control_socket(store: &Arc<dyn Store>, data_dir: &Path) {
    let path = data_dir.join(CONTROL_SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(
                "canal de contrôle {} indisponible ({e}) : « preau backup » ne pourra pas sauvegarder à chaud",
                path.display()
            );
            return;
        }
    };
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    let store: Weak<dyn Store> = Arc::downgrade(store);
    let spawned = std::thread::Builder::new()
        .name("preau-controle".into())
        .spawn(move || {
            for connection in listener.incoming() {
                let Some(store) = store.upgrade() else { return };
                match connection {
                    Ok(stream) => {
                        if let Err(e) = answer(&*store, stream) {
                            tracing::warn!("canal de contrôle : {e:#}");
                        }
                    }
                    Err(e) => tracing::warn!("canal de contrôle : {e}"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("canal de contrôle : {e}");
    }
}

fn answer(store: &dyn Store, stream: UnixStream) -> Result<()> {
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let request: BackupRequest = serde_json::from_str(&line).context("demande illisible")?;
    let answer = match store.backup(&request.backup) {
        Ok(summary) => {
            tracing::info!(
                "sauvegarde écrite : {} ({} entrées)",
                request.backup.display(),
                summary.entries()
            );
            BackupAnswer::of(&summary)
        }
        Err(e) => BackupAnswer {
            error: Some(format!("{e:#}")),
            entries: 0,
            file_bytes: 0,
            sha256: String::new(),
            seq: 0,
            taken_at: 0,
        },
    };
    let mut stream = stream;
    serde_json::to_writer(&mut stream, &answer)?;
    stream.write_all(b"\n")?;
    Ok(())
}

/// `preau backup --data DIR --to FILE`: through the running server when there
/// is one, else by opening the folder. Returns the text to print.
pub fn backup(data_dir: &Path, to: &Path) -> Result<String> {
    let to = absolute(to)?;
    let socket = data_dir.join(CONTROL_SOCKET);
    if let Ok(stream) = UnixStream::connect(&socket) {
        let mut writer = &stream;
        serde_json::to_writer(&mut writer, &BackupRequest { backup: to.clone() })?;
        writer.write_all(b"\n")?;
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .context("le serveur n'a pas répondu")?;
        let answer: BackupAnswer =
            serde_json::from_str(&line).context("réponse du serveur illisible")?;
        if let Some(error) = answer.error {
            bail!("sauvegarde refusée par le serveur : {error}");
        }
        return Ok(format!("{} (serveur en marche)", answer.text(&to)));
    }
    if !data_dir
        .join(crate::store::identity::IDENTITY_FILE)
        .exists()
        && std::fs::read_dir(data_dir).map_or(true, |mut d| d.next().is_none())
    {
        bail!("{} ne contient pas de base Préau", data_dir.display());
    }
    let (store, _) = open_data_dir(
        data_dir,
        &OpenOptions {
            reserve: 0,
            verify: true,
        },
    )?;
    let summary = store.backup(&to)?;
    store.close()?;
    Ok(format!(
        "{} (serveur arrêté)",
        BackupAnswer::of(&summary).text(&to)
    ))
}

/// `preau restore FILE --data DIR`.
pub fn restore(from: &Path, data_dir: &Path) -> Result<String> {
    let summary = snapshot::restore(from, data_dir)?;
    Ok(format!(
        "Sauvegarde restaurée dans {} : {} entrées, région {} (sauvegarde du {}, SHA-256 vérifié).\n\
         Démarrez Préau sur ce dossier : preau serve --data {}",
        data_dir.display(),
        summary.entries(),
        summary.header.identity.region_id,
        when(summary.header.taken_at),
        data_dir.display()
    ))
}

/// `preau store check --data DIR`: the report, and whether all is well.
pub fn check(data_dir: &Path) -> Result<(String, bool)> {
    use std::fmt::Write;
    let (store, engine) = crate::store::check::check(data_dir)?;
    let mut out = String::new();
    writeln!(out, "Base : {}", data_dir.display())?;
    match &engine.identity {
        Some(i) => writeln!(
            out,
            "Identité : région {}, créée le {}, format {}",
            i.region_id,
            when(i.created_at),
            i.format_version
        )?,
        None => writeln!(out, "Identité : absente")?,
    }
    match &engine.file {
        Some(f) => writeln!(
            out,
            "Fichier d'identité : {} écritures enregistrées le {}, arrêt {}",
            f.seq,
            when(f.written_at),
            if f.clean_shutdown {
                "propre"
            } else {
                "non propre (serveur en marche ou arrêté brutalement)"
            }
        )?,
        None => writeln!(out, "Fichier d'identité : absent")?,
    }
    writeln!(out, "Écritures dans la base : {}", engine.seq)?;
    for (tree, entries, bytes) in &engine.trees {
        writeln!(
            out,
            "  arbre {tree:<15} {entries:>9} entrées {bytes:>12} octets"
        )?;
    }
    let mut problems = engine.problems.clone();
    if problems.is_empty() {
        let directory = crate::directory::consistency::check(&store)?;
        writeln!(
            out,
            "Annuaire : {} personnes, {} entrées d'index, {} identifiants, {} appartenances à des groupes",
            directory.users, directory.index_entries, directory.logins, directory.group_members
        )?;
        problems.extend(directory.problems.iter().cloned());
        if directory.more_problems > 0 {
            problems.push(format!("… et {} autres", directory.more_problems));
        }
        writeln!(out, "Espaces des plugins : {}", engine.namespaces.len())?;
        for (namespace, (entries, bytes)) in &engine.namespaces {
            writeln!(
                out,
                "  {namespace:<40} {entries:>9} entrées {bytes:>12} octets"
            )?;
        }
    }
    if problems.is_empty() {
        writeln!(out, "Résultat : base cohérente.")?;
    } else {
        writeln!(out, "Résultat : {} problème(s) :", problems.len())?;
        for p in &problems {
            writeln!(out, "  - {p}")?;
        }
    }
    Ok((out, problems.is_empty()))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let parent = path.parent().context("chemin de sauvegarde invalide")?;
    if !parent.is_dir() {
        bail!("le dossier {} n'existe pas", parent.display());
    }
    Ok(path)
}
