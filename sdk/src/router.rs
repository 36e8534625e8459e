//! Path routing below the plugin's mount.

use crate::http::{Error, Method, Request, Response, Result};
use crate::store::Id;

/// Named text parameters: the path parameters a route captured with `{name}`
/// segments, or the parameters of a block (`render_block`: an embedded object's
/// pattern parameters, `page`, `service`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parameters from (name, value) pairs (the first of two equal names wins).
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params(pairs)
    }

    /// A parameter's value (empty string if there is no such parameter).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The parameter `name` as an [`Id`] (the 16 hexadecimal digits of URLs); a
    /// value that is not one is a page that does not exist: [`Error::NotFound`].
    pub fn id(&self, name: &str) -> Result<Id> {
        Id::parse(self.get(name)).ok_or(Error::NotFound)
    }

    /// Every (name, value) pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A request handler.
pub type Handler = fn(&Request, &Params) -> Result<Response>;

/// Matches `method` + path patterns such as `/`, `/new`, `/{id}/edit`.
/// Unknown paths answer 404; a known path with another method also 404.
#[derive(Default)]
pub struct Router {
    routes: Vec<(Method, Vec<String>, Handler)>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a GET route.
    pub fn get(self, pattern: &str, handler: Handler) -> Self {
        self.route(Method::Get, pattern, handler)
    }

    /// Adds a POST route.
    pub fn post(self, pattern: &str, handler: Handler) -> Self {
        self.route(Method::Post, pattern, handler)
    }

    fn route(mut self, method: Method, pattern: &str, handler: Handler) -> Self {
        self.routes.push((method, segments(pattern), handler));
        self
    }

    /// The handler and parameters for a method and path, if a route matches.
    pub fn find(&self, method: Method, path: &str) -> Option<(Handler, Params)> {
        let path = segments(path);
        self.routes.iter().find_map(|(m, pattern, handler)| {
            if *m != method || pattern.len() != path.len() {
                return None;
            }
            let mut params = Vec::new();
            for (p, actual) in pattern.iter().zip(&path) {
                match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => params.push((name.to_string(), actual.clone())),
                    None if p == actual => {}
                    None => return None,
                }
            }
            Some((*handler, Params(params)))
        })
    }

    /// Every route, in order: method and pattern (`/{id}/edit`).
    pub fn table(&self) -> Vec<(Method, String)> {
        self.routes
            .iter()
            .map(|(method, segments, _)| (*method, format!("/{}", segments.join("/"))))
            .collect()
    }

    /// Dispatches the request; errors become their responses.
    pub fn handle(&self, request: &Request) -> Response {
        match self.find(request.method(), request.path()) {
            Some((handler, params)) => handler(request, &params).into(),
            None => Error::NotFound.into(),
        }
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &Request, _: &Params) -> Result<Response> {
        Ok(Response::redirect("/"))
    }

    #[test]
    fn matches_literals_and_params() {
        let router = Router::new()
            .get("/", ok)
            .get("/{id}/edit", ok)
            .post("/new", ok);
        assert!(router.find(Method::Get, "/").is_some());
        assert!(router.find(Method::Get, "").is_some());
        let (_, params) = router.find(Method::Get, "/0000000000000001/edit").unwrap();
        assert_eq!(params.get("id"), "0000000000000001");
        assert!(router.find(Method::Get, "/new").is_none());
        assert!(router.find(Method::Post, "/new").is_some());
        assert!(router.find(Method::Get, "/a/b/c").is_none());
        assert_eq!(
            router.table(),
            vec![
                (Method::Get, "/".to_string()),
                (Method::Get, "/{id}/edit".to_string()),
                (Method::Post, "/new".to_string())
            ]
        );
    }
}
