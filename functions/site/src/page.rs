//! Pages: a fragment of HTML with a front matter, rendered inside the one page shell.
//!
//! A page source starts with
//!
//! ```text
//! <!--page
//! title: Patients
//! id: clinic-home
//! area: clinic
//! script: clinic-home
//! width: wide
//! -->
//! ```
//!
//! `title` goes into `<title>`; `id` becomes `body[data-page]`; `area` (`public`, `clinic`,
//! `personal`, `dev`) picks the navigation `site/_partials/nav-<area>.html`; `script` is the page's
//! module `/assets/pages/<script>.js` (its imports are preloaded); `width` (`wide` or `narrow`,
//! default `wide`) sets the width of `<main>`. The shell `site/_shell.html` has the slots
//! `{{title}}`, `{{id}}`, `{{area}}`, `{{head}}`, `{{nav}}`, `{{width}}` and `{{content}}`; the
//! navigation link to the page itself gets `aria-current="page"`. Markup that several pages share is a
//! partial, `<!--include:NAME-->` for `site/_partials/NAME.html`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::assets::references;
use crate::{BuildError, escape_html};

/// A page source, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSource {
    pub title: String,
    pub id: String,
    pub area: String,
    pub script: Option<String>,
    pub width: String,
    pub content: String,
}

const AREAS: [&str; 4] = ["public", "clinic", "personal", "dev"];

/// Reads a page's front matter and content.
pub fn parse(key: &str, text: &str) -> Result<PageSource, BuildError> {
    let fail = |why: &str| BuildError(format!("{key}: {why}"));
    let rest = text
        .strip_prefix("<!--page\n")
        .ok_or_else(|| fail("a page starts with a <!--page front matter (see the site README)"))?;
    let (front, content) = rest
        .split_once("\n-->\n")
        .ok_or_else(|| fail("the front matter ends with a line `-->`"))?;
    let mut page = PageSource {
        title: String::new(),
        id: String::new(),
        area: String::new(),
        script: None,
        width: "wide".to_owned(),
        content: content.to_owned(),
    };
    for line in front.lines().filter(|l| !l.trim().is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| fail(&format!("`{line}` is not `name: value`")))?;
        let value = value.trim().to_owned();
        match name.trim() {
            "title" => page.title = value,
            "id" => page.id = value,
            "area" => page.area = value,
            "script" => page.script = Some(value),
            "width" => page.width = value,
            other => return Err(fail(&format!("unknown front matter field `{other}`"))),
        }
    }
    if page.title.is_empty() || page.id.is_empty() {
        return Err(fail("the front matter needs a title and an id"));
    }
    if !AREAS.contains(&page.area.as_str()) {
        return Err(fail(&format!("area is one of {}", AREAS.join(", "))));
    }
    if !["wide", "narrow"].contains(&page.width.as_str()) {
        return Err(fail("width is wide or narrow"));
    }
    Ok(page)
}

/// The URL a page is served at: `clinic/index.html` at `/clinic/`, `clinic/staff.html` at
/// `/clinic/staff`.
pub fn url_of(key: &str) -> String {
    let stem = key.strip_suffix(".html").unwrap_or(key);
    match stem.strip_suffix("index") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{stem}"),
    }
}

fn read_text(path: &Path) -> Result<String, BuildError> {
    std::fs::read_to_string(path)
        .map_err(|e| BuildError(format!("cannot read {}: {e}", path.display())))
}

/// Every module `script` imports, directly or not, in a stable order.
fn module_graph(site: &Path, script: &str) -> Result<Vec<String>, BuildError> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let mut stack = vec![script.to_owned()];
    while let Some(key) = stack.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let text = read_text(&site.join(&key))?;
        let imports = imports_of(&text);
        order.push(key);
        stack.extend(imports);
    }
    Ok(order)
}

/// The `/assets/….js` modules a module names in quotes, as keys.
fn imports_of(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("\"/assets/") {
        let rest = &text[i + 2..];
        if let Some(end) = rest.find('"') {
            let key = &rest[..end];
            if key.ends_with(".js") {
                found.push(key.to_owned());
            }
        }
    }
    // Keep only names that are really there (a string that merely looks like a path is ignored).
    references(text, found.iter())
}

/// Fills `{{name}}` slots from `values`, in one pass (filled text is not searched again); slots
/// without a value are left as they are.
fn fill_slots(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match values.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// An include's partial name and its `key="value"` parameters.
type IncludeCall<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// Reads `name key="value" key2="value"` of an include.
fn include_call<'a>(key: &str, call: &'a str) -> Result<IncludeCall<'a>, BuildError> {
    let fail = |why: String| BuildError(format!("{key}: {why}"));
    let (name, mut rest) = call.split_once(' ').unwrap_or((call, ""));
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(fail(format!("{name:?} is not a partial's name")));
    }
    let mut values = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (param, after) = rest
            .split_once("=\"")
            .ok_or_else(|| fail(format!("include {name}: write parameters as key=\"value\"")))?;
        let (value, after) = after.split_once('"').ok_or_else(|| {
            fail(format!(
                "include {name}: the value of {param} is not closed"
            ))
        })?;
        values.push((param.trim(), value));
        rest = after;
    }
    Ok((name, values))
}

/// Replaces each `<!--include:NAME key="value"-->` of a page with `site/_partials/NAME.html`, its
/// `{{key}}` slots filled (markup that pages share: the report form, sign-in, patient details).
fn include_partials(site: &Path, key: &str, content: &str) -> Result<String, BuildError> {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find("<!--include:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "<!--include:".len()..];
        let end = after
            .find("-->")
            .ok_or_else(|| BuildError(format!("{key}: an include is not closed with -->")))?;
        let (name, values) = include_call(key, after[..end].trim())?;
        let partial = read_text(&site.join(format!("_partials/{name}.html")))?;
        let filled = fill_slots(partial.trim_end(), &values);
        if let Some((at, _)) = filled
            .match_indices("{{")
            .find(|(at, _)| !filled[*at..].starts_with("{{operator."))
        {
            let slot: String = filled[at..].chars().take(40).collect();
            return Err(BuildError(format!(
                "{key}: include {name} leaves {slot:?} unfilled"
            )));
        }
        out.push_str(&filled);
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders the page `key` (e.g. `clinic/index.html`) of the site at `site` inside its shell.
/// Operator placeholders (`{{operator.…}}`) are left for [`crate::Operator::fill`].
pub fn render(site: &Path, key: &str) -> Result<String, BuildError> {
    let page = parse(key, &read_text(&site.join(key))?)?;
    let shell = read_text(&site.join("_shell.html"))?;
    let nav_path = site.join(format!("_partials/nav-{}.html", page.area));
    let url = url_of(key);
    let nav = read_text(&nav_path)?.replace(
        &format!("href=\"{url}\""),
        &format!("href=\"{url}\" aria-current=\"page\""),
    );
    let mut head = String::new();
    if let Some(script) = &page.script {
        let entry = format!("assets/pages/{script}.js");
        let graph = module_graph(site, &entry)?;
        head.push_str(&format!(
            "<script type=\"module\" src=\"/{entry}\"></script>"
        ));
        for module in graph.iter().skip(1) {
            head.push_str(&format!(
                "\n<link rel=\"modulepreload\" href=\"/{module}\">"
            ));
        }
    }
    let content = include_partials(site, key, &page.content)?;
    let title = escape_html(&page.title);
    Ok(fill_slots(
        &shell,
        &[
            ("title", &title),
            ("id", &page.id),
            ("area", &page.area),
            ("head", &head),
            ("nav", nav.trim_end()),
            ("width", &page.width),
            ("content", content.trim_end()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_read_and_checked() {
        let page = parse(
            "clinic/index.html",
            "<!--page\ntitle: Patients\nid: clinic-home\narea: clinic\nscript: clinic-home\n-->\n<h1>Hi</h1>\n",
        )
        .expect("parses");
        assert_eq!(page.title, "Patients");
        assert_eq!(page.script.as_deref(), Some("clinic-home"));
        assert_eq!(page.width, "wide");
        assert_eq!(page.content, "<h1>Hi</h1>\n");
        assert!(parse("a.html", "<h1>no front matter</h1>").is_err());
        assert!(parse("a.html", "<!--page\ntitle: A\nid: a\narea: moon\n-->\n").is_err());
        assert!(
            parse(
                "a.html",
                "<!--page\ntitle: A\nid: a\narea: public\ncolour: red\n-->\n"
            )
            .is_err()
        );
    }

    #[test]
    fn includes_take_parameters() {
        assert_eq!(
            include_call("a.html", "field id=\"x\" label=\"Your name\""),
            Ok(("field", vec![("id", "x"), ("label", "Your name")]))
        );
        assert!(include_call("a.html", "../etc").is_err());
        assert!(include_call("a.html", "field id=x").is_err());
        assert!(include_call("a.html", "field id=\"x").is_err());
    }

    #[test]
    fn urls_are_clean() {
        assert_eq!(url_of("index.html"), "/");
        assert_eq!(url_of("clinic/index.html"), "/clinic/");
        assert_eq!(url_of("clinic/staff.html"), "/clinic/staff");
    }

    #[test]
    fn slots_are_filled_once_and_unknown_ones_kept() {
        let out = fill_slots(
            "<t>{{title}}</t>{{content}}{{operator.name}}",
            &[("title", "A"), ("content", "{{title}}")],
        );
        assert_eq!(out, "<t>A</t>{{title}}{{operator.name}}");
    }

    #[test]
    fn a_rendered_page_marks_its_own_link_and_preloads_its_imports() {
        let site = crate::source_tree_dir();
        let html = render(&site, "clinic/index.html").expect("renders");
        assert!(
            html.contains("href=\"/clinic/\" aria-current=\"page\""),
            "{html}"
        );
        assert!(html.contains("<script type=\"module\" src=\"/assets/pages/clinic-home.js\">"));
        assert!(html.contains("rel=\"modulepreload\" href=\"/assets/lib/api.js\""));
        assert!(html.contains("data-page=\"clinic-home\""));
        let profile = render(&site, "clinic/patient.html").expect("renders");
        assert!(profile.contains("id=\"report-days\"") && !profile.contains("<!--include"));
    }
}
