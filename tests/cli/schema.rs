//! The vendored OpenAPI document (`openapi/runtype-client-tokens.json`) as schemas to check
//! JSON against: every request and response schema compiled once, path templates matched.
//! Shared by the contract test (`contract.rs`) and `scripts/live-check`
//! (`examples/live-check`), which checks the real service's replies against it too.

#![allow(dead_code)]

use std::collections::HashMap;

use boon::{Compiler, Draft, SchemaIndex, Schemas};
use serde_json::Value;

/// Where the document is registered; nothing is fetched from it.
const DOC_URL: &str = "https://rtctl.invalid/openapi.json";
const DOC: &str = include_str!("../../openapi/runtype-client-tokens.json");

/// The document, and every request and response schema in it, compiled.
pub struct Document {
    pub doc: Value,
    schemas: Schemas,
    compiled: HashMap<String, SchemaIndex>,
}

/// A JSON pointer segment: `/` and `~` escaped.
pub fn segment(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

impl Document {
    /// Compiles the vendored document.
    pub fn load() -> Document {
        let doc: Value = serde_json::from_str(DOC).expect("the vendored document is JSON");
        let mut compiler = Compiler::new();
        compiler.set_default_draft(Draft::V2020_12);
        compiler
            .add_resource(DOC_URL, doc.clone())
            .expect("the document registers");
        let mut schemas = Schemas::new();
        let mut compiled = HashMap::new();
        for (path, operations) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in operations.as_object().expect("operations") {
                let base = format!("/paths/{}/{method}", segment(path));
                let mut pointers = Vec::new();
                if !operation["requestBody"].is_null() {
                    pointers.push(format!(
                        "{base}/requestBody/content/application~1json/schema"
                    ));
                }
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    if !response["content"]["application/json"]["schema"].is_null() {
                        pointers.push(format!(
                            "{base}/responses/{status}/content/application~1json/schema"
                        ));
                    }
                }
                for pointer in pointers {
                    let index = compiler
                        .compile(&format!("{DOC_URL}#{pointer}"), &mut schemas)
                        .unwrap_or_else(|e| panic!("the schema at {pointer} compiles: {e:#}"));
                    compiled.insert(pointer, index);
                }
            }
        }
        Document {
            doc,
            schemas,
            compiled,
        }
    }

    /// The document's path template that `path` matches (`/v1/client-tokens/{id}`).
    pub fn template(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.doc["paths"]
            .as_object()?
            .keys()
            .find(|template| {
                let pattern: Vec<&str> = template.split('/').collect();
                pattern.len() == parts.len()
                    && pattern
                        .iter()
                        .zip(&parts)
                        .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
            })
            .cloned()
    }

    /// Validates `value` against the schema at `pointer`; the errors as text.
    pub fn validate(&self, pointer: &str, value: &Value) -> Result<(), String> {
        self.validate_with(pointer, value, |e| format!("{e:#}"))
    }

    /// The same, each innermost error on one line: `at '/clientToken': missing properties
    /// 'tokenHint'`.
    pub fn validate_briefly(&self, pointer: &str, value: &Value) -> Result<(), String> {
        fn leaves(error: &boon::ValidationError<'_, '_>, out: &mut Vec<String>) {
            if error.causes.is_empty() {
                out.push(format!("at '{}': {}", error.instance_location, error.kind));
            }
            for cause in &error.causes {
                leaves(cause, out);
            }
        }
        self.validate_with(pointer, value, |e| {
            let mut found = Vec::new();
            leaves(e, &mut found);
            found.join("; ")
        })
    }

    fn validate_with(
        &self,
        pointer: &str,
        value: &Value,
        describe: impl Fn(&boon::ValidationError<'_, '_>) -> String,
    ) -> Result<(), String> {
        let index = *self
            .compiled
            .get(pointer)
            .ok_or_else(|| format!("the document has no schema at {pointer}"))?;
        self.schemas
            .validate(value, index)
            .map_err(|e| describe(&e))
    }

    /// What is wrong with a reply of `status` to `method path`, by the document: a status
    /// it does not list, or a JSON body its schema refuses (followed by the body when
    /// `show_body`: the live check never shows one, which may hold token values). Nothing
    /// for a route or method the document does not describe.
    pub fn reply_problems(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
        show_body: bool,
    ) -> Vec<String> {
        let Some(template) = self.template(path) else {
            return Vec::new();
        };
        let method = method.to_lowercase();
        let operation = &self.doc["paths"][&template][&method];
        if operation.is_null() {
            return Vec::new();
        }
        let what = format!("{} {path}", method.to_uppercase());
        let status = status.to_string();
        if operation["responses"][&status].is_null() {
            return vec![match show_body {
                true => format!(
                    "{what} answered {status}, which the document does not list for {template}"
                ),
                false => format!("{status} is not a status the document lists"),
            }];
        }
        if !content_type.is_some_and(|t| t.starts_with("application/json")) {
            return Vec::new();
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(reply) => {
                let pointer = format!(
                    "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
                    segment(&template)
                );
                if show_body {
                    match self.validate(&pointer, &reply) {
                        Ok(()) => Vec::new(),
                        Err(e) => vec![format!(
                            "the {status} reply to {what} breaks the document:\n{e}\n{reply}"
                        )],
                    }
                } else {
                    match self.validate_briefly(&pointer, &reply) {
                        Ok(()) => Vec::new(),
                        Err(e) => vec![format!("breaks the document: {e}")],
                    }
                }
            }
            Err(e) => vec![format!("the reply to {what} is not JSON: {e}")],
        }
    }
}
