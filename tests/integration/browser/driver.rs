//! Headless Chromium driven through chromedriver (WebDriver), for the browser
//! tests: one chromedriver per test on a free port, a throw-away profile, and
//! everything killed on drop.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`chromedriver` on the
//! PATH). Without them the tests fail with how to install them, unless
//! `PREAU_SKIP_BROWSER=1` is set.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use preau_tests::{DEMO_PASSWORD, repo_root};
use serde_json::{Value, json};

/// Set to `1` to skip the browser tests on a machine without Chromium.
pub const SKIP_VARIABLE: &str = "PREAU_SKIP_BROWSER";

const BROWSERS: &[&str] = &["chromium", "chromium-browser", "google-chrome"];
const HOW_TO_INSTALL: &str = "les tests navigateur ont besoin de Chromium et de chromedriver : \
     `sudo apt-get install chromium chromium-driver` (Debian, Ubuntu), \
     ou PREAU_SKIP_BROWSER=1 pour les sauter";

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium session, with its chromedriver.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    /// The portal's base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` when the browser is
    /// missing and `PREAU_SKIP_BROWSER=1` says to skip. Panics with how to
    /// install them otherwise.
    pub async fn start(base: &str) -> Option<Browser> {
        let skip = std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1");
        let chromedriver = on_path("chromedriver");
        let chromium = BROWSERS.iter().find_map(|b| on_path(b));
        let (Some(chromedriver), Some(chromium)) = (chromedriver, chromium) else {
            if skip {
                eprintln!("test navigateur sauté ({SKIP_VARIABLE}=1)");
                return None;
            }
            panic!("{HOW_TO_INSTALL}");
        };
        match Browser::launch(base, &chromedriver, &chromium).await {
            Ok(browser) => Some(browser),
            Err(e) => panic!("démarrage de Chromium impossible : {e:#}\n({HOW_TO_INSTALL})"),
        }
    }

    async fn launch(base: &str, chromedriver: &Path, chromium: &Path) -> Result<Browser> {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let mut command = Command::new(chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that drop kills Chromium with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .spawn()
            .with_context(|| format!("lancement de {}", chromedriver.display()))?;
        let profile = tempfile::tempdir()?;
        let mut browser = Browser {
            client: connect(port, chromium, profile.path())
                .await
                .inspect_err(|_| {
                    kill_group(driver.id());
                })?,
            base: base.to_string(),
            driver,
            _profile: profile,
        };
        browser.driver_alive()?;
        Ok(browser)
    }

    fn driver_alive(&mut self) -> Result<()> {
        if let Some(status) = self.driver.try_wait()? {
            bail!("chromedriver s'est arrêté : {status}");
        }
        Ok(())
    }

    /// Ends the WebDriver session (closes Chromium); drop kills what remains.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens `path` of the portal.
    pub async fn goto(&self, path: &str) -> Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("ouverture de {path}"))
    }

    /// Opens an absolute URL.
    pub async fn goto_url(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("ouverture de {url}"))
    }

    /// Path (and query) of the current page.
    pub async fn path(&self) -> Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        })
    }

    /// Runs `script` in the page; its `return` value.
    pub async fn js(&self, script: &str) -> Result<Value> {
        self.client
            .execute(script, vec![])
            .await
            .with_context(|| format!("script {script}"))
    }

    /// HTTP status of the current document (Navigation Timing).
    pub async fn status(&self) -> Result<u64> {
        let status = self
            .js("return performance.getEntriesByType('navigation')[0].responseStatus;")
            .await?;
        status
            .as_u64()
            .with_context(|| format!("statut HTTP illisible : {status}"))
    }

    /// Text of the elements matching `selector`, trimmed.
    pub async fn texts(&self, selector: &str) -> Result<Vec<String>> {
        let value = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent.trim());",
                vec![json!(selector)],
            )
            .await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Text of the whole page.
    pub async fn body_text(&self) -> Result<String> {
        Ok(self
            .js("return document.body.innerText;")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Waits until the current path satisfies `ok` (10 s at most).
    pub async fn wait_for_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let path = self.path().await?;
            if ok(&path) {
                // And the document is loaded.
                let ready = self.js("return document.readyState;").await?;
                if ready == "complete" {
                    return Ok(path);
                }
            }
            if Instant::now() > deadline {
                bail!("{what} : toujours sur {path}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the form with the mouse (click on the button).
    pub async fn sign_in(&self, login: &str) -> Result<()> {
        self.goto("/login").await?;
        let form = self
            .client
            .form(Locator::Css("form[action='/login']"))
            .await?;
        form.set_by_name("login", login).await?;
        form.set_by_name("password", DEMO_PASSWORD).await?;
        self.client
            .find(Locator::Css("form[action='/login'] button[type=submit]"))
            .await?
            .click()
            .await?;
        self.wait_for_path(&format!("connexion de {login}"), |p| {
            !p.starts_with("/login")
        })
        .await?;
        Ok(())
    }

    /// Signs out with the topbar's button.
    pub async fn sign_out(&self) -> Result<()> {
        self.client
            .find(Locator::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self
            .client
            .find_all(Locator::Css("form[action='/logout']"))
            .await?
            .is_empty()
        {
            if Instant::now() > deadline {
                bail!("toujours connecté après « Se déconnecter »");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Presses keys on whatever has the focus (no element targeted, no click).
    pub async fn press(&self, keys: &str) -> Result<()> {
        let mut actions = KeyActions::new("clavier".into());
        for c in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// Presses Shift+Tab.
    pub async fn shift_tab(&self) -> Result<()> {
        let shift: char = Key::Shift.into();
        let tab: char = Key::Tab.into();
        let actions = KeyActions::new("clavier".into())
            .then(KeyAction::Down { value: shift })
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab })
            .then(KeyAction::Up { value: shift });
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// The text of the open alert, or `None` when there is none.
    pub async fn alert_text(&self) -> Result<Option<String>> {
        match self.client.get_alert_text().await {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.is_no_such_alert() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The text of the alert that opens within `within`, or `None`. A page's
    /// inline script may raise it after navigation has returned (a loaded
    /// machine), so a positive check waits; a negative one uses `alert_text`.
    pub async fn wait_for_alert(&self, within: std::time::Duration) -> Result<Option<String>> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(text) = self.alert_text().await? {
                return Ok(Some(text));
            }
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Resizes the window so that the page's viewport is `width`×`height`
    /// (the window's own frame, about 140 px high in headless Chromium, added).
    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.client.set_window_size(width, height).await?;
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];")
            .await?;
        let [inner_width, inner_height]: [u32; 2] = serde_json::from_value(inner)?;
        if (inner_width, inner_height) != (width, height) {
            self.client
                .set_window_size(
                    width + width.saturating_sub(inner_width),
                    height + height.saturating_sub(inner_height),
                )
                .await?;
        }
        Ok(())
    }

    /// Presses Tab until the focused element matches `selector` (at most
    /// `max` times): the keyboard's way to a control, no click, no script focus.
    pub async fn tab_to(&self, selector: &str, max: usize) -> Result<()> {
        let tab: char = Key::Tab.into();
        for _ in 0..max {
            self.press(&tab.to_string()).await?;
            let here = self
                .client
                .execute(
                    "return document.activeElement && document.activeElement.matches(arguments[0]);",
                    vec![json!(selector)],
                )
                .await?;
            if here == Value::Bool(true) {
                return Ok(());
            }
        }
        bail!("{selector} : pas atteint en {max} appuis sur Tab")
    }

    /// Runs axe-core on the current page against WCAG 2.0/2.1 A and AA; one
    /// line per violation (rule, help, the first offending elements).
    pub async fn axe(&self) -> Result<Vec<String>> {
        let loaded = self.js("return typeof window.axe;").await?;
        if loaded != "object" {
            // Injected through WebDriver, which the page's CSP does not apply to.
            self.js(axe_source()?).await?;
        }
        let found = self
            .js(
                "return axe.run(document, {runOnly: {type: 'tag', \
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}) \
                 .then(r => r.violations.map(v => v.id + ' (' + v.impact + ') : ' + v.help + ' — ' \
                   + v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' | ')));",
            )
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    /// Saves what the window shows (the first screen) to
    /// `target/e2e-screenshots/<name>.png`.
    pub async fn screenshot_screen(&self, name: &str) -> Result<PathBuf> {
        let dir = repo_root().join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// Saves a full-page screenshot to `target/e2e-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let dir = repo_root().join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir)?;
        let (width, height) = self.client.get_window_size().await?;
        let full = self
            .js("return document.documentElement.scrollHeight;")
            .await?
            .as_u64()
            .unwrap_or(height)
            .clamp(height, 6000);
        self.client
            .set_window_size(width as u32, full as u32)
            .await?;
        let png = self.client.screenshot().await;
        self.client
            .set_window_size(width as u32, height as u32)
            .await?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png?)?;
        Ok(path)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(self.driver.id());
        let _ = self.driver.wait();
    }
}

/// Kills chromedriver's process group (chromedriver and the Chromium it started).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

/// Waits for chromedriver on `port`, then opens a headless session.
async fn connect(port: u16, chromium: &Path, profile: &Path) -> Result<Client> {
    let url = format!("http://127.0.0.1:{port}");
    let status = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !status
        .get(format!("{url}/status"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            bail!("chromedriver ne répond pas sur le port {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let capabilities = json!({
        "browserName": "chrome",
        // An alert stays open, so that the test can see it.
        "unhandledPromptBehavior": "ignore",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--lang=fr-FR",
                "--no-first-run",
                "--no-default-browser-check",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&url)
        .await
        .context("session WebDriver")
}

/// axe-core's script, installed by `.ci/run` (`npm ci` in `tests/browser-tools`).
fn axe_source() -> Result<&'static str> {
    static SOURCE: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    let path = repo_root().join("tests/browser-tools/node_modules/axe-core/axe.min.js");
    SOURCE
        .get_or_init(|| {
            std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "{} illisible ({e}) : `npm ci --prefix tests/browser-tools` l'installe",
                    path.display()
                )
            })
        })
        .as_deref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}
