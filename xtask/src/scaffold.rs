//! `cargo xtask new-plugin <id> [--name "Nom"] [--dir DOSSIER]`: a new plugin
//! that builds, has passing unit tests and an integration test through the
//! real host, and appears in every establishment's administration once built.
//!
//! Without `--dir` it goes to `plugins/<id>/`, a member of this workspace (the
//! workspace lists `plugins/*`: nothing else to edit). With `--dir` it is a
//! crate of its own, outside any workspace, that depends on the SDK by path —
//! what a third party starts from (see docs/plugins.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::root;

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
    let files: Vec<(&str, String)> = vec![
        ("Cargo.toml", cargo_toml),
        ("plugin.toml", plugin_toml(id, name, &contract)),
        ("src/lib.rs", lib_rs(id, name)),
        ("templates/index.html", INDEX_HTML.replace("{name}", name)),
        ("templates/block.html", BLOCK_HTML.to_string()),
        ("static/style.css", STYLE_CSS.replace("{id}", id)),
    ];
    let mut files = files;
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

fn plugin_toml(id: &str, name: &str, contract: &str) -> String {
    format!(
        r#"# The manifest: every key is described in docs/plugins.md.
id = "{id}"
name = "{name}"
version = "0.1.0"
contract = "{contract}"
description = "Un mur de courts messages de l'établissement."

[[roles]]
id = "lecteur"
label = "Lecteur"
permissions = ["Lire les messages"]
default_profiles = ["eleve", "parent", "enseignant", "personnel"]

[[roles]]
id = "contributeur"
label = "Contributeur"
permissions = ["Lire les messages", "Écrire un message"]
default_profiles = ["enseignant", "personnel"]

[[blocks]]
id = "derniers"
label = "{name} : derniers messages"

[limits]
memory_mib = 32
timeout_ms = 1000
"#
    )
}

fn lib_rs(id: &str, name: &str) -> String {
    LIB_RS.replace("{id}", id).replace("{name}", name)
}

fn host_test(id: &str, name: &str) -> String {
    HOST_TEST.replace("{id}", id).replace("{name}", name)
}

const LIB_RS: &str = r#"//! {name}: a wall of short messages. Readers see them; contributors write
//! them. The rules are plain functions (`check_message`), unit-tested natively;
//! the routes only read the request, call the rules and the store, and answer.

use preau_sdk::prelude::*;

/// Longest message, in characters.
pub const MAX_CHARS: usize = 280;

/// A message on the wall.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub text: String,
    pub author: String,
    /// Unix seconds.
    pub written_at: i64,
}

impl Record for Message {
    const KIND: &'static str = "message";
}

/// The text of a message once trimmed, or what is wrong with it (in French).
pub fn check_message(text: &str) -> std::result::Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Écrivez un message.".into());
    }
    let count = text.chars().count();
    if count > MAX_CHARS {
        return Err(format!("{count} caractères : {MAX_CHARS} au plus."));
    }
    Ok(text.to_string())
}

struct Wall;

impl Plugin for Wall {
    fn router() -> Router {
        Router::new().get("/", list).post("/", write)
    }

    fn render_block(
        name: &str,
        _params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        if name != "derniers" || !invocation.has_role("lecteur") {
            return Ok(None);
        }
        let messages = newest(5)?;
        Ok(Some(Fragment::new(
            "block.html",
            "{name}",
            &serde_json::json!({ "messages": messages, "url": invocation.url("/") }),
        )?))
    }
}

preau_sdk::export_plugin!(Wall);

fn newest(limit: u32) -> Result<Vec<Message>> {
    Ok(Table::<Message>::new()
        .scan(None, limit, Order::NewestFirst)?
        .into_iter()
        .map(|(_, message)| message)
        .collect())
}

fn page(request: &Request, text: &str, error: Option<String>) -> Result<Response> {
    let status = if error.is_some() { 422 } else { 200 };
    Ok(Response::page(
        "index.html",
        "{name}",
        &serde_json::json!({
            "messages": newest(50)?,
            "may_write": request.has_role("contributeur"),
            "text": text,
            "error": error,
            "max_chars": MAX_CHARS,
        }),
    )
    .with_status(status))
}

fn list(request: &Request, _: &Params) -> Result<Response> {
    request.require_role("lecteur")?;
    page(request, "", None)
}

fn write(request: &Request, _: &Params) -> Result<Response> {
    request.require_role("contributeur")?;
    let typed = request.form().get("text").unwrap_or_default().to_string();
    let text = match check_message(&typed) {
        Ok(text) => text,
        Err(error) => return page(request, &typed, Some(error)),
    };
    let author = request
        .caller()
        .map(|c| c.display_name.clone())
        .unwrap_or_default();
    Table::<Message>::new().insert(&Message {
        text,
        author,
        written_at: preau_sdk::time::now(),
    })?;
    Ok(Response::redirect("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_trimmed_and_bounded() {
        assert_eq!(check_message("  Bonjour  ").unwrap(), "Bonjour");
        assert_eq!(check_message("   ").unwrap_err(), "Écrivez un message.");
        let long = "é".repeat(MAX_CHARS + 1);
        assert!(check_message(&long).unwrap_err().contains("281 caractères"));
        assert!(check_message(&"é".repeat(MAX_CHARS)).is_ok());
    }
}
"#;

const INDEX_HTML: &str = r#"{% extends "layout.html" %}
{% block content %}
<div class="page-head">
  <h1>{name}</h1>
</div>

{%- if may_write %}
<form class="form card" method="post" action="">
  <input type="hidden" name="csrf" value="{{ portal.csrf }}">
  <div class="field{% if error %} has-error{% endif %}">
    <label for="field-text">Votre message ({{ max_chars }} caractères au plus)</label>
    {%- if error %}
    <p class="field-error" id="field-text-erreur"><span class="visually-hidden">Erreur : </span>{{ error }}</p>
    {%- endif %}
    <textarea id="field-text" name="text" rows="3" maxlength="{{ max_chars }}"
      {%- if error %} aria-describedby="field-text-erreur" aria-invalid="true"{% endif %}>{{ text }}</textarea>
  </div>
  <button type="submit" class="button">Publier</button>
</form>
{%- endif %}

{%- if messages %}
<ul class="wall">
  {%- for message in messages %}
  <li class="card">
    <p>{{ message.text }}</p>
    <p class="meta">{{ message.author }} · {{ message.written_at|datefr }}</p>
  </li>
  {%- endfor %}
</ul>
{%- else %}
<p class="empty">Aucun message pour l'instant.</p>
{%- endif %}
{% endblock %}
"#;

const BLOCK_HTML: &str = r#"{%- if messages %}
<ul class="block-posts">
  {%- for message in messages %}
  <li>{{ message.text }} <span class="meta">— {{ message.author }}</span></li>
  {%- endfor %}
</ul>
<p><a href="{{ url }}">Tous les messages</a></p>
{%- else %}
<p class="block-empty">Aucun message pour l'instant.</p>
{%- endif %}
"#;

const STYLE_CSS: &str = r#"/* The plugin's own styles (static/style.css): linked on its pages only. */
.wall {
  list-style: none;
  padding: 0;
}
.wall .meta {
  color: #555;
  font-size: 0.9em;
}
"#;

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
