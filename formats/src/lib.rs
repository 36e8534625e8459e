//! # The files French school software exports, read
//!
//! Préau's imports start from files other software writes (FORMATS.md in the
//! shared notes says what is known of each). This crate turns their bytes into
//! plain Rust values, or into a list of [`Problem`]s that say, in French, on
//! which line and in which element the file is wrong. Pure code without I/O or
//! storage: the host's provisioning decides what the values become (accounts
//! matched, sessions generated), and a fuzz target can run it alone.
//!
//! - [`edt`]: the timetable export of EDT (Index Education) « vers les socles
//!   ENT », decrypted payload; and [`edt::sample`], invented timetables of a
//!   collège or a lycée written in that format (tests, benchmarks, the demo).
//! - [`sts`]: the STS Web export for timetables (`sts_emp_<UAI>_<année>.xml`):
//!   teachers with their disciplines, the services of each class and group.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod edt;
mod problem;
pub mod sts;
mod tree;

pub use problem::{Problem, Problems};
