//! Widget embeds in a page, found with an HTML parser (lol_html): script tags carrying the
//! widget's `data-*` attributes, and client-token values in inline scripts (a page's
//! configuration, a framework's injected data) and in script bundles.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use lol_html::{HtmlRewriter, Settings, element, text};
use serde_json::Value;

/// One embed of the widget, as the page states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Embed {
    /// Where it was found: `script tag (line 12)`, `inline script (line 30)`, a bundle's URL.
    pub source: String,
    pub value: Option<String>,
    pub flow: Option<String>,
    pub agent: Option<String>,
    pub api_url: Option<String>,
}

impl Embed {
    /// What makes two embeds the same one, wherever each was found.
    fn identity(&self) -> EmbedKey {
        (
            self.value.clone(),
            self.flow.clone(),
            self.agent.clone(),
            self.api_url.clone(),
        )
    }
}

type EmbedKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What the parser saw of a page.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub embeds: Vec<Embed>,
    /// `src` of the page's scripts, in order, to look into a single-page app's bundles.
    pub script_sources: Vec<String>,
    /// Bytes looked at to number the lines: at most the page's length, however many tags it
    /// holds (the test that keeps line numbering linear reads it).
    #[cfg(test)]
    pub line_bytes_scanned: usize,
}

/// Line numbers of offsets that arrive in order (the parser's tags): each newline is counted
/// once, from the last offset asked about, not from the start of the page for every tag.
#[derive(Default)]
struct Lines {
    offset: usize,
    line: usize,
    #[cfg(test)]
    scanned: usize,
}

impl Lines {
    /// The 1-based line of `offset` in `text`.
    fn at(&mut self, text: &[u8], offset: usize) -> usize {
        let offset = offset.min(text.len());
        if offset < self.offset {
            // Never happens with a parser that reads forward; correct all the same.
            (self.offset, self.line) = (0, 0);
        }
        let between = &text[self.offset..offset];
        #[cfg(test)]
        {
            self.scanned += between.len();
        }
        self.line += between.iter().filter(|b| **b == b'\n').count();
        self.offset = offset;
        self.line + 1
    }
}

#[derive(Default)]
struct Script {
    line: usize,
    src: Option<String>,
    data: Vec<(String, String)>,
    text: String,
}

/// The embeds in `html`.
pub(crate) fn in_page(html: &[u8]) -> Result<Found, String> {
    let scripts = Rc::new(RefCell::new(Vec::<Script>::new()));
    let (on_element, on_text) = (scripts.clone(), scripts.clone());
    let lines = RefCell::new(Lines::default());
    let line_of = |offset: usize| lines.borrow_mut().at(html, offset);
    let mut rewriter = HtmlRewriter::new(
        Settings::new()
            .append_element_content_handler(element!("script", move |el| {
                on_element.borrow_mut().push(Script {
                    line: line_of(el.source_location().bytes().start),
                    src: el.get_attribute("src"),
                    data: el
                        .attributes()
                        .iter()
                        .filter(|a| a.name().starts_with("data-"))
                        .map(|a| (a.name(), a.value()))
                        .collect(),
                    text: String::new(),
                });
                Ok(())
            }))
            .append_element_content_handler(text!("script", move |t| {
                if let Some(script) = on_text.borrow_mut().last_mut() {
                    script.text.push_str(t.as_str());
                }
                Ok(())
            })),
        |_: &[u8]| {},
    );
    rewriter.write(html).map_err(|e| e.to_string())?;
    rewriter.end().map_err(|e| e.to_string())?;
    let scripts = Rc::try_unwrap(scripts)
        .map_err(|_| "the parser kept its handlers".to_string())?
        .into_inner();
    let mut found = Found {
        #[cfg(test)]
        line_bytes_scanned: lines.borrow().scanned,
        ..Found::default()
    };
    let mut seen = HashSet::new();
    for script in scripts {
        let attribute = |name: &str| {
            script
                .data
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Some(src) = &script.src {
            found.script_sources.push(src.clone());
        }
        let config = attribute("data-config")
            .and_then(|c| serde_json::from_str::<Value>(&c.replace('\n', "")).ok());
        let from_config = |key: &str| config.as_ref().and_then(|c| config_value(c, key));
        let tagged = Embed {
            source: format!("script tag (line {})", script.line),
            value: attribute("data-runtype-token").or_else(|| from_config("clientToken")),
            flow: attribute("data-flow-id").or_else(|| from_config("flowId")),
            agent: attribute("data-agent-id").or_else(|| from_config("agentId")),
            api_url: attribute("data-api-url").or_else(|| from_config("apiUrl")),
        };
        if tagged.value.is_some() || tagged.flow.is_some() || tagged.agent.is_some() {
            push(&mut found.embeds, &mut seen, tagged);
        }
        for embed in in_script(
            &script.text,
            &format!("inline script (line {})", script.line),
        ) {
            push(&mut found.embeds, &mut seen, embed);
        }
    }
    Ok(found)
}

/// `key` in a `data-config` object, at the top or under `config`.
fn config_value(config: &Value, key: &str) -> Option<String> {
    config
        .get(key)
        .or_else(|| config.get("config").and_then(|c| c.get(key)))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Adds `embed` unless an equal one is there already (a set, not a scan: a page may hold
/// hundreds of thousands of tags).
fn push(embeds: &mut Vec<Embed>, seen: &mut HashSet<EmbedKey>, embed: Embed) {
    if seen.insert(embed.identity()) {
        embeds.push(embed);
    }
}

/// Client-token values in script text (inline, a JSON island, a bundle), each with the
/// `flowId`, `agentId` and `apiUrl` the same script names, if any.
pub(crate) fn in_script(text: &str, source: &str) -> Vec<Embed> {
    let mut embeds = Vec::new();
    let (flow, agent, api_url) = (
        keyed(text, "flowId"),
        keyed(text, "agentId"),
        keyed(text, "apiUrl"),
    );
    let mut seen = HashSet::new();
    for value in token_values(text) {
        push(
            &mut embeds,
            &mut seen,
            Embed {
                source: source.to_string(),
                value: Some(value),
                flow: flow.clone(),
                agent: agent.clone(),
                api_url: api_url.clone(),
            },
        );
    }
    embeds
}

/// Every `ct_live_…`/`ct_test_…` value (32 letters and digits after the prefix).
pub(crate) fn token_values(text: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for prefix in ["ct_live_", "ct_test_"] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let tail = &rest[at + prefix.len()..];
            let run = tail.bytes().take_while(u8::is_ascii_alphanumeric).count();
            let before = rest[..at].bytes().last();
            if run == 32 && !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                let value = format!("{prefix}{}", &tail[..32]);
                if seen.insert(value.clone()) {
                    values.push(value);
                }
            }
            rest = &tail[run..];
        }
    }
    values
}

/// The string after `key` and a `:` or `=` (quoted or not: `flowId: "x"`, `"flowId":"x"`).
fn keyed(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let after = rest[at + key.len()..]
            .trim_start_matches(['"', '\''])
            .trim_start();
        if let Some(value) = after.strip_prefix([':', '=']) {
            let value = value.trim_start();
            if let Some(quote) = value
                .chars()
                .next()
                .filter(|c| matches!(c, '"' | '\'' | '`'))
            {
                let body = &value[1..];
                if let Some(end) = body.find(quote) {
                    let found = &body[..end];
                    if !found.is_empty() && found.len() <= 512 {
                        return Some(found.to_string());
                    }
                }
            }
        }
        rest = &rest[at + key.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "ct_live_AbCdEfGhIjKlMnOpQrStUvWxYz012345";

    #[test]
    fn script_tags_inline_configuration_and_tricky_markup() {
        let page = format!(
            r#"<html><body>
<SCRIPT src="/persona/install.global.js" data-runtype-token="{VALUE}" data-flow-id="flow_1"
  data-api-url="https://api.runtype.com"></SCRIPT>
<!-- <script data-runtype-token="ct_live_00000000000000000000000000000000"></script> -->
<script>window.siteAgentConfig = {{ clientToken: "{VALUE}", agentId: 'agent_7', x: a<b && "</div>" }};</script>
<script type="application/json" id="__NEXT_DATA__">{{"props":{{"clientToken":"ct_test_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}}}}</script>
<script src="/_next/static/chunks/main.js"></script>
</body></html>"#
        );
        let found = in_page(page.as_bytes()).unwrap();
        assert_eq!(found.embeds.len(), 3, "{:#?}", found.embeds);
        let tag = &found.embeds[0];
        assert_eq!(tag.value.as_deref(), Some(VALUE));
        assert_eq!(tag.flow.as_deref(), Some("flow_1"));
        assert_eq!(tag.api_url.as_deref(), Some("https://api.runtype.com"));
        assert_eq!(tag.source, "script tag (line 2)");
        assert_eq!(found.embeds[1].agent.as_deref(), Some("agent_7"));
        assert!(
            found.embeds[2]
                .value
                .as_deref()
                .unwrap()
                .starts_with("ct_test_")
        );
        assert_eq!(
            found.script_sources,
            ["/persona/install.global.js", "/_next/static/chunks/main.js"]
        );
    }

    /// Numbering the lines of a page's tags looks at each byte once: a 5 MiB page of 270,000
    /// tags took minutes when every tag was counted from the start of the page.
    #[test]
    fn line_numbers_cost_one_pass_over_the_page() {
        let tags = 20_000;
        let page = "<script></script>\n".repeat(tags);
        let found = in_page(page.as_bytes()).unwrap();
        assert!(
            found.line_bytes_scanned <= page.len(),
            "{} bytes scanned for a page of {}",
            found.line_bytes_scanned,
            page.len()
        );
        let page = format!(
            "{}<script data-runtype-token=\"{VALUE}\"></script>",
            "<script></script>\n".repeat(tags)
        );
        let found = in_page(page.as_bytes()).unwrap();
        assert_eq!(
            found.embeds[0].source,
            format!("script tag (line {})", tags + 1)
        );
    }

    #[test]
    fn many_distinct_embeds_are_each_kept_once() {
        let values: Vec<String> = (0..5_000).map(|i| format!("ct_live_{i:032}")).collect();
        let mut page = String::new();
        for value in values.iter().chain(values.iter()) {
            page.push_str(&format!(
                "<script data-runtype-token=\"{value}\"></script>\n"
            ));
        }
        let found = in_page(page.as_bytes()).unwrap();
        assert_eq!(found.embeds.len(), values.len());
        let text = values.join(" ");
        assert_eq!(token_values(&format!("{text} {text}")), values);
    }

    #[test]
    fn values_are_found_whole_and_only_whole() {
        let text = format!("a{VALUE} {VALUE} {VALUE}x ct_live_short");
        assert_eq!(token_values(&text), vec![VALUE.to_string()]);
    }
}
