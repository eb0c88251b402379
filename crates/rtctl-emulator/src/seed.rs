//! The demo data `--seed demo` starts with: a handful of realistic tokens covering the cases
//! users and tests meet first (test and live, exact, wildcard, bare-host and `native` origins,
//! an inactive token, a legacy token without a stored value) and a few conversations.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::ids;
use super::model::{
    ConversationRecord, Sighting, SurfaceItem, SurfaceRecord, TokenRecord, iso_millis,
};
use super::state::State;
use rtctl_model::token::Field;

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
    /// The chat surface the token is bound to (`productSurfaceId`).
    surface: Option<&'static str>,
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
        surface: Some("surf_0d3e00000000c001"),
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
        surface: Some("surf_0d3e00000000c005"),
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
        surface: Some("surf_0d3e00000000c002"),
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
        surface: None,
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
        surface: Some("surf_0d3e00000000c003"),
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
        surface: None,
    },
];

/// A fresh state for `seed`, dated relative to `now`.
pub(super) fn state(seed: Seed, now: Timestamp) -> State {
    let mut state = State::empty();
    if seed == Seed::Demo {
        add_demo(&mut state, now);
        let ids = |list: fn(&DemoToken) -> &'static [&'static str]| {
            DEMO.iter()
                .flat_map(list)
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        };
        state.catalogue().add(&ids(|d| d.flows), &ids(|d| d.agents));
        add_surfaces(&mut state, now);
        last_used_from_sightings(&mut state);
    }
    state
}

/// A token whose surface saw an origin it admits was used then: its `lastUsedAt` is the
/// latest such sighting (when later than its last conversation), so `tokens get` and
/// `origins traffic` tell a new user the same story.
fn last_used_from_sightings(state: &mut State) {
    use rtctl_model::token::TokenView;
    let sightings = state.observed_origins.clone();
    for token in state.client_tokens.iter_mut() {
        let Some(surface) = token.text(Field::ProductSurfaceId).map(str::to_string) else {
            continue;
        };
        let allowed: Vec<String> = token.origins().into_iter().map(str::to_string).collect();
        let environment = token.environment().to_string();
        let latest = sightings
            .iter()
            .filter(|s| s.surface_id == surface && token.is_active())
            .filter(|s| {
                let header = (s.origin != "native").then_some(s.origin.as_str());
                rtctl_model::origin::admit(&allowed, header, &environment).is_some()
            })
            .map(|s| s.last_seen_at)
            .max();
        let before = token.time(Field::LastUsedAt);
        if let Some(latest) = latest.filter(|l| before.is_none_or(|b| *l > b)) {
            token.set_time(Field::LastUsedAt, latest);
        }
    }
}

/// A demo surface: (id, product id, product name, name, type, status, environment, items).
type DemoSurface = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Two products: a store with a production and a development chat surface (and a paused
/// one, and an API surface), and docs whose chat surface shares the store's name "Web chat",
/// so `--surface` needs the PRODUCT/SURFACE form there.
const SURFACES: &[DemoSurface] = &[
    (
        "surf_0d3e00000000c001",
        "prod_0d3e00000000b001",
        "Example Store",
        "Web chat",
        "chat",
        "active",
        "production",
        &["flow_support_01", "flow_sales_02"],
    ),
    (
        "surf_0d3e00000000c002",
        "prod_0d3e00000000b001",
        "Example Store",
        "Web chat (dev)",
        "chat",
        "active",
        "development",
        &["flow_support_01", "flow_sales_02"],
    ),
    (
        "surf_0d3e00000000c003",
        "prod_0d3e00000000b001",
        "Example Store",
        "Checkout chat",
        "chat",
        "paused",
        "production",
        &["flow_checkout_03"],
    ),
    (
        "surf_0d3e00000000c004",
        "prod_0d3e00000000b001",
        "Example Store",
        "Public API",
        "api",
        "active",
        "production",
        &["flow_support_01"],
    ),
    (
        "surf_0d3e00000000c005",
        "prod_0d3e00000000b002",
        "Example Docs",
        "Web chat",
        "chat",
        "active",
        "production",
        &["agent_docs_01"],
    ),
];

/// Origins the demo surfaces were called from: (surface, origin, first seen and last seen,
/// in minutes ago). The store's production chat is called from a shop its token does not
/// admit (a broken embed out of the box); the docs' wildcard is used by two sites only.
const SIGHTINGS: &[(&str, &str, i64, i64)] = &[
    (
        "surf_0d3e00000000c001",
        "https://www.example.com",
        6 * 1440,
        120,
    ),
    (
        "surf_0d3e00000000c001",
        "https://shop.example.com",
        3 * 1440,
        25,
    ),
    (
        "surf_0d3e00000000c002",
        "http://localhost:3000",
        5 * 1440,
        60,
    ),
    (
        "surf_0d3e00000000c002",
        "http://localhost:5173",
        2 * 1440,
        180,
    ),
    (
        "surf_0d3e00000000c005",
        "https://docs.example.com",
        6 * 1440,
        10,
    ),
    (
        "surf_0d3e00000000c005",
        "https://api.example.com",
        4 * 1440,
        1440,
    ),
];

fn add_surfaces(state: &mut State, now: Timestamp) {
    let ago = |minutes: i64| now - SignedDuration::from_mins(minutes);
    for (index, (id, product_id, product_name, name, kind, status, environment, items)) in
        SURFACES.iter().enumerate()
    {
        let created = ago(60 * 24 * (200 - 10 * index as i64));
        state.insert_surface(SurfaceRecord {
            id: id.to_string(),
            product_id: product_id.to_string(),
            product_name: product_name.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            status: status.to_string(),
            environment: environment.to_string(),
            items: items
                .iter()
                .enumerate()
                .map(|(i, target)| SurfaceItem {
                    id: format!("item_{}_{i}", &id[id.len() - 4..]),
                    flow_id: target.starts_with("flow_").then(|| target.to_string()),
                    agent_id: target.starts_with("agent_").then(|| target.to_string()),
                    enabled: true,
                    exposed_name: Some(target.replace('_', " ")),
                })
                .collect(),
            created_at: created,
            updated_at: created,
        });
    }
    for (surface, origin, first, last) in SIGHTINGS {
        state.observed_origins.push(Sighting {
            surface_id: surface.to_string(),
            origin: origin.to_string(),
            first_seen_at: ago(*first),
            last_seen_at: ago(*last),
        });
    }
}

fn add_demo(state: &mut State, now: Timestamp) {
    for demo in DEMO {
        let created = now - SignedDuration::from_hours(24 * demo.age_days);
        let value = ids::token_value(demo.environment);
        let mut last_used = None;
        for (i, (origin, message)) in demo.conversations.iter().enumerate() {
            // A conversation from a page its surface saw lately (and the token admits) is
            // that sighting's.
            let allowed: Vec<String> = demo.origins.iter().map(|o| o.to_string()).collect();
            let admitted = demo.active
                && rtctl_model::origin::admit(&allowed, Some(origin), demo.environment).is_some();
            let seen = SIGHTINGS
                .iter()
                .find(|(surface, from, _, _)| demo.surface == Some(*surface) && from == origin)
                .filter(|_| admitted)
                .map(|(_, _, _, last)| now - SignedDuration::from_mins(*last));
            let at = seen.unwrap_or(created + SignedDuration::from_hours(6 * (i as i64 + 1)));
            if last_used.is_none_or(|used| at > used) {
                last_used = Some(at);
            }
            state.insert_conversation(ConversationRecord {
                id: ids::conversation_id(),
                token_id: demo.id.to_string(),
                name: message.chars().take(40).collect(),
                first_message: Some(message.to_string()),
                flow_id: demo
                    .flows
                    .first()
                    .or_else(|| demo.agents.first())
                    .map(|f| f.to_string()),
                origin: Some(origin.to_string()),
                message_count: 2 * (i as u64 + 1),
                created_at: at,
                updated_at: at,
            });
        }
        let created = iso_millis::format(&created);
        let token = json!({
            "id": demo.id,
            "name": demo.name,
            "flowIds": demo.flows,
            "agentIds": demo.agents,
            "defaultFlowId": demo.flows.first(),
            "allowedOrigins": demo.origins,
            "environment": demo.environment,
            "pinToVersion": demo.legacy.then_some("published"),
            "targetAlias": (!demo.agents.is_empty()).then_some("production"),
            "rateLimitPerMinute": 10,
            "rateLimitPerHour": 200,
            "maxMessagesPerSession": (demo.environment == "live").then_some(50),
            "sessionIdleTimeoutMinutes": 30,
            "productSurfaceId": demo.surface,
            "config": demo_config(demo.name),
            "isActive": demo.active,
            "tokenPrefix": ids::token_prefix(demo.environment),
            "tokenHint": ids::token_hint(&value),
            "tokenValue": (!demo.legacy).then_some(value),
            "lastUsedAt": last_used.as_ref().map(iso_millis::format),
            "createdAt": created,
            "updatedAt": created,
        });
        if let Value::Object(mut object) = token {
            // Every field of the description is stored: what the demo does not set holds the
            // value a create would give it.
            for field in Field::ALL {
                if let Some(initial) = field.spec().initial.value() {
                    object.entry(field.json()).or_insert(initial);
                }
            }
            state.insert_token(TokenRecord::from_object(object));
        }
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
    use rtctl_model::token::TokenView;

    #[test]
    fn a_demo_token_was_last_used_when_its_surface_last_saw_an_origin_it_admits() {
        // Whole seconds: times are stored to the millisecond.
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let s = state(Seed::Demo, now);
        let used = |id: &str| {
            let token = s.client_tokens.iter().find(|t| t.id() == id).unwrap();
            now.duration_since(token.time(Field::LastUsedAt).unwrap())
        };
        // www.example.com, 2 hours ago (shop.example.com, 25 minutes ago, is refused).
        assert_eq!(used("ct_0d3e00000000a001"), SignedDuration::from_mins(120));
        assert_eq!(used("ct_0d3e00000000a002"), SignedDuration::from_mins(10));
        // Its conversation from www.example.com is that sighting's.
        let newest = s
            .conversations
            .iter()
            .filter(|c| c.token_id == "ct_0d3e00000000a001")
            .map(|c| c.created_at)
            .max();
        assert_eq!(newest, Some(now - SignedDuration::from_mins(120)));
        // An inactive token's surface saw no use of it.
        let mut s = state(Seed::Demo, now);
        let index = s
            .client_tokens
            .iter()
            .position(|t| t.id() == "ct_0d3e00000000a002")
            .unwrap();
        let token = &mut s.client_tokens[index];
        token.set(Field::IsActive, Value::Bool(false));
        token.set(Field::LastUsedAt, Value::Null);
        last_used_from_sightings(&mut s);
        assert_eq!(s.client_tokens[index].time(Field::LastUsedAt), None);
        s.client_tokens[index].set(Field::IsActive, Value::Bool(true));
        last_used_from_sightings(&mut s);
        assert_eq!(
            now.duration_since(s.client_tokens[index].time(Field::LastUsedAt).unwrap()),
            SignedDuration::from_mins(10)
        );
    }

    #[test]
    fn demo_covers_the_interesting_cases() {
        let s = state(Seed::Demo, Timestamp::now());
        let tokens = &s.client_tokens;
        assert!(tokens.iter().any(|t| t.environment() == "test"));
        assert!(tokens.iter().any(|t| t.environment() == "live"));
        assert!(tokens.iter().any(|t| t.value().is_none()));
        assert!(tokens.iter().any(|t| !t.is_active()));
        assert!(
            tokens
                .iter()
                .any(|t| t.origins().iter().any(|o| o.contains("*.")))
        );
        assert!(!s.conversations.is_empty());
        assert!(
            tokens
                .windows(2)
                .all(|w| w[0].time(Field::CreatedAt) >= w[1].time(Field::CreatedAt)),
            "newest first"
        );
        for token in tokens {
            for field in Field::ALL {
                let stored = token.object().contains_key(field.json());
                assert_eq!(
                    stored,
                    *field != Field::ConversationCount,
                    "{} {field:?}",
                    token.id()
                );
            }
        }
        assert!(state(Seed::None, Timestamp::now()).client_tokens.is_empty());
    }
}
