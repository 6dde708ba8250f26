//! `sqlx::migrate!` embeds the migrations at compile time; a migration
//! added without any Rust change must still rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
