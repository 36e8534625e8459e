//! A plugin written against contract 0.5.0 with wit-bindgen alone, from the
//! WIT frozen in `wit/` when 0.5.1 was published. Its one page answers JSON
//! built from three imports (config, directory, log), so that a test sees the
//! imports resolve as well as the exports.

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
});

use exports_impl::Ancien;

mod exports_impl {
    use super::preau::plugin::types::{
        Event, Fragment, Invocation, NewsItem, Request, Response, Route, ScopeDescription,
    };
    use super::preau::plugin::{config, directory, log};

    pub struct Ancien;

    impl super::Guest for Ancien {
        fn plugin_id() -> String {
            env!("CARGO_PKG_NAME").to_owned()
        }

        fn handle(request: Request) -> Response {
            log::write(log::Level::Debug, "ancien : une page");
            let groups = directory::groups().len();
            let config = config::get();
            let caller = request
                .invocation
                .caller
                .map(|c| c.login)
                .unwrap_or_default();
            Response::Json(format!(
                "{{\"contrat\":\"0.5.0\",\"groupes\":{groups},\"appelant\":\"{caller}\",\"configuration\":{config}}}"
            ))
        }

        fn routes() -> Vec<Route> {
            Vec::new()
        }

        fn render_block(
            _name: String,
            _params: Vec<(String, String)>,
            _invocation: Invocation,
        ) -> Result<Option<Fragment>, String> {
            Ok(None)
        }

        fn news(
            _limit: u32,
            _before: Option<i64>,
            _invocation: Invocation,
        ) -> Result<Vec<NewsItem>, String> {
            Ok(Vec::new())
        }

        fn on_event(_event: Event) -> Result<(), String> {
            Ok(())
        }

        fn describe_scope(_scope: String, _invocation: Invocation) -> Option<ScopeDescription> {
            None
        }
    }
}

export!(Ancien);
