//! Per-function IAM, for real: every AWS call a function makes goes through this proxy on its way to
//! moto. The call's access key names the function (each function runs with its own); the proxy works
//! out what IAM would authorise (the action and resource of each part of the call: every item of a
//! transaction, every table of a batch, the partition keys for `dynamodb:LeadingKeys`) and evaluates the
//! statements of the managed policies the template gives that function. A call its policies do not
//! allow is refused the way AWS refuses it (`AccessDeniedException`), shown on the console and kept for
//! `GET /_rehearsal/denials`, so a route that needs a permission its policy lacks fails here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::http_server::{self, Answer};
use crate::logs::Logs;
use crate::template::{ACCOUNT, REGION, text};

/// One thing IAM authorises.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub action: String,
    pub resource: String,
    /// The partition key values the call touches (DynamoDB item calls), for `dynamodb:LeadingKeys`.
    pub leading_keys: Option<Vec<String>>,
}

/// Whether the statements allow `access`; the reason when they do not.
pub fn evaluate(statements: &[Value], access: &Access) -> Result<(), String> {
    let mut allowed = false;
    for statement in statements {
        if !applies(statement, access) {
            continue;
        }
        if statement["Effect"] == "Deny" {
            return Err(format!("an explicit Deny refuses {}", access.action));
        }
        allowed = true;
    }
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "no identity-based policy allows the {} action on {}{}",
            access.action,
            access.resource,
            access
                .leading_keys
                .as_ref()
                .map(|keys| format!(" (partition keys {})", keys.join(", ")))
                .unwrap_or_default()
        ))
    }
}

fn values(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![text(other)],
    }
}

fn applies(statement: &Value, access: &Access) -> bool {
    let action_matches = |patterns: &Value| {
        values(patterns)
            .iter()
            .any(|p| wildcard(&p.to_ascii_lowercase(), &access.action.to_ascii_lowercase()))
    };
    let resource_matches = |patterns: &Value| {
        values(patterns)
            .iter()
            .any(|p| wildcard(p, &access.resource))
    };
    let action = if statement["Action"].is_null() {
        !action_matches(&statement["NotAction"])
    } else {
        action_matches(&statement["Action"])
    };
    let resource = if statement["Resource"].is_null() {
        !resource_matches(&statement["NotResource"])
    } else {
        resource_matches(&statement["Resource"])
    };
    action && resource && conditions_hold(&statement["Condition"], access)
}

/// The conditions the template uses; any other condition does not hold (the call is refused and the
/// reason names the statement), so a policy the rehearsal cannot read never passes silently.
fn conditions_hold(condition: &Value, access: &Access) -> bool {
    let Some(operators) = condition.as_object() else {
        return true;
    };
    operators.iter().all(|(operator, keys)| {
        keys.as_object()
            .into_iter()
            .flatten()
            .all(|(key, patterns)| match (operator.as_str(), key.as_str()) {
                ("ForAllValues:StringLike", "dynamodb:LeadingKeys") => {
                    access.leading_keys.as_ref().is_some_and(|leading| {
                        leading
                            .iter()
                            .all(|value| values(patterns).iter().any(|p| wildcard(p, value)))
                    })
                }
                ("ForAllValues:StringEquals", "dynamodb:LeadingKeys") => {
                    access.leading_keys.as_ref().is_some_and(|leading| {
                        leading.iter().all(|value| values(patterns).contains(value))
                    })
                }
                _ => false,
            })
    })
}

/// IAM's wildcards: `*` any run of characters, `?` one.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    let (pattern, value) = (pattern.as_bytes(), value.as_bytes());
    let (mut p, mut v, mut star, mut mark) = (0, 0, None, 0);
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = v;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            v = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

/// What a DynamoDB call asks IAM for.
pub fn dynamodb_accesses(operation: &str, body: &Value) -> Vec<Access> {
    let table = |value: &Value| table_arn(&text(&value["TableName"]));
    let partition = |key: &Value| key["pk"]["S"].as_str().map(|pk| vec![pk.to_owned()]);
    let item = |action: &str, value: &Value, key: &Value| Access {
        action: format!("dynamodb:{action}"),
        resource: table(value),
        leading_keys: partition(key),
    };
    match operation {
        "GetItem" | "UpdateItem" | "DeleteItem" => {
            vec![item(operation, body, &body["Key"])]
        }
        "PutItem" => vec![item(operation, body, &body["Item"])],
        "Query" | "Scan" => vec![Access {
            action: format!("dynamodb:{operation}"),
            resource: match body["IndexName"].as_str() {
                Some(index) => format!("{}/index/{index}", table(body)),
                None => table(body),
            },
            leading_keys: None,
        }],
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| Access {
                action: format!("dynamodb:{operation}"),
                resource: table_arn(name),
                leading_keys: None,
            })
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let (kind, part) = entry.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    _ => return None,
                };
                let key = if kind == "Put" {
                    &part["Item"]
                } else {
                    &part["Key"]
                };
                Some(item(action, part, key))
            })
            .collect(),
        other => vec![Access {
            action: format!("dynamodb:{other}"),
            resource: table(body),
            leading_keys: None,
        }],
    }
}

/// The proxy between the functions and moto.
pub struct AwsProxy {
    moto: String,
    client: reqwest::Client,
    /// Access key id → (function, its policy statements).
    principals: HashMap<String, (String, Vec<Value>)>,
    denials: Mutex<Vec<Value>>,
    /// (function, action) → (calls, total milliseconds in moto), for `GET /_rehearsal/aws-calls`.
    calls: Mutex<std::collections::BTreeMap<(String, String), (u64, f64)>>,
    logs: Logs,
}

impl AwsProxy {
    pub fn new(
        moto: &str,
        principals: HashMap<String, (String, Vec<Value>)>,
        logs: Logs,
    ) -> Arc<Self> {
        Arc::new(Self {
            moto: moto.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            principals,
            denials: Mutex::new(Vec::new()),
            calls: Mutex::new(std::collections::BTreeMap::new()),
            logs,
        })
    }

    pub fn denials(&self) -> Vec<Value> {
        self.denials.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Every AWS call the functions made, by function and action: how many and the time moto took.
    pub fn calls(&self) -> Vec<Value> {
        self.calls
            .lock()
            .map(|calls| {
                calls
                    .iter()
                    .map(|((function, action), (count, total))| {
                        json!({"function": function, "action": action, "calls": count,
                               "total_ms": (total * 10.0).round() / 10.0,
                               "mean_ms": (total / *count as f64 * 100.0).round() / 100.0})
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What a call asks IAM for: by its signing service and its shape.
    fn accesses(&self, service: &str, parts: &http::request::Parts, body: &Bytes) -> Vec<Access> {
        let path = parts.uri.path();
        let method = parts.method.as_str();
        match service {
            "dynamodb" => {
                let operation = parts
                    .headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|t| t.split_once('.'))
                    .map(|(_, op)| op.to_owned())
                    .unwrap_or_default();
                let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                dynamodb_accesses(&operation, &json)
            }
            "ses" if method == "POST" && path == "/v2/email/outbound-emails" => {
                let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let from = text(&json["FromEmailAddress"]);
                let address = from
                    .rsplit_once('<')
                    .map(|(_, a)| a.trim_end_matches('>').to_owned())
                    .unwrap_or(from);
                let domain = address
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_owned())
                    .unwrap_or_default();
                // SES authorises the verified identity the address belongs to: the address or its domain.
                vec![Access {
                    action: "ses:SendEmail".into(),
                    resource: format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}"),
                    leading_keys: None,
                }]
                .into_iter()
                .chain([Access {
                    action: "ses:SendEmail".into(),
                    resource: format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{address}"),
                    leading_keys: None,
                }])
                .collect()
            }
            "sns" => {
                let form: HashMap<String, String> =
                    form_urlencoded::parse(body).into_owned().collect();
                let action = form.get("Action").cloned().unwrap_or_default();
                let resource = form
                    .get("TopicArn")
                    .or_else(|| form.get("TargetArn"))
                    .cloned()
                    // Publishing to a phone number has no ARN to authorise.
                    .unwrap_or_else(|| "*".into());
                vec![Access {
                    action: format!("sns:{action}"),
                    resource,
                    leading_keys: None,
                }]
            }
            "s3" => {
                let mut segments = path.trim_start_matches('/').splitn(2, '/');
                let bucket = segments.next().unwrap_or_default();
                let key = segments.next().unwrap_or_default();
                let query = parts.uri.query().unwrap_or_default();
                let (action, resource) = match (method, key.is_empty()) {
                    ("GET", true) => ("s3:ListBucket", format!("arn:aws:s3:::{bucket}")),
                    ("POST", true) if query.contains("delete") => {
                        ("s3:DeleteObject", format!("arn:aws:s3:::{bucket}/*"))
                    }
                    ("PUT", false) => ("s3:PutObject", format!("arn:aws:s3:::{bucket}/{key}")),
                    ("DELETE", false) => {
                        ("s3:DeleteObject", format!("arn:aws:s3:::{bucket}/{key}"))
                    }
                    ("GET" | "HEAD", false) => {
                        ("s3:GetObject", format!("arn:aws:s3:::{bucket}/{key}"))
                    }
                    _ => ("s3:Unknown", format!("arn:aws:s3:::{bucket}")),
                };
                vec![Access {
                    action: action.into(),
                    resource,
                    leading_keys: None,
                }]
            }
            "cloudfront" => {
                let distribution = path
                    .split('/')
                    .skip_while(|s| *s != "distribution")
                    .nth(1)
                    .unwrap_or_default();
                let action = if path.ends_with("/invalidation") && method == "POST" {
                    "cloudfront:CreateInvalidation"
                } else {
                    "cloudfront:Unknown"
                };
                vec![Access {
                    action: action.into(),
                    resource: format!("arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution}"),
                    leading_keys: None,
                }]
            }
            other => vec![Access {
                action: format!("{other}:{method} {path}"),
                resource: "*".into(),
                leading_keys: None,
            }],
        }
    }

    /// Whether `function` may make a DynamoDB call (`operation` with its JSON `body`), by its template
    /// policies: `Ok` or the reason IAM would give. For `POST /_rehearsal/iam-check`, so tests can show
    /// the policies the functions run with refuse what they should.
    pub fn check_dynamodb(
        &self,
        function: &str,
        operation: &str,
        body: &Value,
    ) -> Result<(), String> {
        let (_, statements) = self
            .principals
            .values()
            .find(|(name, _)| name == function)
            .ok_or_else(|| format!("no function {function}"))?;
        dynamodb_accesses(operation, body)
            .iter()
            .try_for_each(|access| evaluate(statements, access))
    }

    /// Checks one call and passes it on to moto.
    pub async fn handle(
        &self,
        parts: http::request::Parts,
        body: Bytes,
        _peer: SocketAddr,
    ) -> Answer {
        let authorization = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let scope: Vec<&str> = authorization
            .split("Credential=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .map(|credential| credential.split('/').collect())
            .unwrap_or_default();
        let (Some(key_id), Some(service)) = (scope.first(), scope.get(3)) else {
            return http_server::json(403, &json!({"message": "unsigned request"}));
        };
        let Some((function, statements)) = self.principals.get(*key_id) else {
            return http_server::json(403, &json!({"message": "unknown access key"}));
        };
        let accesses = self.accesses(service, &parts, &body);
        let refusal = if *service == "ses" {
            // Either identity (address or domain) is enough.
            let reasons: Vec<String> = accesses
                .iter()
                .filter_map(|a| evaluate(statements, a).err())
                .collect();
            (reasons.len() == accesses.len()).then(|| reasons.join("; "))
        } else {
            accesses.iter().find_map(|a| evaluate(statements, a).err())
        };
        if let Some(reason) = refusal {
            let message = format!(
                "User: arn:aws:sts::{ACCOUNT}:assumed-role/{function}Role/{function} is not authorized: {reason}"
            );
            self.logs
                .rehearsal(&format!("IAM DENIED {function}: {reason}"));
            if let Ok(mut denials) = self.denials.lock() {
                denials.push(json!({ "function": function, "reason": reason }));
            }
            return match *service {
                "dynamodb" => {
                    let mut answer = http_server::answer(
                        400,
                        "application/x-amz-json-1.0",
                        Bytes::from(
                            json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message})
                                .to_string(),
                        ),
                    );
                    answer.headers_mut().insert(
                        "x-amzn-errortype",
                        http::HeaderValue::from_static("AccessDeniedException"),
                    );
                    answer
                }
                "ses" => {
                    let mut answer = http_server::json(403, &json!({"message": message}));
                    answer.headers_mut().insert(
                        "x-amzn-errortype",
                        http::HeaderValue::from_static("AccessDeniedException"),
                    );
                    answer
                }
                _ => http_server::answer(
                    403,
                    "text/xml",
                    Bytes::from(format!(
                        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error></ErrorResponse>"
                    )),
                ),
            };
        }
        let action = match parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.split_once('.'))
        {
            Some((_, operation)) => format!("dynamodb:{operation}"),
            None => accesses
                .first()
                .map(|a| a.action.clone())
                .unwrap_or_default(),
        };
        let started = std::time::Instant::now();
        let answer = self.forward(parts, body).await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if let Ok(mut calls) = self.calls.lock() {
            let entry = calls.entry((function.clone(), action)).or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += elapsed;
        }
        answer
    }

    async fn forward(&self, parts: http::request::Parts, body: Bytes) -> Answer {
        let url = format!(
            "{}{}",
            self.moto,
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        let mut request = self.client.request(parts.method.clone(), url).body(body);
        for (name, value) in &parts.headers {
            if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.bytes().await.unwrap_or_default();
                let mut answer = http_server::answer(status, "application/octet-stream", body);
                let out = answer.headers_mut();
                out.remove(http::header::CONTENT_TYPE);
                for (name, value) in &headers {
                    if name != http::header::CONTENT_LENGTH
                        && name != http::header::TRANSFER_ENCODING
                        && name != http::header::CONNECTION
                    {
                        out.append(name, value.clone());
                    }
                }
                answer
            }
            Err(error) => http_server::plain(502, &format!("moto: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_upkeep() -> Vec<Value> {
        vec![
            json!({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                   "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/t",
                                "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/gsi1"]}),
            json!({"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"],
                   "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
                   "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SESSION#*", "SESSIONS#*"]}}}),
        ]
    }

    #[test]
    fn leading_keys_limit_writes_to_the_partitions_the_policy_names() {
        let policy = session_upkeep();
        let put = |pk: &str| {
            dynamodb_accesses(
                "PutItem",
                &json!({"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": "x"}}}),
            )
        };
        assert_eq!(evaluate(&policy, &put("SESSION#abc")[0]), Ok(()));
        let refused = evaluate(&policy, &put("AUDIT#clinic")[0]).expect_err("refused");
        assert!(refused.contains("dynamodb:PutItem"), "{refused}");
        assert!(refused.contains("AUDIT#clinic"), "{refused}");
        // An update is not among the upkeep's actions, whatever its key.
        let update = dynamodb_accesses(
            "UpdateItem",
            &json!({"TableName": "t", "Key": {"pk": {"S": "SESSION#abc"}}}),
        );
        assert!(evaluate(&policy, &update[0]).is_err());
    }

    #[test]
    fn every_item_of_a_transaction_is_authorised_and_indexes_are_their_own_resource() {
        let policy = session_upkeep();
        let transaction = dynamodb_accesses(
            "TransactWriteItems",
            &json!({"TransactItems": [
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "SESSION#a"}}}},
                {"Update": {"TableName": "t", "Key": {"pk": {"S": "THROTTLE#x"}}}}
            ]}),
        );
        assert_eq!(transaction.len(), 2);
        assert!(evaluate(&policy, &transaction[0]).is_ok());
        assert!(evaluate(&policy, &transaction[1]).is_err());
        let index = dynamodb_accesses("Query", &json!({"TableName": "t", "IndexName": "gsi1"}));
        assert!(evaluate(&policy, &index[0]).is_ok());
        let other = dynamodb_accesses("Query", &json!({"TableName": "t", "IndexName": "gsi2"}));
        assert!(evaluate(&policy, &other[0]).is_err());
    }

    #[test]
    fn not_resource_allows_sms_and_refuses_topics() {
        let policy = vec![
            json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"}),
        ];
        let sms = Access {
            action: "sns:Publish".into(),
            resource: "*".into(),
            leading_keys: None,
        };
        let topic = Access {
            action: "sns:Publish".into(),
            resource: "arn:aws:sns:us-east-1:123456789012:alarms".into(),
            leading_keys: None,
        };
        assert!(evaluate(&policy, &sms).is_ok());
        assert!(evaluate(&policy, &topic).is_err());
        assert!(wildcard("a*c?", "abbbcd"));
        assert!(!wildcard("a*c?", "abbbc"));
    }
}
