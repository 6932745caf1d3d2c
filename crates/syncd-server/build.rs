//! The console's pages (`console/www/`) and the JavaScript SDK (`clients/js/src/`) are embedded
//! by `rust-embed`, which reads each file with `include_bytes!`: a changed file rebuilds the
//! crate, but an added or removed one would not. Watching both folders makes Cargo notice those
//! too (a folder that does not exist yet is checked again on every build).

fn main() {
    println!("cargo:rerun-if-changed=../../console/www");
    println!("cargo:rerun-if-changed=../../clients/js/src");
    println!("cargo:rerun-if-changed=build.rs");
}
