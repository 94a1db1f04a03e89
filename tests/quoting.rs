//! Property test: random values, every byte 0x01-0xff, quotes, backslashes,
//! `$`, backticks, newlines and invalid UTF-8, through the exporter and each
//! real shell, compared byte for byte. 500 values per direction per shell.
//!
//! A failure prints its seed; PYENV_GUIX_SEED=N replays it.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use pyenv_guix::shells::ShellName;
use support::{Rng, Sandbox, UserShell, quote};

const COUNT: usize = 500;

const NASTY: &[u8] = b"'\"\\$`\n\t\r !*?[]{}();&|<>~#%=:@^,.-_+/ \x01\x7f";

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(33);
    let mut v = Vec::new();
    while v.len() < len {
        match rng.below(4) {
            0 | 1 => v.push(NASTY[rng.below(NASTY.len())]),
            2 => v.push(1 + rng.below(255) as u8),
            _ => v.extend(random_char(rng).to_string().as_bytes()),
        }
    }
    v
}

fn random_char(rng: &mut Rng) -> char {
    loop {
        let c = match rng.below(5) {
            0 => rng.below(0x80) as u32,
            1 => 0x80 + rng.below(0x780) as u32,
            // The range fish uses for raw bytes.
            2 => 0xF600 + rng.below(0x300) as u32,
            3 => 0x800 + rng.below(0xF800) as u32,
            _ => 0x10000 + rng.below(0x100000) as u32,
        };
        if let Some(c) = char::from_u32(c).filter(|&c| c != '\0') {
            return c;
        }
    }
}

fn random_text(rng: &mut Rng) -> String {
    let len = rng.below(25);
    (0..len)
        .map(|_| {
            if rng.below(2) == 0 {
                NASTY[rng.below(NASTY.len())] as char
            } else {
                random_char(rng)
            }
        })
        .collect()
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == ' ' {
            out.push(c);
        } else {
            out.push_str(&format!("\\U{:08X}", c as u32));
        }
    }
    out.push('"');
    out
}

fn seed() -> u64 {
    std::env::var("PYENV_GUIX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.as_nanos() as u64 | 1
        })
}

fn round_trip(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let seed = seed();
    eprintln!("{}: PYENV_GUIX_SEED={seed}", sh.name());
    let mut rng = Rng(seed);
    let s = Sandbox::new();

    // Restored values: whatever bytes the user had, the project overrides
    // them and leaving must give them back exactly.
    // A shell whose strings are text is given text (its refusal of other
    // bytes is tested in its own file).
    let any = sh.user().holds_any_bytes();
    let value = |rng: &mut Rng| {
        if any {
            random_bytes(rng)
        } else {
            random_text(rng).into_bytes()
        }
    };
    let before: Vec<Vec<u8>> = (0..COUNT).map(|_| value(&mut rng)).collect();
    // Set values: whatever text a manifest may hold.
    let set: Vec<String> = (0..COUNT).map(|_| random_text(&mut rng)).collect();
    // Path lists: random entries before ours must survive entry by entry.
    let lists: Vec<Vec<u8>> = (0..20)
        .map(|_| {
            let mut v = value(&mut rng);
            v.retain(|&b| b != b':');
            v.extend(b":/x:");
            v.extend(value(&mut rng).into_iter().filter(|&b| b != b':'));
            v
        })
        .collect();

    let mut manifest = String::from("[env]\n");
    for (i, v) in set.iter().enumerate() {
        manifest.push_str(&format!("S{i} = {}\n", toml_string(v)));
    }
    for i in 0..COUNT {
        manifest.push_str(&format!("R{i} = \"ours\"\n"));
    }
    manifest.push_str("\n[path]\n");
    for i in 0..lists.len() {
        manifest.push_str(&format!("L{i} = [\"in\"]\n"));
    }
    s.write("p/.pyguix.toml", &manifest);
    s.allow("p");

    let mut env = s.env();
    for (i, v) in before.iter().enumerate() {
        env.push((format!("R{i}").into(), OsString::from_vec(v.clone())));
    }
    for (i, v) in lists.iter().enumerate() {
        env.push((format!("L{i}").into(), OsString::from_vec(v.clone())));
    }
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump in".into(),
        "cd /".into(),
        "dump out".into(),
    ];
    s.interactive(sh, &s.path("home"), &env, &lines);

    let inside = s.dump("in");
    let outside = s.dump("out");
    let get =
        |d: &support::Dump, k: String| d.0.get(&OsString::from(k)).map(|v| v.as_bytes().to_vec());
    let p_in = format!("{}/in", s.path("p").display());
    for i in 0..COUNT {
        assert_eq!(
            get(&inside, format!("S{i}")),
            Some(set[i].as_bytes().to_vec()),
            "seed {seed}, S{i} set {:?}",
            set[i]
        );
        assert_eq!(
            get(&inside, format!("R{i}")),
            Some(b"ours".to_vec()),
            "seed {seed}, R{i}"
        );
        assert_eq!(
            get(&outside, format!("S{i}")),
            None,
            "seed {seed}, S{i} unset"
        );
        assert_eq!(
            get(&outside, format!("R{i}")),
            Some(before[i].clone()),
            "seed {seed}, R{i} restored {:?}",
            String::from_utf8_lossy(&before[i])
        );
    }
    for (i, v) in lists.iter().enumerate() {
        let mut want_in = p_in.as_bytes().to_vec();
        want_in.push(b':');
        want_in.extend(v);
        assert_eq!(
            get(&inside, format!("L{i}")),
            Some(want_in),
            "seed {seed}, L{i} inside"
        );
        assert_eq!(
            get(&outside, format!("L{i}")),
            Some(v.clone()),
            "seed {seed}, L{i} restored"
        );
    }
}

per_shell!(round_trip);
