//! The smallest useful plugin: one route answering a small page. Benchmarks
//! call it through wasmtime and natively to measure the dispatch overhead.

use preau_sdk::prelude::*;

/// The plugin (public so that benchmarks can run its handler natively).
pub struct Echo;

impl Plugin for Echo {
    fn router() -> Router {
        Router::new().get("/", echo)
    }
}

preau_sdk::export_plugin!(Echo);

/// A small page naming the caller.
pub fn echo(request: &Request, _: &Params) -> Result<Response> {
    let name = request
        .caller()
        .map(|c| c.display_name.as_str())
        .unwrap_or("visiteur");
    Ok(Response::page(
        "echo.html",
        "Écho",
        &serde_json::json!({ "message": format!("Bonjour {name}") }),
    ))
}
