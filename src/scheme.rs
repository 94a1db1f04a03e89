//! Just enough reading of Scheme to handle what `guix import` prints and
//! what `promote` writes: top-level forms, the name a `define-public`
//! defines, the symbols a form uses. Strings, character literals and
//! comments are skipped, so a parenthesis in a description is not one.

/// A datum as read: lists (with where they start and end in the text),
/// strings, characters and other atoms. Comments are gone: `;` to the end
/// of the line, `#| |#` (nested), and `#;` with the datum after it.
#[derive(Debug)]
enum Node<'a> {
    List(Vec<Node<'a>>, usize, usize),
    /// A string's text between its quotes, escapes as written.
    Str(&'a str),
    Char,
    /// A symbol or other atom, and where it starts.
    Atom(&'a str, usize),
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    fn starts(&self, s: &str) -> bool {
        self.text[self.at..].starts_with(s)
    }

    /// Past whitespace, comments, and the quote marks that only prefix a
    /// datum. Returns false at the end.
    fn skip(&mut self) -> bool {
        loop {
            match self.peek() {
                None => return false,
                Some(c) if c.is_whitespace() || matches!(c, '\'' | '`' | ',' | '@') => {
                    self.bump();
                }
                Some(';') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('#') if self.starts("#|") => {
                    self.at += 2;
                    let mut depth = 1;
                    while depth > 0 {
                        if self.starts("|#") {
                            self.at += 2;
                            depth -= 1;
                        } else if self.starts("#|") {
                            self.at += 2;
                            depth += 1;
                        } else if self.bump().is_none() {
                            return false;
                        }
                    }
                }
                Some('#') if self.starts("#;") => {
                    self.at += 2;
                    // The datum after it is a comment too.
                    let _ = self.datum();
                }
                Some(_) => return true,
            }
        }
    }

    /// The next datum, or `None` at the end or at a `)`.
    fn datum(&mut self) -> Option<Node<'a>> {
        if !self.skip() {
            return None;
        }
        let start = self.at;
        match self.peek()? {
            ')' | ']' => None,
            '(' | '[' => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    if let Some(node) = self.datum() {
                        items.push(node);
                        continue;
                    }
                    // At `)`, or the end of an unclosed list.
                    if !matches!(self.peek(), Some(')' | ']')) {
                        return None;
                    }
                    let end = self.at;
                    self.bump();
                    return Some(Node::List(items, start, end));
                }
            }
            '"' => {
                self.bump();
                let mut end = self.text.len();
                while let Some(c) = self.bump() {
                    match c {
                        '\\' => {
                            self.bump();
                        }
                        '"' => {
                            end = self.at - 1;
                            break;
                        }
                        _ => {}
                    }
                }
                Some(Node::Str(&self.text[start + 1..end.max(start + 1)]))
            }
            '#' if self.starts("#\\") => {
                self.at += 2;
                // One character, whatever it is, then a name's letters
                // (`#\space`, `#\x3bb`).
                self.bump();
                while self.peek().is_some_and(|c| c.is_alphanumeric()) {
                    self.bump();
                }
                Some(Node::Char)
            }
            _ => {
                // At least one character, so that every datum moves on.
                self.bump();
                while self.peek().is_some_and(|c| {
                    !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '"' | ';')
                }) {
                    self.bump();
                }
                Some(Node::Atom(&self.text[start..self.at], start))
            }
        }
    }

    /// Every top-level datum; a stray `)` is passed over.
    fn all(text: &'a str) -> Vec<Node<'a>> {
        let mut r = Reader { text, at: 0 };
        let mut out = Vec::new();
        while r.skip() {
            match r.datum() {
                Some(node) => out.push(node),
                None if matches!(r.peek(), Some(')' | ']')) => {
                    r.bump();
                }
                None => break,
            }
        }
        out
    }
}

/// The top-level parenthesised forms of `text`, as written. A form
/// commented out in any of Scheme's ways is not among them.
pub fn forms(text: &str) -> Vec<&str> {
    Reader::all(text)
        .into_iter()
        .filter_map(|n| match n {
            Node::List(_, start, end) => Some(&text[start..=end]),
            _ => None,
        })
        .collect()
}

/// The symbols of `form` outside strings, characters and comments, in order.
pub fn symbols(form: &str) -> Vec<&str> {
    fn atoms<'a>(nodes: &[Node<'a>], out: &mut Vec<&'a str>) {
        for n in nodes {
            match n {
                Node::Atom(a, _) => out.push(a),
                Node::List(l, ..) => atoms(l, out),
                Node::Str(_) | Node::Char => {}
            }
        }
    }
    let mut out = Vec::new();
    atoms(&Reader::all(form), &mut out);
    out
}

/// The variable a `(define-public NAME …)` form defines.
pub fn defined(form: &str) -> Option<&str> {
    let s = symbols(form);
    (s.first() == Some(&"define-public")).then(|| s.get(1).copied())?
}

fn read(form: &str) -> Vec<Node<'_>> {
    Reader::all(form)
}

/// The packages a definition takes as inputs: the symbols of its
/// `inputs`, `propagated-inputs` and `native-inputs` fields.
pub fn inputs(form: &str) -> Vec<&str> {
    fn atoms<'a>(nodes: &[Node<'a>], out: &mut Vec<&'a str>) {
        for n in nodes {
            match n {
                Node::Atom(a, _) if !matches!(*a, "list" | "quote" | "modify-inputs") => {
                    out.push(a)
                }
                Node::List(l, ..) => atoms(l, out),
                _ => {}
            }
        }
    }
    fn walk<'a>(nodes: &[Node<'a>], out: &mut Vec<&'a str>) {
        for n in nodes {
            if let Node::List(l, ..) = n {
                match l.first() {
                    Some(Node::Atom("inputs" | "propagated-inputs" | "native-inputs", _)) => {
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

/// A field of a `(package …)`: `(home-page "…")`, `(propagated-inputs
/// (list …))`.
#[derive(Debug)]
pub struct Field<'a> {
    pub name: &'a str,
    /// Where the field's list starts and ends (its `)`), in the form.
    pub start: usize,
    pub end: usize,
    /// Its atoms past the name, nested ones included, with where each
    /// starts.
    pub atoms: Vec<(&'a str, usize)>,
    /// Its value when that is one string.
    pub string: Option<&'a str>,
}

/// The fields of the package that `form` is, `(package …)`, or defines,
/// `(define-public VAR (package …))`.
pub fn package_fields(form: &str) -> Vec<Field<'_>> {
    fn atoms<'a>(nodes: &[Node<'a>], out: &mut Vec<(&'a str, usize)>) {
        for n in nodes {
            match n {
                Node::Atom(a, at) => out.push((a, *at)),
                Node::List(l, ..) => atoms(l, out),
                _ => {}
            }
        }
    }
    let nodes = read(form);
    let package = match nodes.first() {
        Some(Node::List(top, ..)) => match top.first() {
            Some(Node::Atom("package", _)) => Some(top),
            Some(Node::Atom("define-public", _)) => match top.get(2) {
                Some(Node::List(p, ..)) if matches!(p.first(), Some(Node::Atom("package", _))) => {
                    Some(p)
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    let mut out = Vec::new();
    for node in package.map(|p| &p[1..]).unwrap_or_default() {
        let Node::List(items, start, end) = node else {
            continue;
        };
        let Some(Node::Atom(name, _)) = items.first() else {
            continue;
        };
        let mut found = Vec::new();
        atoms(&items[1..], &mut found);
        let string = match &items[1..] {
            [Node::Str(s)] => Some(*s),
            _ => None,
        };
        out.push(Field {
            name,
            start: *start,
            end: *end,
            atoms: found,
            string,
        });
    }
    out
}

/// The PyPI name in a definition's `(pypi-uri "NAME" version)`.
pub fn pypi_name(form: &str) -> Option<&str> {
    fn find<'a>(nodes: &[Node<'a>]) -> Option<&'a str> {
        nodes.iter().find_map(|n| match n {
            Node::List(l, ..) => match l.as_slice() {
                [Node::Atom("pypi-uri", _), Node::Str(name), ..] => Some(*name),
                _ => find(l),
            },
            _ => None,
        })
    }
    find(&read(form))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_of_every_kind_hide_what_they_cover() {
        let text = "#;(define-public a (package))\n#| (define-public b 1) #| nested |# (define-public c 1) |#\n; (define-public d 1)\n(define-public e (package (description \"#\\\\λ (\") (x #\\λ #\\( #\\space)))";
        let f = forms(text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(defined(f[0]), Some("e"));
        assert_eq!(
            symbols(f[0]),
            vec!["define-public", "e", "package", "description", "x"]
        );
    }

    #[test]
    fn never_panics_on_what_it_is_given() {
        for text in [
            "#\\λ",
            "(#\\",
            "\"\\",
            "#|",
            "#;",
            "(a #;",
            "é)(",
            "#\\\u{10348}x",
            "[core]\n\tx = 0\n",
            "]])[(]",
            "#",
            "(a . b) #;#;(x) (y) z",
        ] {
            let _ = forms(text);
            let _ = symbols(text);
            let _ = inputs(text);
        }
    }

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
