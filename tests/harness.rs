//! Test harness: starts the real host on a free port with a temporary
//! database and the real compiled plugins, and a small cookie-keeping client.

pub mod feed_server;
pub mod html_safety;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("racine")
        .to_path_buf()
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "preau-demo";
/// UAI of the Collège du Pilat (blog enabled in the demo).
pub const PILAT: &str = "0420003A";

/// Demo accounts the benchmarks' sign-in storms use, one per connection.
pub const STORM_ACCOUNTS: [&str; 8] = [
    "jean.dupont",
    "paul.martin",
    "lea.garnier",
    "tom.martin",
    "marie.lefebvre",
    "karim.haddad",
    "sophie.giraud",
    "nathalie.perrin",
];
/// UAI of the second demo establishment (blog disabled).
pub const FOREZ: &str = "0420013L";

/// A configuration for tests: demo data, the repository's plugins plus the
/// test plugins, a temporary database.
pub fn test_config(data_dir: &Path) -> preau_host::Config {
    let root = repo_root();
    let mut config = preau_host::Config::for_checkout(&root);
    config.data_dir = data_dir.to_path_buf();
    config.demo = true;
    config.plugin_dirs.push(root.join("tests/plugins"));
    config.cache_dir = root.join("target/preau-test-cache");
    config.reload_interval = None;
    // The feed fixtures are served from 127.0.0.1; the guard against private
    // addresses has its own unit tests.
    config.outbound_allow_private = true;
    config.outbound_timeout = std::time::Duration::from_secs(2);
    config.tick_interval = None;
    config
}

/// A running host.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The app, for set-ups that have no UI yet (grants).
    pub app: Arc<preau_host::App>,
    _data: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts the host with the demo data in a fresh temporary database.
    pub async fn start() -> Result<TestServer> {
        // The database in `db/`, so that the default backup folder
        // (`sauvegardes` beside it) is in the temporary folder too.
        let data = tempfile::tempdir()?;
        let config = test_config(&data.path().join("db"));
        let mut server = TestServer::start_with(config).await?;
        server._data = Some(data);
        Ok(server)
    }

    /// Starts the host with a given configuration.
    pub async fn start_with(config: preau_host::Config) -> Result<TestServer> {
        let wasm = config.wasm_dir.join("blog.wasm");
        if !wasm.is_file() {
            bail!(
                "{} manque : lancez les tests avec `cargo xtask test`",
                wasm.display()
            );
        }
        let app = preau_host::build(config).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let serving = app.clone();
        tokio::spawn(async move {
            if let Err(e) = preau_host::serve_app(listener, serving).await {
                eprintln!("serveur arrêté : {e:#}");
            }
        });
        Ok(TestServer {
            base,
            app,
            _data: None,
        })
    }

    /// Enables a plugin in an establishment through the region administration page.
    pub async fn enable(&self, uai: &str, plugin: &str) -> Result<()> {
        let admin = self.signed_in("admin").await?;
        let toggle = format!("/admin/e/{uai}/plugins/{plugin}/toggle");
        let page = admin
            .post_form("/admin/", &toggle, &[("enabled", "true")])
            .await?;
        if page.status != 303 {
            bail!(
                "activation de {plugin} dans {uai} refusée : {}",
                page.status
            );
        }
        Ok(())
    }

    /// A client without cookies.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client signed in as `login` with the demo password.
    pub async fn signed_in(&self, login: &str) -> Result<Client> {
        let client = self.client();
        let response = client.login(login, DEMO_PASSWORD).await?;
        if response.status != 303 {
            bail!(
                "connexion de {login} refusée : {} {}",
                response.status,
                response.body
            );
        }
        Ok(client)
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// Headers (lowercase names; repeated ones joined with "\n").
    pub headers: HashMap<String, String>,
    /// Body text.
    pub body: String,
}

impl Page {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The value of the first hidden `csrf` field in the page.
    pub fn csrf(&self) -> Option<String> {
        let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]{32})""#).expect("regex");
        re.captures(&self.body).map(|c| c[1].to_string())
    }
}

/// An HTTP client that keeps cookies (no redirects followed).
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    cookies: Arc<Mutex<HashMap<String, String>>>,
    /// `X-Forwarded-For` sent with every request (a client behind a proxy).
    forwarded_for: Option<String>,
}

impl Client {
    /// A client of `base`.
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            cookies: Arc::new(Mutex::new(HashMap::new())),
            forwarded_for: None,
        }
    }

    /// The same client (no cookies) sending `X-Forwarded-For: address`: seen
    /// from `address` by a host that trusts 127.0.0.1 as its proxy.
    pub fn forwarded_for(base: &str, address: &str) -> Client {
        Client {
            forwarded_for: Some(address.to_string()),
            ..Client::new(base)
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", self.cookie_header());
        match &self.forwarded_for {
            Some(address) => request.header("x-forwarded-for", address),
            None => request,
        }
    }

    /// The value of a cookie the server set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Sets a cookie by hand (tampering tests).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.into(), value.into());
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&self, response: reqwest::Response) -> Result<Page> {
        let status = response.status().as_u16();
        let mut headers: HashMap<String, String> = HashMap::new();
        for (name, value) in response.headers() {
            let value = value.to_str().unwrap_or("").to_string();
            if name.as_str() == "set-cookie"
                && let Some((k, v)) = value.split(';').next().and_then(|kv| kv.split_once('='))
            {
                let mut cookies = self.cookies.lock().unwrap();
                if v.is_empty() || value.contains("Max-Age=0") {
                    cookies.remove(k);
                } else {
                    cookies.insert(k.to_string(), v.to_string());
                }
            }
            headers
                .entry(name.as_str().to_string())
                .and_modify(|existing| {
                    existing.push('\n');
                    existing.push_str(&value)
                })
                .or_insert(value);
        }
        let body = response.text().await.unwrap_or_default();
        Ok(Page {
            status,
            headers,
            body,
        })
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Result<Page> {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        self.read(response).await
    }

    /// POST a form as-is (no CSRF field added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let body = url_encode(fields);
        self.post_body(path, "application/x-www-form-urlencoded", body.into_bytes())
            .await
    }

    /// POST any body.
    pub async fn post_body(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<Page> {
        self.post_with_headers(path, content_type, body, &[]).await
    }

    /// POST any body with extra headers (`Origin`, `Referer`…).
    pub async fn post_with_headers(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<Page> {
        let mut request = self
            .request(reqwest::Method::POST, path)
            .header("content-type", content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        self.read(response).await
    }

    /// POST a [`multipart`] body.
    pub async fn post_multipart(
        &self,
        path: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Result<Page> {
        self.post_body(
            path,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(parts),
        )
        .await
    }

    /// POST a form with the CSRF token read from the page at `form_page`
    /// and extra headers.
    pub async fn post_form_with_headers(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<Page> {
        let page = self.get(form_page).await?;
        let csrf = page
            .csrf()
            .with_context(|| format!("pas de jeton CSRF dans {form_page} ({})", page.status))?;
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post_with_headers(
            path,
            "application/x-www-form-urlencoded",
            url_encode(&all).into_bytes(),
            headers,
        )
        .await
    }

    /// POST a form with the CSRF token read from the page at `form_page`.
    pub async fn post_form(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Page> {
        let page = self.get(form_page).await?;
        let csrf = page
            .csrf()
            .with_context(|| format!("pas de jeton CSRF dans {form_page} ({})", page.status))?;
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post_raw(path, &all).await
    }

    /// Signs in through the form.
    pub async fn login(&self, login: &str, password: &str) -> Result<Page> {
        self.post_form(
            "/login",
            "/login",
            &[("login", login), ("password", password)],
        )
        .await
    }
}

/// The boundary of [`multipart`] bodies.
pub const BOUNDARY: &str = "----preau-test-boundary-7d1f";

/// A `multipart/form-data` body: `(name, file name, bytes)` per part (a file
/// part when it has a file name).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(filename) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                     Content-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Page text with the entities minijinja's autoescape writes (`/`, `'`, `&`, `"`)
/// put back, to look for URLs and French text in a page.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// `application/x-www-form-urlencoded` encoding.
pub fn url_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `cargo`, from the repository's root, without the variables cargo set for the
/// running test (CARGO_MANIFEST_DIR…): build scripts watch some (ring), and
/// seeing them change would rebuild those crates here and again at the next
/// `cargo test`.
pub fn cargo_command() -> std::process::Command {
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo.current_dir(repo_root());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CFG_", "CARGO_BIN_"]
            .iter()
            .any(|p| name.starts_with(p))
            || matches!(
                name.as_ref(),
                "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            );
        if set_by_cargo {
            cargo.env_remove(name.as_ref());
        }
    }
    cargo
}

/// The `preau` binary of this build (`target/<profile>/preau`), built once per
/// test run: the tests crate cannot name another package's binary, so it asks
/// cargo for it (a no-op when it is fresh).
pub fn preau_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            // target/<profile>/deps/integration-<hash>
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let target_dir = profile_dir.parent().unwrap().to_path_buf();
            let mut cargo = cargo_command();
            cargo
                .args(["build", "--quiet", "-p", "preau-host", "--bin", "preau"])
                .arg("--target-dir")
                .arg(&target_dir);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("cargo build du binaire preau");
            assert!(status.success(), "construction de preau : {status}");
            let binary = profile_dir.join("preau");
            assert!(binary.is_file(), "{} manque", binary.display());
            binary
        })
        .clone()
}

/// The machine a report was measured on: « <CPU model>, <n> cœurs » (benchmarks,
/// RELIABILITY.md).
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "inconnu".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cpu}, {cores} cœurs")
}

/// Replaces the section of `name` in a report (between `<!-- name -->` and
/// `<!-- /name -->`), or appends it.
pub fn write_bench_section(path: &Path, name: &str, section: &str) {
    let (start, end) = (format!("<!-- {name} -->"), format!("<!-- /{name} -->"));
    let current = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{start}\n{section}{end}\n");
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(s), Some(e)) if e > s => {
            let after = &current[e + end.len()..];
            let after = after.strip_prefix('\n').unwrap_or(after);
            format!("{}{block}{after}", &current[..s])
        }
        _ if current.is_empty() => block,
        _ => format!("{}\n\n{block}", current.trim_end_matches('\n')),
    };
    std::fs::write(path, updated).unwrap();
}

/// The sections other benchmarks wrote in a report (`<!-- x-bench -->` …
/// `<!-- /x-bench -->`), to keep when one bench rewrites the rest.
pub fn bench_sections(report: &str) -> String {
    let mut kept = String::new();
    let mut rest = report;
    while let Some(start) = rest.find("<!-- ") {
        let name_end = rest[start..].find(" -->").map(|i| start + i);
        let Some(name_end) = name_end else { break };
        let name = &rest[start + 5..name_end];
        let end_marker = format!("<!-- /{name} -->");
        match rest[name_end..].find(&end_marker) {
            Some(i) if name.ends_with("-bench") => {
                let end = name_end + i + end_marker.len();
                kept.push('\n');
                kept.push_str(&rest[start..end]);
                kept.push('\n');
                rest = &rest[end..];
            }
            _ => rest = &rest[name_end..],
        }
    }
    kept
}
