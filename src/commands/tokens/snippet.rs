//! `rtctl tokens snippet ID`: the embed code the widget (`@runtypelabs/persona`) documents,
//! for one token: its current value, the API URL rtctl uses, and its flow or agent. Runtype's
//! rotation guide ends "update your widget embed code with the new token"; this prints that
//! code.
//!
//! Everything from outside (the value, ids, the URLs) is written escaped for where it goes:
//! HTML attributes in the script tag, JavaScript string literals (JSON's, with `<` escaped
//! too) in the modules. A value holding a control character is refused, as everywhere a value
//! is printed.

use crate::api::ApiError;
use crate::cli::tokens::{SnippetArgs, SnippetFormat};
use crate::commands::Context;
use crate::error::CliError;
use crate::ids::check_id;
use crate::ops::token_ref::check_ids;
use crate::token::{Field, TokenView};

/// Where the script tag loads the widget's installer from, as the widget's installation
/// guide writes it (the installer loads its other files from beside itself).
pub(crate) const INSTALLER_URL: &str =
    "https://cdn.jsdelivr.net/npm/@runtypelabs/persona@latest/dist/install.global.js";

/// What an embed names besides the value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Flow(String),
    Agent(String),
}

impl Target {
    /// The key naming it, as `flow_key` or `agent_key` says, and its id.
    fn named<'a>(
        &'a self,
        flow_key: &'static str,
        agent_key: &'static str,
    ) -> (&'static str, &'a str) {
        match self {
            Target::Flow(id) => (flow_key, id),
            Target::Agent(id) => (agent_key, id),
        }
    }
}

/// Everything one snippet is made of.
#[derive(Debug)]
struct Embed<'a> {
    value: &'a str,
    target: Option<Target>,
    api_url: &'a str,
    widget_url: &'a str,
}

pub(super) async fn run(ctx: &Context, mut args: SnippetArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    if ctx.output_flag {
        return Err(CliError::usage(
            "a snippet is code to paste: it has no table or JSON form (-o, --json, --jq)",
        )
        .with_hint("choose the code with --format script|esm|react"));
    }
    if args.widget_url.is_some() && args.format != SnippetFormat::Script {
        return Err(CliError::usage(
            "--widget-url is where a script tag loads the widget: only --format script has one",
        ));
    }
    let widget_url = match &args.widget_url {
        Some(url) => checked_url(url)?,
        None => INSTALLER_URL.to_string(),
    };
    let client = ctx.client()?;
    args.id = crate::ops::token_ref::resolve_one(ctx, &client, &args.id).await?;
    // Both at once, and both awaited: the token's own answer (404, an id the service calls
    // invalid) decides before the value's, whichever came back first.
    let (token, value) = tokio::join!(client.get(&args.id), client.value(&args.id));
    let token = token?;
    let value = match value {
        Ok(value) => value,
        // A token created before values were stored has none to embed.
        Err(e @ ApiError::Status { status: 400, .. }) if !e.is_invalid_id() => {
            return Err(CliError::failure(format!(
                "token {} has no readable value to embed: {e}",
                args.id
            ))
            .with_hint(format!(
                "rtctl tokens rotate {} issues a new value you can read (the old one stops working at once)",
                args.id
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if value
        .chars()
        .any(|c| c.is_control() || crate::untrusted::steers(c))
    {
        return Err(CliError::failure(format!(
            "the server's value for {} holds a control or bidirectional character; it is not written into code",
            args.id
        ))
        .with_hint(format!("rtctl tokens value {} shows it", args.id)));
    }
    let target = target(&token, args.flow.as_deref(), args.agent.as_deref())?;
    let chosen = args.flow.is_some() || args.agent.is_some();
    if let Some(note) = choice_note(&token, &target).filter(|_| !chosen) {
        ctx.printer.note(&note);
    }
    for note in state_notes(&token) {
        ctx.printer.note(&ctx.printer.command(&note));
    }
    if ctx.local.is_some() {
        ctx.printer.note(
            "the API URL is --local's, which changes every run: for a page, run `rtctl emulator` (a fixed port) and use --api-url",
        );
    }
    let embed = Embed {
        value: &value,
        target,
        api_url: ctx.settings.api_url.trim_end_matches('/'),
        widget_url: &widget_url,
    };
    ctx.printer.bytes(render(args.format, &embed).as_bytes())
}

/// A `--widget-url`: an absolute http(s) URL.
fn checked_url(text: &str) -> Result<String, CliError> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(url.to_string()),
        _ => Err(CliError::usage(format!(
            "--widget-url '{}' is not an http or https URL",
            text.escape_debug()
        ))),
    }
}

/// The flow or agent the embed names: the one asked for (which the token must allow), else
/// the token's default flow, its first flow, or its first agent.
fn target(
    token: &impl TokenView,
    flow: Option<&str>,
    agent: Option<&str>,
) -> Result<Option<Target>, CliError> {
    let flows = token.strings(Field::FlowIds);
    let agents = token.strings(Field::AgentIds);
    let chosen = match (flow, agent) {
        (Some(flow), _) if flows.contains(&flow) => Target::Flow(flow.to_string()),
        (Some(flow), _) => {
            return Err(not_allowed("flow", flow, token.id(), &flows));
        }
        (_, Some(agent)) if agents.contains(&agent) => Target::Agent(agent.to_string()),
        (_, Some(agent)) => {
            return Err(not_allowed("agent", agent, token.id(), &agents));
        }
        (None, None) => match token
            .text(Field::DefaultFlowId)
            .or_else(|| flows.first().copied())
        {
            Some(flow) => Target::Flow(flow.to_string()),
            None => match agents.first() {
                Some(agent) => Target::Agent(agent.to_string()),
                None => return Ok(None),
            },
        },
    };
    // Ids from the server go into code: they must be ids.
    let (Target::Flow(id) | Target::Agent(id)) = &chosen;
    check_id(id).map_err(|e| {
        CliError::failure(format!(
            "the token's flow or agent is not an id rtctl writes into code: {e}"
        ))
    })?;
    Ok(Some(chosen))
}

fn not_allowed(kind: &str, asked: &str, id: &str, allowed: &[&str]) -> CliError {
    CliError::usage(format!(
        "{id} does not allow the {kind} '{}'",
        asked.escape_debug()
    ))
    .with_hint(if allowed.is_empty() {
        format!("it has no {kind}s")
    } else {
        format!("its {kind}s: {}", allowed.join(", "))
    })
}

/// Says which of several flows and agents the embed names, and how to name another.
fn choice_note(token: &impl TokenView, target: &Option<Target>) -> Option<String> {
    let choices = token.strings(Field::FlowIds).len() + token.strings(Field::AgentIds).len();
    let (kind, id) = target.as_ref()?.named("flow", "agent");
    (choices > 1).then(|| {
        format!("the embed names the {kind} {id}, one of the token's {choices} flows and agents: --flow ID or --agent ID names another")
    })
}

/// What a page with this embed will meet: an inactive token's widget is refused now, a
/// retiring one's once the rollover is finished.
fn state_notes(token: &impl TokenView) -> Vec<String> {
    let id = token.id();
    let mut notes = Vec::new();
    if !token.is_active() {
        notes.push(format!(
            "{id} is inactive: the widget refuses this embed until the token is activated (rtctl tokens update {id} --activate)"
        ));
    }
    if let Some(mark) = token.retiring() {
        let after = crate::token::marks::minute(mark.after);
        notes.push(match check_id(&mark.successor) {
            Ok(()) => format!(
                "{id} is retiring (rolled over to {successor}): this embed stops working once it is retired, after {after}; embed the successor's instead: rtctl tokens snippet {successor}",
                successor = mark.successor
            ),
            Err(_) => format!(
                "{id} is retiring: this embed stops working once it is retired, after {after}"
            ),
        });
    }
    notes
}

/// The snippet's text, ending in a newline.
fn render(format: SnippetFormat, embed: &Embed<'_>) -> String {
    match format {
        SnippetFormat::Script => {
            let mut attributes = vec![("data-runtype-token", embed.value)];
            attributes.extend(
                embed
                    .target
                    .as_ref()
                    .map(|t| t.named("data-flow-id", "data-agent-id")),
            );
            attributes.push(("data-api-url", embed.api_url));
            let mut out = format!("<script src=\"{}\"", html(embed.widget_url));
            for (name, value) in attributes {
                out.push_str(&format!("\n  {name}=\"{}\"", html(value)));
            }
            out.push_str("></script>\n");
            out
        }
        SnippetFormat::Esm => format!(
            "// npm install @runtypelabs/persona\nimport '@runtypelabs/persona/widget.css';\nimport {{ initAgentWidget }} from '@runtypelabs/persona';\n\ninitAgentWidget({{\n  target: 'body',\n  config: {{\n{}  }},\n}});\n",
            config_lines(embed, "    ")
        ),
        SnippetFormat::React => format!(
            "// npm install @runtypelabs/persona\nimport {{ useEffect }} from 'react';\nimport '@runtypelabs/persona/widget.css';\nimport {{ initAgentWidget }} from '@runtypelabs/persona';\n\nexport function ChatWidget() {{\n  useEffect(() => {{\n    const handle = initAgentWidget({{\n      target: 'body',\n      config: {{\n{}      }},\n    }});\n    return () => handle.destroy();\n  }}, []);\n  return null;\n}}\n",
            config_lines(embed, "        ")
        ),
    }
}

/// The widget config's lines for the modules: `clientToken`, the flow or agent, `apiUrl`.
fn config_lines(embed: &Embed<'_>, indent: &str) -> String {
    let mut pairs = vec![("clientToken", embed.value)];
    pairs.extend(embed.target.as_ref().map(|t| t.named("flowId", "agentId")));
    pairs.push(("apiUrl", embed.api_url));
    pairs
        .into_iter()
        .map(|(key, value)| format!("{indent}{key}: {},\n", js(value)))
        .collect()
}

/// Text as an HTML attribute value (double-quoted).
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Text as a JavaScript string literal: JSON's, with `<` escaped so no `</script>` can close
/// an enclosing tag.
fn js(text: &str) -> String {
    serde_json::to_string(text)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ClientToken;
    use serde_json::json;

    fn token(fields: serde_json::Value) -> ClientToken {
        let mut raw = json!({"id": "ct_1"});
        for (k, v) in fields.as_object().unwrap() {
            raw[k] = v.clone();
        }
        ClientToken::from_value(raw).unwrap()
    }

    fn embed<'a>(value: &'a str, target: Option<Target>) -> Embed<'a> {
        Embed {
            value,
            target,
            api_url: "https://api.runtype.com",
            widget_url: INSTALLER_URL,
        }
    }

    #[test]
    fn each_format_is_the_documented_embed() {
        let flow = Some(Target::Flow("flow_1".into()));
        assert_eq!(
            render(SnippetFormat::Script, &embed("ct_live_abc", flow.clone())),
            format!(
                "<script src=\"{INSTALLER_URL}\"\n  data-runtype-token=\"ct_live_abc\"\n  data-flow-id=\"flow_1\"\n  data-api-url=\"https://api.runtype.com\"></script>\n"
            )
        );
        let esm = render(SnippetFormat::Esm, &embed("ct_live_abc", flow));
        assert!(
            esm.contains("    clientToken: \"ct_live_abc\",\n    flowId: \"flow_1\",\n    apiUrl: \"https://api.runtype.com\",\n"),
            "{esm}"
        );
        let react = render(
            SnippetFormat::React,
            &embed("ct_live_abc", Some(Target::Agent("agent_1".into()))),
        );
        assert!(react.contains("        agentId: \"agent_1\",\n"), "{react}");
        assert!(react.contains("return () => handle.destroy();"), "{react}");
        let bare = render(SnippetFormat::Script, &embed("ct_live_abc", None));
        assert!(!bare.contains("data-flow-id") && !bare.contains("data-agent-id"));
    }

    #[test]
    fn text_from_outside_is_escaped_for_where_it_goes() {
        let hostile = "ct_live_\"><img src=x onerror=alert(1)></script>'";
        let script = render(SnippetFormat::Script, &embed(hostile, None));
        assert!(!script.contains("\"><img"), "{script}");
        assert!(script.contains("&quot;&gt;&lt;img"), "{script}");
        assert_eq!(script.matches("</script>").count(), 1);
        let esm = render(SnippetFormat::Esm, &embed(hostile, None));
        assert!(
            esm.contains(
                r#"clientToken: "ct_live_\">\u003cimg src=x onerror=alert(1)>\u003c/script>'","#
            ),
            "{esm}"
        );
        assert!(!esm.contains("</script>"), "{esm}");
        assert!(checked_url("javascript:alert(1)").is_err());
        assert!(checked_url("/persona/install.global.js").is_err());
        assert_eq!(
            checked_url("https://cdn.example.com/p/install.global.js").unwrap(),
            "https://cdn.example.com/p/install.global.js"
        );
    }

    #[test]
    fn inactive_and_retiring_tokens_get_a_note() {
        assert!(state_notes(&token(json!({"name": "Docs", "isActive": true}))).is_empty());
        let off = state_notes(&token(json!({"name": "Docs", "isActive": false})));
        assert!(off[0].contains("ct_1 is inactive"), "{off:?}");
        let name = "Docs (retiring after 2030-01-01T00:00Z → ct_2)";
        let retiring = state_notes(&token(json!({"name": name})));
        assert!(
            retiring[0].contains("rolled over to ct_2")
                && retiring[0].contains("rtctl tokens snippet ct_2"),
            "{retiring:?}"
        );
    }

    #[test]
    fn the_flow_is_the_default_then_the_first_then_an_agent() {
        let t = token(json!({"flowIds": ["f1", "f2"], "defaultFlowId": "f2"}));
        assert_eq!(
            target(&t, None, None).unwrap(),
            Some(Target::Flow("f2".into()))
        );
        assert!(choice_note(&t, &Some(Target::Flow("f2".into()))).is_some());
        let t = token(json!({"flowIds": ["f1"], "agentIds": []}));
        assert_eq!(
            target(&t, None, None).unwrap(),
            Some(Target::Flow("f1".into()))
        );
        assert!(choice_note(&t, &Some(Target::Flow("f1".into()))).is_none());
        let t = token(json!({"flowIds": [], "agentIds": ["a1", "a2"]}));
        assert_eq!(
            target(&t, None, None).unwrap(),
            Some(Target::Agent("a1".into()))
        );
        assert_eq!(
            target(&t, None, Some("a2")).unwrap(),
            Some(Target::Agent("a2".into()))
        );
        assert!(
            target(&t, Some("f1"), None).is_err(),
            "not the token's flow"
        );
        assert!(target(&t, None, Some("a3")).is_err());
        let t = token(json!({"flowIds": ["flow/../x"]}));
        assert!(target(&t, None, None).is_err(), "not an id");
        assert_eq!(target(&token(json!({})), None, None).unwrap(), None);
    }
}
