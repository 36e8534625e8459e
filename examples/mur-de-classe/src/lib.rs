//! Mur de la classe: a wall of short messages. Readers see them; contributors write
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
            "Mur de la classe",
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
        "Mur de la classe",
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
