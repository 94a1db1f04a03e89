//! CLI cases under tests/cmd: each command's help, ordinary output and errors.

#[test]
fn cli_cases() {
    // The data and cache directories must be absolute, and the user's own.
    let dirs = tempfile::tempdir().unwrap();
    let place = |name: &str| dirs.path().join(name).display().to_string();
    trycmd::TestCases::new()
        .env("PYENV_GUIX_DATA_DIR", place("trust-data"))
        .env("PYENV_GUIX_CACHE_DIR", place("cache"))
        .env("PYENV_GUIX_LOG", "info")
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.md")
        .case("tests/cmd/*.toml");
}
