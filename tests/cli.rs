//! CLI cases under tests/cmd: each command's help, ordinary output and errors.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .env("PYENV_GUIX_DATA_DIR", "trust-data")
        .env("PYENV_GUIX_CACHE_DIR", "cache")
        .env("PYENV_GUIX_LOG", "info")
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.md")
        .case("tests/cmd/*.toml");
}
