//! `template.yaml` as the rehearsal reads it (JSON from `infra/template_json.py`), with the intrinsic
//! functions it uses resolved against a rehearsal "stack": parameters, pseudo parameters, physical names
//! and attributes of the resources the rehearsal stands in for. Everything the rehearsal runs (table,
//! functions and their environment, routes, policies, CloudFront settings) is read from here.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// The template and what its references resolve to in the rehearsal.
pub struct Template {
    raw: Value,
    parameters: BTreeMap<String, String>,
    /// `Ref` of a resource: its physical id (table name, bucket name, distribution id…).
    physical: BTreeMap<String, String>,
    /// `Fn::GetAtt` values: "Resource.Attribute" → value.
    attributes: BTreeMap<String, String>,
    /// `{{resolve:secretsmanager:<Ref of the secret>:SecretString}}` → the secret.
    secrets: BTreeMap<String, String>,
}

/// One function of the template.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    pub binary: String,
    pub memory_mb: u64,
    pub timeout_seconds: u64,
    pub environment: BTreeMap<String, String>,
    /// The statements of every managed policy the function is given.
    pub statements: Vec<Value>,
}

/// One route of the HTTP API and the function it invokes.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
    pub timeout_ms: u64,
}

impl Template {
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let raw: Value = serde_json::from_str(&text).context("template JSON")?;
        let mut parameters = BTreeMap::new();
        if let Some(declared) = raw["Parameters"].as_object() {
            for (name, declaration) in declared {
                let default = match &declaration["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                parameters.insert(name.clone(), default);
            }
        }
        Ok(Self {
            raw,
            parameters,
            physical: BTreeMap::new(),
            attributes: BTreeMap::new(),
            secrets: BTreeMap::new(),
        })
    }

    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        let slot = self
            .parameters
            .get_mut(name)
            .ok_or_else(|| anyhow!("the template has no parameter {name}"))?;
        *slot = value.to_owned();
        Ok(())
    }

    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// Says what a resource is called in the rehearsal (its `Ref`).
    pub fn set_physical(&mut self, logical_id: &str, value: &str) {
        self.physical
            .insert(logical_id.to_owned(), value.to_owned());
    }

    pub fn set_attribute(&mut self, logical_id: &str, attribute: &str, value: &str) {
        self.attributes
            .insert(format!("{logical_id}.{attribute}"), value.to_owned());
    }

    pub fn set_secret(&mut self, logical_id: &str, value: &str) {
        self.secrets.insert(logical_id.to_owned(), value.to_owned());
    }

    pub fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.raw["Resources"]
            .as_object()
            .into_iter()
            .flat_map(|resources| resources.iter())
    }

    pub fn resource(&self, logical_id: &str) -> Result<&Value> {
        let resource = &self.raw["Resources"][logical_id];
        if resource.is_null() {
            bail!("the template has no resource {logical_id}");
        }
        Ok(resource)
    }

    /// The one resource of this type.
    pub fn only(&self, kind: &str) -> Result<(&String, &Value)> {
        let mut found = self.resources().filter(|(_, r)| r["Type"] == kind);
        let first = found
            .next()
            .ok_or_else(|| anyhow!("the template has no {kind}"))?;
        if found.next().is_some() {
            bail!("the template has more than one {kind}");
        }
        Ok(first)
    }

    /// A resource's `Properties`, resolved.
    pub fn properties(&self, logical_id: &str) -> Result<Value> {
        self.resolve(&self.resource(logical_id)?["Properties"])
            .with_context(|| format!("resolving {logical_id}"))
    }

    /// Every Lambda function (SAM `AWS::Serverless::Function`), with the template's globals applied.
    pub fn functions(&self) -> Result<Vec<Function>> {
        let globals = self.resolve(&self.raw["Globals"]["Function"])?;
        let mut functions = Vec::new();
        for (logical_id, resource) in self.resources() {
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            let properties = self.properties(logical_id)?;
            let mut environment = BTreeMap::new();
            for source in [
                &globals["Environment"]["Variables"],
                &properties["Environment"]["Variables"],
            ] {
                for (name, value) in source.as_object().into_iter().flatten() {
                    environment.insert(name.clone(), text(value));
                }
            }
            let number = |name: &str, default: u64| {
                properties[name]
                    .as_u64()
                    .or_else(|| globals[name].as_u64())
                    .unwrap_or(default)
            };
            let mut statements = Vec::new();
            for policy in resource["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let policy_id = policy["Ref"]
                    .as_str()
                    .ok_or_else(|| anyhow!("{logical_id}: a policy that is not a Ref"))?;
                let document = self.properties(policy_id)?["PolicyDocument"].clone();
                statements.extend(
                    document["Statement"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            functions.push(Function {
                logical_id: logical_id.clone(),
                binary: resource["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or("bootstrap")
                    .to_owned(),
                memory_mb: number("MemorySize", 128),
                timeout_seconds: number("Timeout", 3),
                environment,
                statements,
            });
        }
        Ok(functions)
    }

    /// Every route of the HTTP API (`AWS::ApiGatewayV2::Route` → integration → function).
    pub fn routes(&self) -> Result<Vec<Route>> {
        let mut routes = Vec::new();
        for (logical_id, resource) in self.resources() {
            if resource["Type"] != "AWS::ApiGatewayV2::Route" {
                continue;
            }
            let properties = &resource["Properties"];
            let key = properties["RouteKey"]
                .as_str()
                .ok_or_else(|| anyhow!("{logical_id}: no RouteKey"))?;
            let (method, path) = key
                .split_once(' ')
                .ok_or_else(|| anyhow!("{logical_id}: route key {key}"))?;
            // Target: !Sub "integrations/${XIntegration}"
            let target = properties["Target"]["Fn::Sub"]
                .as_str()
                .and_then(|t| t.strip_prefix("integrations/${"))
                .and_then(|t| t.strip_suffix('}'))
                .ok_or_else(|| anyhow!("{logical_id}: Target"))?;
            let integration = &self.resource(target)?["Properties"];
            let function = match &integration["IntegrationUri"]["Fn::GetAtt"] {
                Value::Array(parts) => text(&parts[0]),
                Value::String(dotted) => dotted.split('.').next().unwrap_or_default().to_owned(),
                _ => bail!("{target}: IntegrationUri is not a function's Arn"),
            };
            routes.push(Route {
                method: method.to_owned(),
                path: path.to_owned(),
                function,
                timeout_ms: integration["TimeoutInMillis"].as_u64().unwrap_or(30_000),
            });
        }
        Ok(routes)
    }

    /// Resolves every intrinsic function in `value`.
    pub fn resolve(&self, value: &Value) -> Result<Value> {
        Ok(self.resolve_inner(value)?.unwrap_or(Value::Null))
    }

    /// `None` is `AWS::NoValue` (the property is left out).
    fn resolve_inner(&self, value: &Value) -> Result<Option<Value>> {
        Ok(Some(match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().ok_or_else(|| anyhow!("empty"))?;
                match key.as_str() {
                    "Ref" => {
                        let name = text(argument);
                        if name == "AWS::NoValue" {
                            return Ok(None);
                        }
                        Value::String(self.reference(&name)?)
                    }
                    "Fn::Sub" => Value::String(self.substitute(argument)?),
                    "Fn::GetAtt" => Value::String(self.attribute(argument)?),
                    "Fn::If" => {
                        let parts = argument
                            .as_array()
                            .filter(|p| p.len() == 3)
                            .ok_or_else(|| anyhow!("Fn::If takes three values"))?;
                        let branch = if self.condition(&text(&parts[0]))? {
                            &parts[1]
                        } else {
                            &parts[2]
                        };
                        return self.resolve_inner(branch);
                    }
                    _ if key.starts_with("Fn::") => bail!("the rehearsal cannot resolve {key}"),
                    _ => Value::Object(self.resolve_map(map)?),
                }
            }
            Value::Object(map) => Value::Object(self.resolve_map(map)?),
            Value::Array(items) => {
                let mut resolved = Vec::new();
                for item in items {
                    if let Some(value) = self.resolve_inner(item)? {
                        resolved.push(value);
                    }
                }
                Value::Array(resolved)
            }
            Value::String(s) => Value::String(self.dynamic_references(s)?),
            other => other.clone(),
        }))
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> Result<Map<String, Value>> {
        let mut resolved = Map::new();
        for (key, value) in map {
            if let Some(value) = self.resolve_inner(value)? {
                resolved.insert(key.clone(), value);
            }
        }
        Ok(resolved)
    }

    fn reference(&self, name: &str) -> Result<String> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        match name {
            "AWS::Region" => return Ok(REGION.to_owned()),
            "AWS::AccountId" => return Ok(ACCOUNT.to_owned()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            "AWS::StackName" => return Ok(crate::STACK.to_owned()),
            _ => {}
        }
        if let Some(value) = self.physical.get(name) {
            return Ok(value.clone());
        }
        // SAM's `Function.Alias` and `Function.Version`.
        if let Some((function, part)) = name.split_once('.') {
            return Ok(format!(
                "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{}",
                if part == "Alias" { "live" } else { "1" }
            ));
        }
        if self.raw["Resources"][name].is_object() {
            return Ok(format!("{}-{name}", crate::STACK));
        }
        bail!("unknown reference {name}")
    }

    fn attribute(&self, argument: &Value) -> Result<String> {
        let dotted = match argument {
            Value::Array(parts) => parts.iter().map(text).collect::<Vec<_>>().join("."),
            other => text(other),
        };
        if let Some(value) = self.attributes.get(&dotted) {
            return Ok(value.clone());
        }
        let (resource, attribute) = dotted
            .split_once('.')
            .ok_or_else(|| anyhow!("Fn::GetAtt {dotted}"))?;
        let kind = self.resource(resource)?["Type"]
            .as_str()
            .unwrap_or_default();
        let name = self.reference(resource)?;
        Ok(match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => {
                format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::S3::Bucket", "RegionalDomainName") => {
                format!("{name}.s3.{REGION}.amazonaws.com")
            }
            ("AWS::Serverless::Function", "Arn") => {
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{resource}")
            }
            ("AWS::Logs::LogGroup", "Arn") => {
                format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}")
            }
            _ => format!("{name}.{attribute}"),
        })
    }

    fn substitute(&self, argument: &Value) -> Result<String> {
        let (pattern, variables) = match argument {
            Value::String(s) => (s.as_str(), None),
            Value::Array(parts) if parts.len() == 2 => (
                parts[0]
                    .as_str()
                    .ok_or_else(|| anyhow!("Fn::Sub pattern"))?,
                parts[1].as_object(),
            ),
            _ => bail!("Fn::Sub takes a string or a pair"),
        };
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("unclosed ${{ in {pattern}"))?;
            let name = &after[..end];
            let value = if let Some(value) = variables.and_then(|v| v.get(name)) {
                text(&self.resolve(value)?)
            } else if name.contains('.') && !name.starts_with("AWS::") {
                self.attribute(&Value::String(name.to_owned()))?
            } else {
                self.reference(name)?
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        self.dynamic_references(&out)
    }

    /// `{{resolve:secretsmanager:<secret>:SecretString}}` → the rehearsal's value of that secret.
    fn dynamic_references(&self, s: &str) -> Result<String> {
        if !s.contains("{{resolve:") {
            return Ok(s.to_owned());
        }
        let inner = s
            .strip_prefix("{{resolve:secretsmanager:")
            .and_then(|r| r.strip_suffix(":SecretString}}"))
            .ok_or_else(|| anyhow!("the rehearsal cannot resolve the dynamic reference {s}"))?;
        self.secrets
            .iter()
            .find(|(id, _)| self.reference(id).ok().as_deref() == Some(inner))
            .map(|(_, secret)| secret.clone())
            .ok_or_else(|| anyhow!("no rehearsal value for the secret {inner}"))
    }

    fn condition(&self, name: &str) -> Result<bool> {
        let condition = &self.raw["Conditions"][name];
        self.truth(condition)
            .with_context(|| format!("condition {name}"))
    }

    fn truth(&self, value: &Value) -> Result<bool> {
        let map = value
            .as_object()
            .filter(|m| m.len() == 1)
            .ok_or_else(|| anyhow!("not a condition"))?;
        let (key, argument) = map.iter().next().ok_or_else(|| anyhow!("empty"))?;
        let items = argument.as_array().cloned().unwrap_or_default();
        match key.as_str() {
            "Fn::Not" => Ok(!self.truth(items.first().unwrap_or(&Value::Null))?),
            "Fn::Equals" if items.len() == 2 => {
                Ok(text(&self.resolve(&items[0])?) == text(&self.resolve(&items[1])?))
            }
            "Condition" => self.condition(&text(argument)),
            _ => bail!("the rehearsal cannot evaluate {key}"),
        }
    }
}

/// A JSON scalar as text (strings without quotes).
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
