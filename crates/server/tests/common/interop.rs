//! The tools of interop tests (a Python virtualenv, npm packages) that
//! `scripts/test` prepares and names in the environment.

/// A setting that `scripts/test` makes for interop tests, or `None` (the
/// test is skipped with a note) when not run through scripts/test — unless
/// `MOORING_REQUIRE_INTEROP=1`, which scripts/test sets, makes that a
/// failure that says `required`.
fn interop_env(var: &str, required: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("MOORING_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "{required}"
            );
            eprintln!("skipped: {var} not set (scripts/test sets it)");
            None
        }
    }
}

/// The Python of the throwaway virtualenv `scripts/test` prepares (with the
/// published stellar-sdk), or `None` (skipped with a note) outside
/// scripts/test — unless `MOORING_REQUIRE_INTEROP=1`.
pub fn python() -> Option<String> {
    interop_env(
        "MOORING_TEST_PYTHON",
        "MOORING_TEST_PYTHON is not set but is required",
    )
}

/// The folder with the npm packages installed, or `None` (skipped with a
/// note) outside scripts/test — unless `MOORING_REQUIRE_INTEROP=1`.
pub fn node_dir() -> Option<std::path::PathBuf> {
    interop_env(
        "MOORING_TEST_NODE_DIR",
        "MOORING_TEST_NODE_DIR is not set but interop is required",
    )
    .map(Into::into)
}
