//! Tidy: house rules a reviewer should not have to check by eye. Every
//! Rust module starts with its `//!` doc line, and no `.unwrap()` appears
//! outside test code (clippy's `unwrap_used` is a warning; this makes it a
//! failure).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target" || n == "tests") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("xtask"), &mut files);
    assert!(files.len() > 20, "found only {} source files under {}", files.len(), root.display());
    files
}

#[test]
fn tidy_every_module_has_a_doc_line() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            // Generated files say so in their first line instead.
            !(first.starts_with("//!") || first.starts_with("// @generated") || first.contains("generated"))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a `//!` doc line: {missing:#?}");
}

#[test]
fn tidy_no_unwrap_outside_tests() {
    let mut offenders = Vec::new();
    for p in sources() {
        // `tests.rs` and `tests_*.rs` files are test modules
        // (`#[cfg(test)] mod tests;`, `#[cfg(test)] mod tests_migration;`).
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "tests.rs" || (name.starts_with("tests_") && name.ends_with(".rs")) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        // Test modules sit at the end of a file, after `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (i, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if l.contains(".unwrap()") {
                offenders.push(format!("{}:{}: {}", p.display(), i + 1, l));
            }
        }
    }
    assert!(offenders.is_empty(), "unwrap() outside tests: {offenders:#?}");
}
