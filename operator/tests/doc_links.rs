//! Link check of README.md and docs/**/*.md, without network: every
//! relative link points at a file or directory of the repository, every
//! `#anchor` at a heading (GitHub's slug rules) or an HTML `id` of the page it
//! names, and every http(s) link is at least well-formed. Links inside code
//! blocks and code spans are not links.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// README.md and every Markdown file under docs/.
fn documents(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut out);
    out.sort();
    out
}

/// The lines of a Markdown document that are not inside fenced code blocks,
/// with their line numbers (1-based).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let opener = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = opener.map_or(0, |c| trimmed.chars().take_while(|x| *x == c).count());
        match fence {
            Some((c, n)) => {
                if opener == Some(c) && run >= n && trimmed[run..].trim().is_empty() {
                    fence = None;
                }
            }
            None if indent < 4 && run >= 3 => {
                fence = opener.map(|c| (c, run));
            }
            None => out.push((i + 1, line)),
        }
    }
    out
}

/// A line with its code spans blanked out (same length, so columns stay).
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        // The closing run has the same length.
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let r = chars[j..].iter().take_while(|c| **c == '`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(c) => {
                for x in out.iter_mut().take(c + run).skip(i) {
                    *x = ' ';
                }
                i = c + run;
            }
            None => i += run,
        }
    }
    out.into_iter().collect()
}

/// GitHub's heading anchor: lower case, punctuation dropped (letters,
/// digits, `_`, `-` and spaces stay), spaces become `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The text a heading renders as: link and image syntax reduced to its text.
fn heading_text(raw: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ']' && chars.get(i + 1) == Some(&'(') {
            // Skip the destination of `[text](dest)`.
            let mut depth = 0;
            let mut j = i + 1;
            while j < chars.len() {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if chars[i] == '!' && chars.get(i + 1) == Some(&'[') {
            i += 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Every anchor a page offers: heading slugs (repeats get `-1`, `-2`, ...)
/// and HTML `id`/`name` attributes.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, line) in prose_lines(text) {
        let trimmed = line.trim_start();
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if line.len() - trimmed.len() < 4
            && (1..=6).contains(&level)
            && trimmed[level..].starts_with([' ', '\t'])
        {
            let mut title = trimmed[level..].trim().to_string();
            // An optional closing sequence of #s.
            let stripped = title.trim_end_matches('#');
            if stripped.ends_with(' ') || stripped.is_empty() {
                title = stripped.trim_end().to_string();
            }
            let base = slug(&heading_text(&title));
            let n = seen.entry(base.clone()).or_insert(0);
            out.insert(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
        for attr in ["id=\"", "name=\""] {
            for (i, _) in line.match_indices(attr) {
                if line[..i].contains('<') {
                    let rest = &line[i + attr.len()..];
                    if let Some(end) = rest.find('"') {
                        out.insert(rest[..end].to_string());
                    }
                }
            }
        }
    }
    out
}

/// One link: where it is and where it points.
#[derive(Debug)]
struct Link {
    line: usize,
    target: String,
}

/// Inline links and images `[text](dest "title")`, autolinks `<scheme:...>`
/// and reference definitions `[label]: dest`.
fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (n, raw) in prose_lines(text) {
        let line = without_code_spans(raw);
        let trimmed = line.trim_start();
        // Reference definition.
        if trimmed.starts_with('[')
            && let Some(close) = trimmed.find("]:")
            && !trimmed[..close].contains("](")
        {
            let dest = trimmed[close + 2..].split_whitespace().next().unwrap_or("");
            out.push(Link {
                line: n,
                target: dest.trim_matches(['<', '>']).to_string(),
            });
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i + 1 < chars.len() {
            if chars[i] == ']' && chars[i + 1] == '(' {
                let mut j = i + 2;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                let dest: String = if chars.get(j) == Some(&'<') {
                    chars[j + 1..].iter().take_while(|c| **c != '>').collect()
                } else {
                    let mut depth = 0;
                    chars[j..]
                        .iter()
                        .take_while(|c| match c {
                            '(' => {
                                depth += 1;
                                true
                            }
                            ')' if depth == 0 => false,
                            ')' => {
                                depth -= 1;
                                true
                            }
                            c => !c.is_whitespace(),
                        })
                        .collect()
                };
                out.push(Link {
                    line: n,
                    target: dest,
                });
                i = j;
                continue;
            }
            if chars[i] == '<' {
                let inner: String = chars[i + 1..].iter().take_while(|c| **c != '>').collect();
                if inner.starts_with("http://")
                    || inner.starts_with("https://")
                    || inner.starts_with("mailto:")
                {
                    out.push(Link {
                        line: n,
                        target: inner,
                    });
                }
            }
            i += 1;
        }
    }
    out
}

/// Why an absolute URL is not well-formed, if it is not.
fn malformed_url(url: &str) -> Option<String> {
    if let Some(address) = url.strip_prefix("mailto:") {
        return (!address.contains('@') || address.contains(char::is_whitespace))
            .then(|| "a mailto: link needs an address".to_string());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    if url.contains(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>') {
        return Some("spaces, quotes and angle brackets must be percent-encoded".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if host_port.starts_with('[') {
        match host_port.find(']') {
            Some(end) => (&host_port[..=end], host_port[end + 1..].strip_prefix(':')),
            None => return Some("an IPv6 host needs its closing ]".into()),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some("no host".into());
    }
    if !host.starts_with('[') {
        let labels_ok = host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !labels_ok {
            return Some(format!("{host:?} is not a host name"));
        }
    }
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return Some(format!("port {p:?} is not a number"));
    }
    None
}

/// `%20` and friends decoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `base/../x/./y` → `x/y`, or `None` if it climbs above the root.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Problems with the links of one document (`rel`: its path from the root).
fn check_document(root: &Path, rel: &Path, text: &str, pages: &mut Pages) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = rel.parent().unwrap_or(Path::new(""));
    for link in links(text) {
        let at = format!("{}:{}", rel.display(), link.line);
        let target = link.target.trim();
        if target.is_empty() {
            problems.push(format!("{at}: empty link"));
            continue;
        }
        if target.contains("://") || target.starts_with("mailto:") {
            if !(target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:"))
            {
                problems.push(format!("{at}: {target}: only http(s) and mailto links"));
            } else if let Some(why) = malformed_url(target) {
                problems.push(format!("{at}: {target}: {why}"));
            }
            continue;
        }
        if target.contains('\\') {
            problems.push(format!("{at}: {target}: use / in paths"));
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target, None),
        };
        let path = percent_decode(path.split('?').next().unwrap_or(""));
        let file = if path.is_empty() {
            rel.to_path_buf()
        } else if let Some(from_root) = path.strip_prefix('/') {
            PathBuf::from(from_root)
        } else {
            dir.join(&path)
        };
        let Some(file) = normalise(&file) else {
            problems.push(format!(
                "{at}: {target} points outside the repository (it would be broken on GitHub and in a packaged copy)"
            ));
            continue;
        };
        let full = root.join(&file);
        if path.is_empty() {
            // An anchor of this very page.
            let wanted = percent_decode(anchor.unwrap_or("")).to_lowercase();
            if !anchors(text).contains(&wanted) {
                problems.push(format!(
                    "{at}: {target}: this page has no heading or id for it"
                ));
            }
            continue;
        }
        if !full.exists() {
            problems.push(format!("{at}: {target}: {} does not exist", file.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if full.is_file() && file.extension().is_some_and(|e| e == "md") {
            let known = pages.anchors(&full);
            let wanted = percent_decode(anchor).to_lowercase();
            if !known.contains(&wanted) {
                problems.push(format!(
                    "{at}: {target}: {} has no heading or id for #{anchor}",
                    file.display()
                ));
            }
        } else if !(anchor.is_empty() || is_line_anchor(anchor)) {
            problems.push(format!(
                "{at}: {target}: only Markdown pages have anchors (or #L<line> for source files)"
            ));
        }
    }
    problems
}

/// `#L12` or `#L12-L20`: GitHub's line anchors on source files.
fn is_line_anchor(anchor: &str) -> bool {
    anchor
        .strip_prefix('L')
        .is_some_and(|lines| lines.split("-L").all(|n| n.parse::<u32>().is_ok()))
}

/// Anchors of the pages read so far.
#[derive(Default)]
struct Pages(BTreeMap<PathBuf, BTreeSet<String>>);

impl Pages {
    fn anchors(&mut self, path: &Path) -> BTreeSet<String> {
        self.0
            .entry(path.to_path_buf())
            .or_insert_with(|| anchors(&std::fs::read_to_string(path).unwrap()))
            .clone()
    }
}

#[test]
fn readme_and_docs_have_no_broken_links() {
    let root = root();
    let docs = documents(&root);
    assert!(docs.len() > 5, "found only {docs:?}");
    let mut pages = Pages::default();
    let mut problems = Vec::new();
    let mut count = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        count += links(&text).len();
        let rel = doc.strip_prefix(&root).unwrap();
        problems.extend(check_document(&root, rel, &text, &mut pages));
    }
    assert!(
        count > 20,
        "found only {count} links; is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Metrics of the manager"), "metrics-of-the-manager");
    assert_eq!(slug("`clusterctl move`"), "clusterctl-move");
    assert_eq!(
        slug("`capi_scvmm_reconcile_total`"),
        "capi_scvmm_reconcile_total"
    );
    assert_eq!(
        slug("Object state (kube-state-metrics)"),
        "object-state-kube-state-metrics"
    );
    assert_eq!(slug("What's new? v1.2 / 2.0"), "whats-new-v12--20");
    assert_eq!(slug("Überblick: Größe"), "überblick-größe");
    assert_eq!(
        slug(&heading_text("See [the docs](docs/a.md) now")),
        "see-the-docs-now"
    );
    let page = "# A\n## A\n```\n# not a heading\n```\n## A ##\n<a id=\"custom\"></a>\n";
    let found = anchors(page);
    for a in ["a", "a-1", "a-2", "custom"] {
        assert!(found.contains(a), "{a} missing from {found:?}");
    }
    assert!(!found.contains("not-a-heading"));
}

#[test]
fn the_checker_finds_what_is_broken() {
    let root = root();
    let mut pages = Pages::default();
    let text = "\
[ok](operations.md#flags) [dir](../deploy/) [self](#top) [no](#bottom)\n\
# Top\n\
[gone](nope.md) [anchor](operations.md#no-such-heading) [out](../../x.md)\n\
[url](https://bad_host.example/) [port](http://host:99999/) [ftp](ftp://x.org)\n\
`[code](nope.md)`\n\
```\n[fenced](nope.md)\n```\n\
[ref]: missing.md\n";
    let problems = check_document(&root, Path::new("docs/x.md"), text, &mut pages);
    let joined = problems.join("\n");
    assert_eq!(problems.len(), 8, "{joined}");
    for bad in [
        "nope.md does not exist",
        "#no-such-heading",
        "outside the repository",
        "bad_host",
        "99999",
        "only http(s)",
        "missing.md",
        "#bottom",
    ] {
        assert!(joined.contains(bad), "{bad} not reported:\n{joined}");
    }
}
