//! Logging into the host's log, tagged with the plugin's id and establishment.

use crate::bindings::preau::plugin::log::{Level, write};

/// Logs an informational message.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs a warning.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs an error.
pub fn error(message: &str) {
    write(Level::Error, message);
}
