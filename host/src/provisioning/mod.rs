//! Provisioning: people and structures that come from files other software
//! exports (timetables from EDT, UDT and STS; the academic directory, SIECLE,
//! Pronote identifiers), matched to the directory before anything is written.
//!
//! - [`matching`]: the one matching engine, shared by every import;
//! - [`candidates`]: the accounts of the directory it weighs.
//!
//! The files themselves are read by `preau-formats` (pure parsers); this
//! module decides what they mean for the region's accounts.

pub mod candidates;
pub mod matching;
