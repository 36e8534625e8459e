//! A hostile plugin: every route misbehaves in its own way, except `/ok`.
//! The host must contain each failure to the request that caused it.

use preau_sdk::prelude::*;

/// The plugin (public so that benchmarks can run its handler natively).
pub struct Hostile;

impl Plugin for Hostile {
    fn router() -> Router {
        Router::new()
            .get("/ok", ok)
            .get("/loop", infinite_loop)
            .get("/memory", memory_bomb)
            .get("/panic", panic)
            .get("/huge", huge_output)
            .get("/recursion", recursion)
            .get("/sandbox", probe_sandbox)
            .get("/store/{key}", read_key)
            .post("/store/{key}", write_key)
            .get("/piege", trap)
            .post("/fill", fill)
            .post("/fill-batch", fill_batch)
            .get("/fichier/{id}", serve_any_file)
            .post("/fichiers", reach_files)
            .get("/ecrire", write_during_get)
    }

    fn render_block(name: &str, _: &Params, _: &Invocation) -> Result<Option<Fragment>> {
        if name == "piege" {
            return Fragment::new(
                "piege-bloc.html",
                "Bloc piégé",
                &serde_json::json!({ "link": "javascript:vol()" }),
            )
            .map(Some);
        }
        // Tries to write while the host renders it (read-only), then panics.
        let _ = preau_sdk::bindings::preau::plugin::store::put("bloc/ecrit", b"bloc");
        panic!("un bloc qui panique");
    }
}

preau_sdk::export_plugin!(Hostile);

/// The one well-behaved handler: a small page.
pub fn ok(_: &Request, _: &Params) -> Result<Response> {
    Ok(Response::page(
        "ok.html",
        "OK",
        &serde_json::json!({ "message": "tout va bien" }),
    ))
}

fn infinite_loop(_: &Request, _: &Params) -> Result<Response> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn memory_bomb(_: &Request, _: &Params) -> Result<Response> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![7u8; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

fn panic(_: &Request, _: &Params) -> Result<Response> {
    panic!("panique volontaire");
}

fn huge_output(_: &Request, _: &Params) -> Result<Response> {
    // 6 MiB: within the 32 MiB memory cap, over the host's 4 MiB output cap.
    let blob = "x".repeat(6 << 20);
    Ok(Response::json(&serde_json::json!({ "blob": blob })))
}

#[allow(unconditional_recursion, clippy::only_used_in_recursion)]
fn deep(n: u64) -> u64 {
    std::hint::black_box(deep(n + 1)) + 1
}

fn recursion(_: &Request, _: &Params) -> Result<Response> {
    let depth = deep(0);
    Ok(Response::json(&depth))
}

/// Tries what WASI must refuse: files, environment, sockets.
fn probe_sandbox(_: &Request, _: &Params) -> Result<Response> {
    let file = std::fs::read_to_string("/etc/passwd").is_ok();
    let dir = std::fs::read_dir("/").is_ok();
    let env = std::env::vars().count();
    let socket = std::net::TcpStream::connect("127.0.0.1:80").is_ok();
    Ok(Response::json(&serde_json::json!({
        "file": file, "dir": dir, "env_vars": env, "socket": socket,
    })))
}

/// Reads a raw key of its own namespace, whatever it looks like (`../`, other UAIs…).
fn read_key(request: &Request, params: &Params) -> Result<Response> {
    let key = request.query("key").unwrap_or(params.get("key"));
    let value = preau_sdk::bindings::preau::plugin::store::get(key);
    let listed = preau_sdk::bindings::preau::plugin::store::scan("", None, 1000, false);
    Ok(Response::json(&serde_json::json!({
        "found": value.is_some(),
        "visible_keys": listed.iter().map(|e| e.key.clone()).collect::<Vec<_>>(),
    })))
}

fn write_key(request: &Request, params: &Params) -> Result<Response> {
    let key = request.query("key").unwrap_or(params.get("key"));
    preau_sdk::bindings::preau::plugin::store::put(key, b"hostile").map_err(Error::Internal)?;
    Ok(Response::json(&"ok"))
}

/// A page whose template tries to act on the visitor without a script: a
/// `meta refresh` off the site, a `base`, an event attribute, a
/// `javascript:` link given as a value, a form posting elsewhere.
fn trap(_: &Request, _: &Params) -> Result<Response> {
    Ok(Response::page(
        "piege.html",
        "Piège",
        &serde_json::json!({ "link": "javascript:vol()", "message": "piège tendu" }),
    ))
}

/// Writes 1 MiB values until the store refuses one (the quota must stop it).
fn fill(_: &Request, _: &Params) -> Result<Response> {
    let value = vec![0x5au8; 1 << 20];
    let mut written = 0;
    loop {
        let key = format!("gros/{written:05}");
        match preau_sdk::bindings::preau::plugin::store::put(&key, &value) {
            Ok(()) => written += 1,
            Err(error) => {
                return Ok(Response::json(&serde_json::json!({
                    "written": written,
                    "error": error,
                })));
            }
        }
    }
}

/// One batch of 3 × 1 MiB plus a small marker: all of it or nothing.
fn fill_batch(_: &Request, _: &Params) -> Result<Response> {
    use preau_sdk::bindings::preau::plugin::store::{Entry, Op, batch};
    let mut ops: Vec<Op> = (0..3)
        .map(|i| {
            Op::Put(Entry {
                key: format!("lot/{i}"),
                value: vec![0x33u8; 1 << 20],
            })
        })
        .collect();
    ops.push(Op::Put(Entry {
        key: "lot/marque".into(),
        value: b"x".to_vec(),
    }));
    let outcome = batch(&ops);
    Ok(Response::json(
        &serde_json::json!({ "ok": outcome.is_ok() }),
    ))
}

/// Sends whatever file id it is given: the host serves only this instance's kept files.
fn serve_any_file(_: &Request, params: &Params) -> Result<Response> {
    Ok(Response::file(params.get("id"), true))
}

/// Tries every `files` call on the id in field `id` (another instance's file,
/// one not uploaded with this request), keeps nothing it was sent, and says
/// what the host answered.
fn reach_files(request: &Request, _: &Params) -> Result<Response> {
    use preau_sdk::files;
    let id = request.form().get("id").unwrap_or_default().to_string();
    let sent: Vec<String> = request.files("f").iter().map(|f| f.id.clone()).collect();
    Ok(Response::json(&serde_json::json!({
        "keep": files::keep(&id).is_ok(),
        "info": files::info(&id).is_some(),
        "read": files::read(&id, 0, 16).is_some(),
        "remove": files::remove(&id).is_ok(),
        "sent": sent,
        "usage": files::usage(),
    })))
}

/// Tries every kind of write while answering a GET (the host refuses each one):
/// the error each returned, or "écrit".
fn write_during_get(_: &Request, _: &Params) -> Result<Response> {
    use preau_sdk::bindings::preau::plugin::region_store;
    use preau_sdk::bindings::preau::plugin::store::{self, Entry, Op};
    let said = |outcome: std::result::Result<(), String>| match outcome {
        Ok(()) => "écrit".to_string(),
        Err(error) => error,
    };
    let put = Op::Put(Entry {
        key: "lecture/lot".into(),
        value: b"x".to_vec(),
    });
    Ok(Response::json(&serde_json::json!({
        "put": said(store::put("lecture/put", b"x")),
        "delete": said(store::delete("lecture/put")),
        "batch": said(store::batch(std::slice::from_ref(&put))),
        "batch_if": said(store::batch_if(&[("lecture/si".to_string(), None)], &[put]).map(|_| ())),
        "region_put": said(region_store::put("lecture/region", b"x")),
        "region_delete": said(region_store::delete("lecture/region")),
    })))
}
