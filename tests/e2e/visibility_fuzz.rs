//! Visibility rules against an independent model (SPEC §11, issue 15): random rules, claims and
//! writes from a seeded generator; after every round each token's pulls — from the start, and
//! page by page from its cursor applying records and removals — hold exactly the records the
//! rules allow, computed here without the server.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use syncd_e2e::*;

/// xorshift64*: reproducible without a dependency; the seed is in the failure message.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIELDS: [(&str, &str); 3] = [
    ("owner", "sub"),
    ("branch", "branches"),
    ("region", "region"),
];

struct Token {
    claims: Value,
    bypass: bool,
    cursor: Option<String>,
    local: BTreeSet<String>,
}

/// Whether the rules let `claims` see a record with `data`: any rule whose field is a string
/// equal to the claim, or contained in it when the claim is a list of strings.
fn allowed(rules: &[(&str, &str)], claims: &Value, data: &BTreeMap<&str, Option<String>>) -> bool {
    rules.iter().any(|(field, claim)| {
        let Some(Some(value)) = data.get(field) else {
            return false;
        };
        match &claims[*claim] {
            Value::String(s) => s == value,
            Value::Array(items) if items.iter().all(Value::is_string) => {
                items.iter().any(|i| i.as_str() == Some(value.as_str()))
            }
            _ => false,
        }
    })
}

fn entities(rules: &[(&str, &str)], bypass: &[&str]) -> String {
    let rules: Vec<String> = rules
        .iter()
        .map(|(f, c)| format!("{{ field = \"{f}\", claim = \"{c}\" }}"))
        .collect();
    let bypass: Vec<String> = bypass.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "[[entity]]\nname = \"items\"\nvisibility = [{}]\nvisibility_bypass_roles = [{}]\n\
         [entity.fields]\nowner = {{ type = \"string\" }}\nbranch = {{ type = \"string\" }}\n\
         region = {{ type = \"string\" }}\n",
        rules.join(", "),
        bypass.join(", ")
    )
}

fn random_token(rng: &mut Rng) -> Value {
    let mut c = claims("t", rng.pick(&["u1", "u2", "u3"]));
    match rng.below(4) {
        0 => {}
        1 => c["branches"] = json!(7),
        _ => {
            let set: Vec<&str> = ["b1", "b2", "b3"]
                .into_iter()
                .filter(|_| rng.below(2) == 0)
                .collect();
            c["branches"] = json!(set);
        }
    }
    if rng.below(2) == 0 {
        c["region"] = json!(rng.pick(&["r1", "r2"]));
    }
    if rng.below(5) == 0 {
        c["roles"] = json!(["manager"]);
    }
    c
}

fn random_value(rng: &mut Rng, field: &str) -> Option<String> {
    let choices: &[&str] = match field {
        "owner" => &["u1", "u2", "u3"],
        "branch" => &["b1", "b2", "b3"],
        _ => &["r1", "r2"],
    };
    (rng.below(4) != 0).then(|| rng.pick(choices).to_owned())
}

/// One record of the model: its rule fields, version and whether it is deleted.
struct Item {
    data: BTreeMap<&'static str, Option<String>>,
    version: i64,
}

async fn pull_pages(client: &Client, cursor: Option<&str>, token: &mut Token) {
    let mut cursor = cursor.map(str::to_owned);
    for _ in 0..1000 {
        let mut body = json!({ "entityTypes": ["items"], "limit": 3 });
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let page = client.pull_ok(&body).await;
        for r in records_of(&page, "items") {
            let id = r["id"].as_str().unwrap().to_owned();
            if r["removed"] == json!(true) {
                token.local.remove(&id);
            } else {
                token.local.insert(id);
            }
        }
        cursor = page["cursor"].as_str().map(str::to_owned);
        if page["hasMore"] != json!(true) {
            break;
        }
    }
    token.cursor = cursor;
}

async fn one_configuration(backend: Backend, seed: u64) {
    let mut rng = Rng(seed);
    let rules: Vec<(&str, &str)> = FIELDS.into_iter().filter(|_| rng.below(2) == 0).collect();
    let rules = if rules.is_empty() {
        vec![FIELDS[0]]
    } else {
        rules
    };
    let bypass: Vec<&str> = if rng.below(2) == 0 {
        vec!["writer", "manager"]
    } else {
        vec!["writer"]
    };
    let file =
        std::env::temp_dir().join(format!("syncd-vis-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, entities(&rules, &bypass)).unwrap();
    let path = file.clone();
    let app = TestApp::spawn(backend, move |s| s.sync.entities_file = Some(path)).await;
    let mut writer_claims = claims("t", "writer");
    writer_claims["roles"] = json!(["writer"]);
    let writer = app.client_with_token(app.sign(&writer_claims));
    let mut tokens: Vec<Token> = (0..4)
        .map(|_| {
            let claims = random_token(&mut rng);
            let roles = claims["roles"].as_array().cloned().unwrap_or_default();
            let bypass = roles
                .iter()
                .any(|r| bypass.contains(&r.as_str().unwrap_or("")));
            Token {
                claims,
                bypass,
                cursor: None,
                local: BTreeSet::new(),
            }
        })
        .collect();
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    for round in 0..4 {
        let mut changes = Vec::new();
        let mut touched = BTreeSet::new();
        for _ in 0..8 {
            let existing: Vec<String> = items
                .keys()
                .filter(|k| !touched.contains(*k))
                .cloned()
                .collect();
            if existing.is_empty() || rng.below(3) == 0 {
                let data: BTreeMap<&str, Option<String>> = FIELDS
                    .iter()
                    .map(|(f, _)| (*f, random_value(&mut rng, f)))
                    .collect();
                let id = new_id();
                let body: serde_json::Map<String, Value> = data
                    .iter()
                    .filter_map(|(k, v)| v.clone().map(|v| ((*k).to_owned(), json!(v))))
                    .collect();
                changes
                    .push(json!({ "entityType": "items", "op": "upsert", "id": id, "data": body }));
                touched.insert(id.clone());
                items.insert(id, Item { data, version: 1 });
            } else {
                let id = existing[rng.below(existing.len() as u64) as usize].clone();
                let item = items.get_mut(&id).unwrap();
                let field = FIELDS[rng.below(3) as usize].0;
                let value = rng.pick(match field {
                    "owner" => &["u1", "u2", "u3"],
                    "branch" => &["b1", "b2", "b3"],
                    _ => &["r1", "r2"],
                });
                changes.push(json!({ "entityType": "items", "op": "upsert", "id": id,
                    "baseVersion": item.version, "data": { field: value } }));
                item.data.insert(field, Some(value.to_owned()));
                item.version += 1;
                touched.insert(id);
            }
        }
        let res = writer.push_ok(&json!({ "changes": changes })).await;
        assert!(
            res["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] != json!("conflict_resolved")),
            "seed {seed}: {res}"
        );
        for token in &mut tokens {
            let expected: BTreeSet<String> = items
                .iter()
                .filter(|(_, item)| token.bypass || allowed(&rules, &token.claims, &item.data))
                .map(|(id, _)| id.clone())
                .collect();
            let client = app.client_with_token(app.sign(&token.claims));
            let mut fresh = Token {
                claims: token.claims.clone(),
                bypass: token.bypass,
                cursor: None,
                local: BTreeSet::new(),
            };
            pull_pages(&client, None, &mut fresh).await;
            assert_eq!(
                fresh.local, expected,
                "seed {seed} round {round} rules {rules:?} claims {}: from the start",
                token.claims
            );
            let cursor = token.cursor.clone();
            pull_pages(&client, cursor.as_deref(), token).await;
            assert_eq!(
                token.local, expected,
                "seed {seed} round {round} rules {rules:?} claims {}: by cursor",
                token.claims
            );
        }
    }
    let _ = std::fs::remove_file(file);
}

e2e! {
    async fn every_pull_holds_exactly_what_random_rules_allow(backend) {
        for seed in [0x9e37_79b9_7f4a_7c15u64, 0xd1b5_4a32_d192_ed03, 0x8cb9_2ba7_2f3d_8dd7] {
            one_configuration(backend, seed).await;
        }
    }
}
