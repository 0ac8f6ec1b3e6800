// `sqlx::migrate!` reads ../migrations at compile time; without this, adding or editing a migration would not rebuild
// the crate and the binary would ship the old set.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
