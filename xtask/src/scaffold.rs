//! `cargo xtask new-plugin <id> [--name "Nom"] [--dir DOSSIER]`: a new plugin
//! that builds, has passing unit tests and an integration test through the
//! real host, and appears in every establishment's administration once built.
//!
//! Without `--dir` it goes to `plugins/<id>/`, a member of this workspace (the
//! workspace lists `plugins/*`: nothing else to edit). With `--dir` it is a
//! crate of its own, outside any workspace, that depends on the SDK by path —
//! what a third party starts from (see docs/plugins.md).
//!
//! The files are those of `examples/mur-de-classe/` (built, bundled, installed
//! and used by `tests/integration/plugin_kit.rs`), with its id and name replaced.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::root;

/// The example plugin the scaffold copies (`examples/mur-de-classe/`), and what
/// is replaced in its files.
const EXAMPLE_ID: &str = "mur-de-classe";
const EXAMPLE_NAME: &str = "Mur de la classe";
const EXAMPLE_FILES: &[&str] = &[
    "plugin.toml",
    "src/lib.rs",
    "templates/index.html",
    "templates/block.html",
    "static/style.css",
];

pub fn main(args: &[String]) -> Result<()> {
    let mut id = None;
    let mut name = None;
    let mut dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => name = Some(args.next().context("--name attend un nom")?.clone()),
            "--dir" => {
                dir = Some(PathBuf::from(
                    args.next().context("--dir attend un dossier")?,
                ))
            }
            s if !s.starts_with('-') && id.is_none() => id = Some(s.to_string()),
            other => bail!("option inconnue « {other} »"),
        }
    }
    let id = id.context("usage : cargo xtask new-plugin <id> [--name \"Nom\"] [--dir DOSSIER]")?;
    let name = name.unwrap_or_else(|| default_name(&id));
    let folder = create(&id, &name, dir.as_deref())?;
    println!("Plugin « {name} » créé dans {}", folder.display());
    match dir {
        None => println!(
            "Ensuite : cargo xtask test (ses tests), cargo xtask serve --demo, puis Administration › activer « {name} »."
        ),
        Some(_) => println!(
            "Ensuite : cargo test (ses tests), cargo xtask bundle --manifest-path {}/Cargo.toml, preau plugin check, preau plugin install.",
            folder.display()
        ),
    }
    Ok(())
}

/// `mon-service` → `Mon service`.
fn default_name(id: &str) -> String {
    let words = id.replace('-', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Whether `id` can name a plugin (URL segment, crate name, template prefix).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && id.as_bytes()[0].is_ascii_lowercase()
        && !id.ends_with('-')
}

/// The contract version of `wit/plugin.wit` (`package preau:plugin@X;`).
fn contract_version() -> Result<String> {
    let wit = std::fs::read_to_string(root().join("wit/plugin.wit"))?;
    wit.lines()
        .find_map(|l| l.trim().strip_prefix("package preau:plugin@"))
        .map(|v| v.trim_end_matches(';').to_string())
        .context("version du contrat dans wit/plugin.wit")
}

/// Writes the plugin; returns its folder.
pub fn create(id: &str, name: &str, dir: Option<&Path>) -> Result<PathBuf> {
    if !valid_id(id) {
        bail!(
            "identifiant « {id} » invalide : minuscules, chiffres et tirets, commençant par une lettre (il sert d'adresse, de nom de paquet et de préfixe de gabarits)"
        );
    }
    let standalone = dir.is_some();
    let folder = match dir {
        Some(dir) => dir.join(id),
        None => root().join("plugins").join(id),
    };
    if folder.exists() {
        bail!("{} existe déjà", folder.display());
    }
    let contract = contract_version()?;
    let cargo_toml = if standalone {
        let sdk = std::fs::canonicalize(root().join("sdk"))?;
        format!(
            r#"[package]
name = "{id}"
version = "0.1.0"
edition = "2024"
publish = false

# A plugin of its own, outside any workspace.
[workspace]

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
preau-sdk = {{ path = "{sdk}" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

[profile.release]
opt-level = "s"
"#,
            sdk = sdk.display()
        )
    } else {
        format!(
            r#"[package]
name = "{id}"
edition.workspace = true
version.workspace = true
license.workspace = true
rust-version.workspace = true
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
preau-sdk.workspace = true
serde.workspace = true
serde_json.workspace = true

[dev-dependencies]
# The integration test drives the real host with this plugin compiled to wasm.
preau-tests = {{ path = "../../tests" }}
tokio = {{ version = "1", features = ["rt-multi-thread", "macros"] }}

[lints]
workspace = true
"#
        )
    };
    // The example plugin is the template: its files, with its id and name replaced.
    let example = root().join("examples").join(EXAMPLE_ID);
    let mut files: Vec<(&str, String)> = vec![("Cargo.toml", cargo_toml)];
    for file in EXAMPLE_FILES {
        let text = std::fs::read_to_string(example.join(file))
            .with_context(|| format!("lecture de examples/{EXAMPLE_ID}/{file}"))?;
        let text = text.replace(EXAMPLE_NAME, name).replace(EXAMPLE_ID, id);
        let text = match *file {
            "plugin.toml" => with_contract(&text, &contract),
            _ => text,
        };
        files.push((file, text));
    }
    if !standalone {
        files.push(("tests/host.rs", host_test(id, name)));
    }
    for (path, content) in files {
        let path = folder.join(path);
        std::fs::create_dir_all(path.parent().expect("dossier"))?;
        std::fs::write(&path, content)
            .with_context(|| format!("écriture de {}", path.display()))?;
    }
    Ok(folder)
}

/// `contract = "…"` set to the contract this checkout builds against.
fn with_contract(manifest: &str, contract: &str) -> String {
    manifest
        .lines()
        .map(|line| match line.strip_prefix("contract = ") {
            Some(_) => format!("contract = \"{contract}\""),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn host_test(id: &str, name: &str) -> String {
    HOST_TEST.replace("{id}", id).replace("{name}", name)
}

const HOST_TEST: &str = r#"//! {name} through the real host: a teacher writes a message, a pupil reads it,
//! a pupil may not write. Run by `cargo xtask test`, which builds the plugin.

use preau_tests::{PILAT, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_writes_and_a_pupil_reads() {
    let server = TestServer::start().await.unwrap();
    server.enable(PILAT, "{id}").await.unwrap();
    let url = format!("/e/{PILAT}/{id}/");

    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let page = teacher.get(&url).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let written = teacher
        .post_form(&url, &url, &[("text", "Sortie au musée jeudi")])
        .await
        .unwrap();
    assert_eq!(written.status, 303, "{}", written.body);
    let empty = teacher.post_form(&url, &url, &[("text", "  ")]).await.unwrap();
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Écrivez un message."));

    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil.get(&url).await.unwrap();
    assert!(page.body.contains("Sortie au musée jeudi"));
    let refused = pupil
        .post_form(&url, &url, &[("text", "Bonjour")])
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
}
"#;
