//! Project tasks: `cargo xtask <task>`.
//!
//! - `build-plugins`: builds every plugin (`plugins/*`, and `tests/plugins/*`
//!   with `--with-test-plugins`) as a wasm32-wasip2 component.
//! - `serve [ARGS…]`: builds the plugins, then runs `preau serve ARGS…`.
//! - `test`: builds every plugin, then runs the whole test suite.
//! - `bench`: builds the plugins, runs the benchmarks, writes BENCHMARKS.md.
//! - `lint-wasm`: clippy with `-D warnings` for wasm32-wasip2 on every plugin
//!   (`plugins/*`, `tests/plugins/*`) and the SDK (what CI runs).
//! - `new-plugin <id> [--name "Nom"] [--dir DOSSIER]`: a new plugin (see
//!   `scaffold.rs`), in `plugins/<id>/` or as a crate of its own elsewhere.
//! - `bundle <id> | --manifest-path CHEMIN [--out DOSSIER]`: builds a plugin and
//!   writes its bundle (see `bundle.rs`).
//! - `crash-loop [--cycles N]`: builds the plugins, kills a server running a
//!   mixed workload (blog, forum, a reservation race) N times (default 50) with
//!   SIGKILL, checks every acknowledged write survived and no slot has two
//!   holders; then N times kills the server (or the client) during
//!   `preau backup` and checks the backup is whole or refused, never silently
//!   partial; writes RELIABILITY.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod bundle;
mod scaffold;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("racine")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(mut command: Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("lancement de {command:?}"))?;
    if !status.success() {
        bail!("échec : {command:?} ({status})");
    }
    Ok(())
}

/// The browser tests' npm tools (axe-core, pinned by its lock file), when
/// npm is there and they are not installed yet; without npm the tests say
/// what to install.
fn install_browser_tools() -> Result<()> {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser-tools");
    let has_npm = Command::new("npm")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if tools.join("node_modules/axe-core").exists() || !has_npm {
        return Ok(());
    }
    let mut command = Command::new("npm");
    command
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tools);
    run(command)
}

/// Package names of the plugin crates under `dir`.
fn plugin_packages(dir: &Path) -> Result<Vec<String>> {
    let mut packages = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(packages);
    };
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        if entry.path().join("plugin.toml").is_file() && manifest.is_file() {
            let text = std::fs::read_to_string(&manifest)?;
            let name = text
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("name = ")
                        .map(|n| n.trim_matches('"').to_string())
                })
                .with_context(|| format!("nom du paquet dans {}", manifest.display()))?;
            packages.push(name);
        }
    }
    packages.sort();
    Ok(packages)
}

/// Adds the wasm32-wasip2 target through rustup when it is missing (fresh machines).
fn ensure_wasm_target() -> Result<()> {
    let Ok(output) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(()); // No rustup: the toolchain was installed another way; cargo will say what is missing.
    };
    if !String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        eprintln!("installation de la cible wasm32-wasip2");
        let mut command = Command::new("rustup");
        command.args(["target", "add", "wasm32-wasip2"]);
        run(command)?;
    }
    Ok(())
}

fn build_plugins(with_test_plugins: bool) -> Result<()> {
    ensure_wasm_target()?;
    let mut packages = plugin_packages(&root().join("plugins"))?;
    if with_test_plugins {
        packages.extend(plugin_packages(&root().join("tests/plugins"))?);
    }
    let mut command = cargo();
    command.args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"]);
    for package in &packages {
        command.args(["-p", package]);
    }
    eprintln!("construction des plugins : {}", packages.join(", "));
    run(command)
}

/// Every plugin (`plugins/*`, `tests/plugins/*`), the SDK and the crate of shared
/// text pieces, as `-p` arguments.
fn wasm_packages() -> Result<Vec<String>> {
    let mut packages = plugin_packages(&root().join("plugins"))?;
    packages.extend(plugin_packages(&root().join("tests/plugins"))?);
    packages.extend(["preau-sdk".to_string(), "preau-text".to_string()]);
    Ok(packages)
}

/// Clippy for wasm32-wasip2, warnings denied, on [`wasm_packages`].
fn lint_wasm() -> Result<()> {
    ensure_wasm_target()?;
    let packages = wasm_packages()?;
    let mut command = cargo();
    command.args(["clippy", "--target", "wasm32-wasip2"]);
    for package in &packages {
        command.args(["-p", package]);
    }
    command.args(["--", "-D", "warnings"]);
    eprintln!("clippy wasm32-wasip2 : {}", packages.join(", "));
    run(command)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("build-plugins") => build_plugins(args.iter().any(|a| a == "--with-test-plugins")),
        Some("lint-wasm") => lint_wasm(),
        Some("new-plugin") => scaffold::main(&args[1..]),
        Some("bundle") => bundle::main(&args[1..]),
        Some("serve") => {
            build_plugins(false)?;
            let mut command = cargo();
            // The release profile: Préau's own crates optimised (about 3× faster
            // pages than the dev profile the tests use); `cargo xtask bench` shares its build.
            command.args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "preau-host",
                "--bin",
                "preau",
                "--",
                "serve",
            ]);
            command.args(&args[1..]);
            run(command)
        }
        Some("test") => {
            build_plugins(true)?;
            install_browser_tools()?;
            let mut command = cargo();
            command.args(["test", "--workspace"]);
            command.args(&args[1..]);
            run(command)
        }
        Some("bench") => {
            build_plugins(true)?;
            let mut command = cargo();
            command.args([
                "bench",
                "-p",
                "preau-tests",
                "--bench",
                "dispatch",
                "--bench",
                "directory",
                "--bench",
                "pages",
            ]);
            command.args(&args[1..]);
            run(command)?;
            // The feed parser's own section (plugins/rss/benches/feeds.rs).
            let mut command = cargo();
            command.args(["bench", "-p", "rss", "--bench", "feeds"]);
            run(command)
        }
        Some("crash-loop") => {
            let cycles: u32 = match args.get(1).map(String::as_str) {
                None => 50,
                Some("--cycles") => args
                    .get(2)
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--cycles attend un nombre de cycles")?,
                Some(other) => bail!("option inconnue « {other} » (--cycles N)"),
            };
            build_plugins(true)?;
            let mut command = cargo();
            command
                .args([
                    "test",
                    "-p",
                    "preau-tests",
                    "--test",
                    "integration",
                    "--",
                    "--exact",
                    "durability::crash_loop_report",
                    "--ignored",
                    "--nocapture",
                ])
                .env("PREAU_CRASH_CYCLES", cycles.to_string())
                .env("PREAU_RELIABILITY_REPORT", root().join("RELIABILITY.md"));
            run(command)
        }
        _ => bail!(
            "usage : cargo xtask build-plugins [--with-test-plugins] | lint-wasm | new-plugin <id> [--dir DOSSIER] | bundle <id> | serve [--demo …] | test | bench | crash-loop [--cycles N]"
        ),
    }
}
