//! Just enough reading of Scheme to handle what `guix import` prints and
//! what `promote` writes: top-level forms, the name a `define-public`
//! defines, the symbols a form uses. Strings, character literals and
//! comments are skipped, so a parenthesis in a description is not one.

/// The top-level parenthesised forms of `text`, as written.
pub fn forms(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            ';' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '#' if chars.peek().is_some_and(|(_, c)| *c == '\\') => {
                chars.next();
                chars.next();
            }
            '(' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(&text[start..=i]);
                }
            }
            _ => {}
        }
    }
    out
}

/// The symbols of `form` outside strings and comments, in order.
pub fn symbols(form: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = form.as_bytes();
    let mut i = 0;
    let delimiter = |b: u8| {
        b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b'"' | b';' | b'\'' | b'`' | b',')
    };
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b if delimiter(b) => i += 1,
            _ => {
                let start = i;
                while i < bytes.len() && !delimiter(bytes[i]) {
                    i += 1;
                }
                out.push(&form[start..i]);
            }
        }
    }
    out
}

/// The variable a `(define-public NAME …)` form defines.
pub fn defined(form: &str) -> Option<&str> {
    let s = symbols(form);
    (s.first() == Some(&"define-public")).then(|| s.get(1).copied())?
}

/// A form read as a tree: lists, strings and other atoms.
#[derive(Debug)]
enum Node<'a> {
    List(Vec<Node<'a>>),
    Str,
    Atom(&'a str),
}

fn read(form: &str) -> Vec<Node<'_>> {
    fn list<'a>(s: &'a str, i: &mut usize) -> Vec<Node<'a>> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        while *i < b.len() {
            match b[*i] {
                b'(' => {
                    *i += 1;
                    out.push(Node::List(list(s, i)));
                }
                b')' => {
                    *i += 1;
                    return out;
                }
                b'"' => {
                    *i += 1;
                    while *i < b.len() && b[*i] != b'"' {
                        *i += if b[*i] == b'\\' { 2 } else { 1 };
                    }
                    *i += 1;
                    out.push(Node::Str);
                }
                b';' => {
                    while *i < b.len() && b[*i] != b'\n' {
                        *i += 1;
                    }
                }
                b'#' if b.get(*i + 1) == Some(&b'\\') => *i += 3,
                c if c.is_ascii_whitespace() || matches!(c, b'\'' | b'`' | b',') => *i += 1,
                _ => {
                    let start = *i;
                    while *i < b.len()
                        && !b[*i].is_ascii_whitespace()
                        && !matches!(b[*i], b'(' | b')' | b'"' | b';')
                    {
                        *i += 1;
                    }
                    out.push(Node::Atom(&s[start..*i]));
                }
            }
        }
        out
    }
    let mut i = 0;
    list(form, &mut i)
}

/// The packages a definition takes as inputs: the symbols of its
/// `inputs`, `propagated-inputs` and `native-inputs` fields.
pub fn inputs(form: &str) -> Vec<&str> {
    fn atoms<'a>(nodes: &[Node<'a>], out: &mut Vec<&'a str>) {
        for n in nodes {
            match n {
                Node::Atom(a) if !matches!(*a, "list" | "quote" | "modify-inputs") => out.push(a),
                Node::List(l) => atoms(l, out),
                _ => {}
            }
        }
    }
    fn walk<'a>(nodes: &[Node<'a>], out: &mut Vec<&'a str>) {
        for n in nodes {
            if let Node::List(l) = n {
                match l.first() {
                    Some(Node::Atom("inputs" | "propagated-inputs" | "native-inputs")) => {
                        atoms(&l[1..], out)
                    }
                    _ => walk(l, out),
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&read(form), &mut out);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_skip_strings_characters_and_comments() {
        let text = "; a (comment\n(define-public a (package (name \"a\") (description \"x) y\")))\n#\\( (b #\\) c)";
        let f = forms(text);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(defined(f[0]), Some("a"));
        assert_eq!(defined(f[1]), None);
    }

    #[test]
    fn inputs_are_the_symbols_of_the_input_fields() {
        let def = "(define-public python-prov (package (name \"python-prov\")\n (propagated-inputs (list python-lxml python-networkx))\n (native-inputs (list python-setuptools)) (synopsis \"(inputs fake)\")))";
        assert_eq!(
            inputs(def),
            vec!["python-lxml", "python-networkx", "python-setuptools"]
        );
    }
}
