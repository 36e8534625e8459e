//! `cargo xtask bundle <id> [--out DIR]` and
//! `cargo xtask bundle --manifest-path PATH [--out DIR]`: builds a plugin for
//! wasm32-wasip2 and writes its bundle — one self-contained folder
//! `<DIR>/<id>/` holding `plugin.toml`, `plugin.wasm`, `templates/` and, when
//! the plugin has one, `static/` — ready for `preau plugin check` and
//! `preau plugin install`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, ensure_wasm_target, root, run};

/// Where the bundle comes from: a plugin of this workspace, or a plugin crate
/// anywhere (a third party's, outside the workspace).
pub enum Source {
    Workspace(String),
    Crate(PathBuf),
}

pub fn main(args: &[String]) -> Result<()> {
    let mut source = None;
    let mut out = root().join("target/bundles");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().context("--out attend un dossier")?),
            "--manifest-path" => {
                let path = args
                    .next()
                    .context("--manifest-path attend le Cargo.toml du plugin")?;
                source = Some(Source::Crate(PathBuf::from(path)));
            }
            id if !id.starts_with('-') && source.is_none() => {
                source = Some(Source::Workspace(id.to_string()))
            }
            other => bail!(
                "option inconnue « {other} » (bundle <id> | --manifest-path CHEMIN, --out DOSSIER)"
            ),
        }
    }
    let source = source.context(
        "usage : cargo xtask bundle <id> [--out DOSSIER] | --manifest-path CHEMIN [--out DOSSIER]",
    )?;
    let bundle = build_bundle(&source, &out)?;
    println!("{}", bundle.display());
    Ok(())
}

/// Builds the plugin (release, wasm32-wasip2) and writes its bundle under `out`;
/// returns the bundle's folder.
pub fn build_bundle(source: &Source, out: &Path) -> Result<PathBuf> {
    ensure_wasm_target()?;
    let (folder, package, wasm_dir) = match source {
        Source::Workspace(id) => {
            let folder = root().join("plugins").join(id);
            if !folder.join("plugin.toml").is_file() {
                bail!("aucun plugin « {id} » dans plugins/ (plugins/{id}/plugin.toml)");
            }
            let mut command = cargo();
            command.args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                id,
            ]);
            run(command)?;
            (
                folder,
                id.clone(),
                root().join("target/wasm32-wasip2/release"),
            )
        }
        Source::Crate(manifest_path) => {
            let manifest_path = std::fs::canonicalize(manifest_path)
                .with_context(|| format!("{} introuvable", manifest_path.display()))?;
            let folder = manifest_path
                .parent()
                .context("dossier du plugin")?
                .to_path_buf();
            let package = package_name(&manifest_path)?;
            // The crate's own target folder, as its author's `cargo build` would
            // use, unless PREAU_PLUGIN_TARGET_DIR names another (tests share one).
            let target_dir = std::env::var_os("PREAU_PLUGIN_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| folder.join("target"));
            let target_dir = std::path::absolute(&target_dir)?;
            let mut command =
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            command
                .current_dir(&folder)
                .env_remove("CARGO_TARGET_DIR")
                .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
                .arg("--manifest-path")
                .arg(&manifest_path)
                .arg("--target-dir")
                .arg(&target_dir);
            run(command)?;
            (folder, package, target_dir.join("wasm32-wasip2/release"))
        }
    };
    let id = manifest_id(&folder)?;
    let wasm = wasm_dir.join(format!("{}.wasm", package.replace('-', "_")));
    if !wasm.is_file() {
        bail!(
            "composant introuvable : {} (le paquet doit être une bibliothèque crate-type = [\"cdylib\"])",
            wasm.display()
        );
    }
    let bundle = out.join(&id);
    if bundle.exists() {
        std::fs::remove_dir_all(&bundle)
            .with_context(|| format!("remplacement de {}", bundle.display()))?;
    }
    std::fs::create_dir_all(&bundle)?;
    std::fs::copy(folder.join("plugin.toml"), bundle.join("plugin.toml"))?;
    std::fs::copy(&wasm, bundle.join("plugin.wasm"))?;
    for dir in ["templates", "static"] {
        if folder.join(dir).is_dir() {
            copy_dir(&folder.join(dir), &bundle.join(dir))?;
        }
    }
    Ok(bundle)
}

/// The `id` of a plugin folder's manifest.
fn manifest_id(folder: &Path) -> Result<String> {
    let text = std::fs::read_to_string(folder.join("plugin.toml"))
        .with_context(|| format!("lecture de {}/plugin.toml", folder.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("id = "))
        .map(|v| v.trim().trim_matches('"').to_string())
        .context("plugin.toml sans id")
}

/// The `[package] name` of a Cargo.toml.
fn package_name(manifest_path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest_path)?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("name = "))
        .map(|v| v.trim().trim_matches('"').to_string())
        .with_context(|| format!("nom du paquet dans {}", manifest_path.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
