//! Which tokens a command acts on when it is not given ids: the filters of `--all`, `list`,
//! `export` and `audit` as a value, so the rule that picks tokens is written once, apart from
//! the flags that spell it.

use super::{Field, TokenView};

/// The tokens wanted: every condition given must hold; none given admits every token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only tokens of this environment (`live`, `test`).
    pub environment: Option<String>,
    /// `Some(true)`: only active tokens; `Some(false)`: only inactive ones.
    pub active: Option<bool>,
    /// Only tokens whose name contains this, ignoring case.
    pub name_contains: Option<String>,
    /// Only tokens bound to a chat surface, as the user named it (its name,
    /// `PRODUCT/SURFACE` or its id). It selects nothing until resolved to `surface_id`:
    /// a name is not an id, and a token must never match one by accident.
    pub surface: Option<String>,
    /// The id `surface` resolved to, which a token's `productSurfaceId` is compared with.
    pub surface_id: Option<String>,
}

impl Selection {
    /// Whether `token` passes every condition given.
    pub fn admits(&self, token: &impl TokenView) -> bool {
        self.environment
            .as_ref()
            .is_none_or(|e| token.environment() == e)
            && self.active.is_none_or(|active| token.is_active() == active)
            && self
                .name_contains
                .as_ref()
                .is_none_or(|needle| token.name().to_lowercase().contains(&needle.to_lowercase()))
            && (self.surface.is_none()
                || self
                    .surface_id
                    .as_deref()
                    .is_some_and(|id| token.text(Field::ProductSurfaceId) == Some(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn token(fields: Value) -> Map<String, Value> {
        match fields {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_condition_given_must_hold() {
        let live = token(
            json!({"id": "ct_1", "name": "Docs Widget", "environment": "live",
            "isActive": true, "productSurfaceId": "s1"}),
        );
        let test = token(json!({"id": "ct_2", "name": "Shop", "environment": "test",
            "isActive": false}));
        assert!(Selection::default().admits(&live) && Selection::default().admits(&test));
        let wanted = Selection {
            environment: Some("live".into()),
            active: Some(true),
            name_contains: Some("docs w".into()),
            ..Selection::default()
        };
        assert!(wanted.admits(&live) && !wanted.admits(&test));
        let inactive = Selection {
            active: Some(false),
            ..Selection::default()
        };
        assert!(!inactive.admits(&live) && inactive.admits(&test));
    }

    #[test]
    fn a_surface_selects_nothing_until_it_is_resolved() {
        let bound = token(json!({"id": "ct_1", "productSurfaceId": "s1"}));
        let named = Selection {
            surface: Some("s1".into()),
            ..Selection::default()
        };
        assert!(!named.admits(&bound), "a name is never compared with an id");
        let resolved = Selection {
            surface_id: Some("s1".into()),
            ..named
        };
        assert!(resolved.admits(&bound));
    }
}
