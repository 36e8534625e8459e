//! Integration tests: the real host on a free port, a temporary sled database,
//! the real plugins compiled to wasm32-wasip2 (`cargo xtask test` builds them).

mod admin;
mod architecture;
mod auth;
mod authorization;
mod backups;
mod banner;
mod blog;
mod browser;
mod confirmations;
mod contract;
mod directory;
mod durability;
mod formulaires;
mod forum;
mod fragment_cache;
mod groups;
mod hostile_input;
mod https;
mod isolation;
mod links;
mod operator;
mod plugin_kit;
mod portal;
mod quotas;
mod reload;
mod reservations;
mod rss;
mod rubriques;
mod sandbox;
mod services;
mod shutdown;
mod slow_clients;
mod storage;
mod uploads;
mod user_creation;
