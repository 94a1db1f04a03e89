//! Which Guix package provides a library that binary wheels expect from
//! the system. The manylinux policies (PEP 513, 599, 600) let a wheel
//! leave these out; other common ones (libgomp, libz) are left out by
//! wheels in practice. Names checked with `guix package -A` and the
//! package definitions of Guix 3652bbe (2024-08).
//!
//! libstdc++, libgcc_s and libgomp are `gcc:lib` in Guix's own recipes,
//! but `gcc` cannot be named from the command line or a manifest (it is
//! hidden; `gcc` is a deprecated name for `gcc-toolchain`, whose output
//! is a union that holds `gcc:lib`'s libraries).
//! glibc's own libraries (libc, libm, libdl, libpthread, librt, libutil,
//! libresolv) are not here: the loader finds them in its own directory.

/// `(library file-name prefix, Guix package)`: a soname matches an entry
/// when it is the prefix followed by `.so`.
const TABLE: &[(&str, &str)] = &[
    ("libstdc++", "gcc-toolchain"),
    ("libgcc_s", "gcc-toolchain"),
    ("libgomp", "gcc-toolchain"),
    ("libatomic", "gcc-toolchain"),
    ("libquadmath", "gcc-toolchain"),
    ("libgfortran", "gfortran-toolchain"),
    ("libz", "zlib"),
    ("libbz2", "bzip2"),
    ("liblzma", "xz"),
    ("libexpat", "expat"),
    ("libffi", "libffi"),
    ("libssl", "openssl"),
    ("libcrypto", "openssl"),
    ("libcrypt", "libxcrypt"),
    ("libnsl", "libnsl"),
    ("libGL", "mesa"),
    ("libEGL", "mesa"),
    ("libgbm", "mesa"),
    ("libX11", "libx11"),
    ("libX11-xcb", "libx11"),
    ("libXext", "libxext"),
    ("libXrender", "libxrender"),
    ("libICE", "libice"),
    ("libSM", "libsm"),
    ("libxcb", "libxcb"),
    ("libXau", "libxau"),
    ("libXdmcp", "libxdmcp"),
    ("libglib-2.0", "glib"),
    ("libgobject-2.0", "glib"),
    ("libgthread-2.0", "glib"),
    ("libgmodule-2.0", "glib"),
    ("libgio-2.0", "glib"),
];

/// The Guix package that provides the library `soname`, if known.
pub fn package_for(soname: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(stem, _)| {
            soname
                .strip_prefix(stem)
                .is_some_and(|rest| rest == ".so" || rest.starts_with(".so."))
        })
        .map(|(_, package)| *package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sonames_map_to_packages() {
        assert_eq!(package_for("libstdc++.so.6"), Some("gcc-toolchain"));
        assert_eq!(package_for("libgomp.so.1"), Some("gcc-toolchain"));
        assert_eq!(package_for("libz.so.1"), Some("zlib"));
        assert_eq!(package_for("libGL.so.1"), Some("mesa"));
        assert_eq!(package_for("libX11.so.6"), Some("libx11"));
        assert_eq!(package_for("libX11-xcb.so.1"), Some("libx11"));
        assert_eq!(package_for("libglib-2.0.so.0"), Some("glib"));
    }

    #[test]
    fn a_longer_name_is_another_library() {
        // libzstd is not zlib, libXext-foo not libXext.
        assert_eq!(package_for("libzstd.so.1"), None);
        assert_eq!(package_for("libXextra.so.1"), None);
        assert_eq!(package_for("libpgxmissing.so.1"), None);
    }
}
