//! The Fluent files are compiled into the crate by a macro, which cargo does
//! not know to watch: rebuild when anything under `locales/` changes.
fn main() {
    println!("cargo:rerun-if-changed=../../locales");
}
