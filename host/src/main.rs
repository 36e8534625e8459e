//! `preau serve [--addr HOST:PORT] [--data DIR] [--demo] [--trusted-proxy IP]…`: reads the command
//! line, binds, and hands over to [`preau_host::serve`].

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

const USAGE: &str =
    "usage : preau serve [--addr HOTE:PORT] [--data DOSSIER] [--demo] [--trusted-proxy IP]…
  --addr   adresse d'écoute (défaut 127.0.0.1:8080)
  --data   dossier de la base de données (défaut ./data/db)
  --demo   crée la région de démonstration (une seule fois)
  --trusted-proxy  proxy inverse dont l'en-tête X-Forwarded-For donne l'adresse du client
           (répétable ; sans cette option, l'en-tête est ignoré)
Les plugins sont lus dans ./plugins, leurs composants dans ./target/wasm32-wasip2/release
(construits par `cargo xtask build-plugins`), le thème dans ./themes/default.";

fn main() -> Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("serve") => {}
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            return Ok(());
        }
        _ => bail!("{USAGE}"),
    }
    let root = std::env::current_dir().context("dossier courant")?;
    let mut config = preau_host::Config::for_checkout(&root);
    let mut addr = "127.0.0.1:8080".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().context("--addr attend HOTE:PORT")?,
            "--data" => {
                config.data_dir = PathBuf::from(args.next().context("--data attend un dossier")?)
            }
            "--demo" => config.demo = true,
            "--trusted-proxy" => {
                let ip = args
                    .next()
                    .context("--trusted-proxy attend une adresse IP")?;
                config.trusted_proxies.push(
                    ip.parse()
                        .with_context(|| format!("adresse IP invalide « {ip} »"))?,
                );
            }
            other => bail!("option inconnue « {other} »\n{USAGE}"),
        }
    }
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("impossible d'écouter sur {addr}"))?;
        println!("Préau : http://{}/", listener.local_addr()?);
        preau_host::serve(listener, config).await
    })
}
