//! The host's pure modules, compiled here as they are in `preau-host`.
#![allow(dead_code)]

#[path = "../../host/src/config_form.rs"]
pub mod config_form;
#[path = "../../host/src/forms.rs"]
pub mod forms;
#[path = "../../host/src/html/mod.rs"]
pub mod html;
#[path = "../../tests/html_safety.rs"]
pub mod html_safety;
#[path = "../../host/src/manifest.rs"]
pub mod manifest;
