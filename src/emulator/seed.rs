//! The demo data `--seed demo` starts with: a handful of realistic tokens covering the cases
//! users and tests meet first (test and live, exact, wildcard, bare-host and `native` origins,
//! an inactive token, a legacy token without a stored value) and a few conversations.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::ids;
use super::model::{ConversationRecord, TokenRecord};
use super::state::State;

/// What a new state starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    Demo,
    None,
}

impl std::str::FromStr for Seed {
    type Err = String;

    fn from_str(s: &str) -> Result<Seed, String> {
        match s {
            "demo" => Ok(Seed::Demo),
            "none" => Ok(Seed::None),
            other => Err(format!("unknown seed '{other}' (expected demo or none)")),
        }
    }
}

struct DemoToken {
    /// Fixed, so the README's examples and a user's notes work on any fresh `--local` state.
    id: &'static str,
    name: &'static str,
    environment: &'static str,
    origins: &'static [&'static str],
    flows: &'static [&'static str],
    agents: &'static [&'static str],
    age_days: i64,
    active: bool,
    legacy: bool,
    conversations: &'static [(&'static str, &'static str)],
}

const DEMO: &[DemoToken] = &[
    DemoToken {
        id: "ct_0d3e00000000a001",
        name: "Marketing site widget",
        environment: "live",
        origins: &["https://www.example.com", "https://example.com"],
        flows: &["flow_support_01"],
        agents: &[],
        age_days: 41,
        active: true,
        legacy: false,
        conversations: &[
            ("https://www.example.com", "Do you ship to Canada?"),
            ("https://example.com", "How do I reset my password?"),
        ],
    },
    DemoToken {
        id: "ct_0d3e00000000a002",
        name: "Docs assistant",
        environment: "live",
        origins: &["https://*.example.com"],
        flows: &[],
        agents: &["agent_docs_01"],
        age_days: 17,
        active: true,
        legacy: false,
        conversations: &[("https://docs.example.com", "Where is the API reference?")],
    },
    DemoToken {
        id: "ct_0d3e00000000a003",
        name: "Staging playground",
        environment: "test",
        origins: &["https://staging.example.com", "http://localhost:3000"],
        flows: &["flow_support_01", "flow_sales_02"],
        agents: &[],
        age_days: 6,
        active: true,
        legacy: false,
        conversations: &[("http://localhost:5173", "test message")],
    },
    DemoToken {
        id: "ct_0d3e00000000a004",
        name: "Mobile app",
        environment: "live",
        origins: &["native"],
        flows: &[],
        agents: &["agent_mobile_01"],
        age_days: 3,
        active: true,
        legacy: false,
        conversations: &[],
    },
    DemoToken {
        id: "ct_0d3e00000000a005",
        name: "Old checkout widget",
        environment: "test",
        origins: &["https://checkout.example.com"],
        flows: &["flow_checkout_03"],
        agents: &[],
        age_days: 120,
        active: false,
        legacy: false,
        conversations: &[],
    },
    DemoToken {
        id: "ct_0d3e00000000a006",
        name: "Legacy help widget",
        environment: "live",
        origins: &["example.org", "*.example.org"],
        flows: &["flow_help_04"],
        agents: &[],
        age_days: 400,
        active: true,
        legacy: true,
        conversations: &[("https://help.example.org", "Is this still supported?")],
    },
];

/// A fresh state for `seed`, dated relative to now.
pub fn state(seed: Seed) -> State {
    let mut state = State::empty();
    if seed == Seed::Demo {
        add_demo(&mut state, Timestamp::now());
    }
    state
}

fn add_demo(state: &mut State, now: Timestamp) {
    for demo in DEMO {
        let created = now - SignedDuration::from_hours(24 * demo.age_days);
        let value = ids::token_value(demo.environment);
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let token = TokenRecord {
            id: demo.id.to_string(),
            name: Some(demo.name.to_string()),
            flow_ids: strings(demo.flows),
            agent_ids: strings(demo.agents),
            default_flow_id: demo.flows.first().map(|f| f.to_string()),
            allowed_origins: strings(demo.origins),
            environment: demo.environment.to_string(),
            pin_to_version: demo.legacy.then(|| "published".to_string()),
            target_alias: (!demo.agents.is_empty()).then(|| "production".to_string()),
            target_version_id: None,
            product_surface_id: None,
            rate_limit_per_minute: Some(10),
            rate_limit_per_hour: Some(200),
            max_messages_per_session: (demo.environment == "live").then_some(50),
            session_idle_timeout_minutes: Some(30),
            config: demo_config(demo.name),
            is_active: demo.active,
            token_prefix: ids::token_prefix(demo.environment),
            token_hint: Some(ids::token_hint(&value)),
            token_value: (!demo.legacy).then_some(value),
            last_used_at: None,
            created_at: created,
            updated_at: created,
        };
        let mut last_used = None;
        for (i, (origin, message)) in demo.conversations.iter().enumerate() {
            let at = created + SignedDuration::from_hours(6 * (i as i64 + 1));
            last_used = Some(at);
            state.insert_conversation(ConversationRecord {
                id: ids::conversation_id(),
                token_id: token.id.clone(),
                name: message.chars().take(40).collect(),
                first_message: Some(message.to_string()),
                flow_id: token
                    .default_flow_id
                    .clone()
                    .or_else(|| token.agent_ids.first().cloned()),
                origin: Some(origin.to_string()),
                message_count: 2 * (i as u64 + 1),
                created_at: at,
                updated_at: at,
            });
        }
        state.insert_token(TokenRecord {
            last_used_at: last_used,
            ..token
        });
    }
}

fn demo_config(name: &str) -> Map<String, Value> {
    match json!({
        "welcomeMessage": format!("Hi! This is the {name}. How can I help?"),
        "placeholder": "Ask a question…",
        "theme": {"primaryColor": "#4f46e5", "mode": "light"},
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_covers_the_interesting_cases() {
        let s = state(Seed::Demo);
        let tokens = &s.client_tokens;
        assert!(tokens.iter().any(|t| t.environment == "test"));
        assert!(tokens.iter().any(|t| t.environment == "live"));
        assert!(tokens.iter().any(|t| t.token_value.is_none()));
        assert!(tokens.iter().any(|t| !t.is_active));
        assert!(
            tokens
                .iter()
                .any(|t| t.allowed_origins.iter().any(|o| o.contains("*.")))
        );
        assert!(!s.conversations.is_empty());
        assert!(
            tokens
                .windows(2)
                .all(|w| w[0].created_at >= w[1].created_at),
            "newest first"
        );
        assert!(state(Seed::None).client_tokens.is_empty());
    }
}
